// The session-timeout warning (config.session_timeout): a dialog shortly before the
// session's idle limit, with "Stay signed in" (a POST to the keep-alive view, which
// counts as activity). Every htmx request is activity too, so it restarts the timer.
// Before showing the dialog the page asks the server how long is really left (another
// tab may have been busy); asking does not count as activity. No inline script: the CSP.
(function () {
  "use strict";
  var dialog = document.getElementById("session-timeout");
  if (!dialog || typeof dialog.showModal !== "function") {
    return;
  }
  var idle = parseInt(dialog.dataset.idleSeconds, 10) || 900;
  var warning = parseInt(dialog.dataset.warningSeconds, 10) || 120;
  var countdown = dialog.querySelector("[data-countdown]");
  var stay = dialog.querySelector("[data-stay]");
  var warnTimer = null;
  var tickTimer = null;
  var deadline = 0;

  function schedule(idleLeft) {
    clearTimeout(warnTimer);
    clearInterval(tickTimer);
    deadline = Date.now() + idleLeft * 1000;
    warnTimer = setTimeout(check, Math.max(0, idleLeft - warning) * 1000);
  }

  function signedOut() {
    // The server has signed the session out (and left a message saying why for the
    // sign-in page). Reloading instead could arrive a moment early and count as activity.
    var here = window.location.pathname + window.location.search;
    window.location.assign(dialog.dataset.loginUrl + "?next=" + encodeURIComponent(here));
  }

  function describe(seconds) {
    if (seconds >= 60) {
      var minutes = Math.ceil(seconds / 60);
      return minutes + (minutes === 1 ? " minute" : " minutes");
    }
    return seconds + (seconds === 1 ? " second" : " seconds");
  }

  function tick() {
    var left = Math.round((deadline - Date.now()) / 1000);
    if (left <= 0) {
      // Time's up here: the server decides (asking is not activity).
      clearInterval(tickTimer);
      check();
      return;
    }
    countdown.textContent = describe(left);
  }

  function show() {
    tick();
    if (!dialog.open) {
      dialog.showModal();
      stay.focus();
    }
    tickTimer = setInterval(tick, 1000);
  }

  function check() {
    fetch(dialog.dataset.statusUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("signed out");
        }
        return response.json();
      })
      .then(function (status) {
        var left = Math.min(status.idle_seconds_left, status.max_seconds_left);
        if (left > warning + 5) {
          if (dialog.open) {
            dialog.close();
          }
          schedule(left);
        } else {
          clearInterval(tickTimer);
          // A second's grace, so that the server's limit has surely passed when asked again.
          deadline = Date.now() + (left + 1) * 1000;
          show();
        }
      })
      .catch(signedOut);
  }

  stay.addEventListener("click", function () {
    fetch(dialog.dataset.keepAliveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": dialog.dataset.csrfToken, Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("signed out");
        }
        return response.json();
      })
      .then(function (status) {
        clearInterval(tickTimer);
        dialog.close();
        schedule(status.idle_seconds_left);
      })
      .catch(signedOut);
  });

  dialog.addEventListener("cancel", function (event) {
    // Escape is "stay signed in" too: the person is evidently there.
    event.preventDefault();
    stay.click();
  });

  document.body.addEventListener("htmx:afterRequest", function () {
    if (!dialog.open) {
      schedule(idle);
    }
  });

  schedule(idle);
})();
