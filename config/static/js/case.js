/* EquiNav case page: keyboard shortcuts, their help dialog, and focus after an
   HTMX swap. Plain JavaScript, no build step. The page works without it: every
   form also posts normally; this only makes the keyboard faster. */
(function () {
  "use strict";

  // Key → the control it moves to. Described in the help dialog (case_detail.html).
  var SHORTCUTS = {
    a: { find: ['[data-testid="outcome-buttons"] button:not([disabled])'], what: "log an attempt" },
    n: { find: ["#note_text"], what: "write a note" },
    b: { find: ["#barrier_barrier_type"], what: "add a barrier" },
    p: { find: ["#diagnostic_scheduled_at", "#appointment_scheduled_at"], what: "book an appointment" },
    r: { find: ["#screening_modality"], what: "record the screening" },
    f: { find: ["#follow_up_next_follow_up"], what: "set the follow-up" },
    c: { find: ["#status_status"], what: "change the status" },
    t: { find: ["#timeline-heading"], what: "go to the timeline" },
  };
  // Set when a shortcut moves focus while an answer is settling (see "After an HTMX swap").
  var movedOn = false;
  var TEXT_INPUTS = /^(text|search|email|tel|url|password|number|date|datetime-local|time|month|week)$/;

  function first(selectors) {
    for (var i = 0; i < selectors.length; i++) {
      var found = document.querySelector(selectors[i]);
      if (found) return found;
    }
    return null;
  }

  function announce(message, isError, focus) {
    var region = document.getElementById("case-announcer");
    if (!region) return;
    region.classList.toggle("case-announcer--error", !!isError);
    // Cleared first, so that the same message said twice is announced twice.
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = message;
      if (focus) region.focus();
    }, 50);
  }

  function isTyping(element) {
    if (!element || !element.tagName) return false;
    if (element.isContentEditable) return true;
    var tag = element.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select") return true;
    return tag === "input" && TEXT_INPUTS.test(element.type || "text");
  }

  function labelShortcuts() {
    Object.keys(SHORTCUTS).forEach(function (key) {
      var target = first(SHORTCUTS[key].find);
      if (target) target.setAttribute("aria-keyshortcuts", key);
    });
  }

  // --- The help dialog ----------------------------------------------------------

  var help = document.getElementById("shortcuts-help");
  var opener = document.querySelector("[data-shortcuts-open]");
  var returnFocus = null;

  function openHelp() {
    if (!help || help.open) return;
    returnFocus = document.activeElement;
    help.showModal();
    var close = help.querySelector("[data-shortcuts-close]");
    if (close) close.focus();
  }

  if (help && typeof help.showModal === "function") {
    if (opener) {
      opener.hidden = false;
      opener.addEventListener("click", openHelp);
    }
    help.querySelector("[data-shortcuts-close]").addEventListener("click", function () {
      help.close();
    });
    // Esc closes a modal dialog by itself; either way focus goes back where it was.
    help.addEventListener("close", function () {
      if (returnFocus && document.body.contains(returnFocus)) returnFocus.focus();
      returnFocus = null;
    });
    help.addEventListener("click", function (event) {
      if (event.target === help) help.close(); // a click on the backdrop
    });
  }

  // --- Shortcuts ----------------------------------------------------------------

  // In the attempt form a choice is a button: Enter in one of its fields chooses nothing.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.closest) return;
    var form = event.target.closest("form[data-enter-does-not-submit]");
    var tag = event.target.tagName.toLowerCase();
    if (!form || tag === "textarea" || tag === "button") return;
    event.preventDefault();
    announce("Choose an outcome button to log the attempt.");
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.isComposing || isTyping(event.target)) return;
    if (help && help.open) return;
    if (event.key === "?") {
      event.preventDefault();
      openHelp();
      return;
    }
    var shortcut = SHORTCUTS[event.key];
    if (!shortcut) return;
    event.preventDefault(); // or the key would be typed into the field it focuses
    var target = first(shortcut.find);
    if (!target) {
      announce("Nothing to " + shortcut.what + " here: this case cannot do that now.");
      return;
    }
    target.focus();
    // A shortcut pressed while the last answer settles is where the user wants to be:
    // the settling answer must not take focus back to its notice.
    movedOn = true;
  });

  // --- After an HTMX swap -------------------------------------------------------

  var swapped = false;

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    // A session that ended answers with the login page: say so rather than swap it in.
    if (xhr && xhr.responseURL && xhr.responseURL.indexOf("/accounts/login/") !== -1) {
      event.detail.shouldSwap = false;
      announce("Your session has ended; nothing was saved. Reload the page and sign in again.", true, true);
      return;
    }
    swapped = event.detail.shouldSwap;
    movedOn = false;
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (!swapped) return;
    swapped = false;
    labelShortcuts();
    if (movedOn) return;
    var region = document.getElementById("case-dynamic");
    if (!region) return;
    // A refusal: the first field in error, else the message that says what went wrong.
    var alert = region.querySelector(".form-alert");
    if (alert) {
      var form = alert.closest("form");
      var invalid = form && form.querySelector('[aria-invalid="true"]');
      (invalid || alert).focus();
      return;
    }
    // Saved: the status message, from where Tab goes on through the page.
    var notice = document.getElementById("case-notice");
    if (notice) notice.focus();
  });

  function failed(event) {
    var xhr = event.detail.xhr;
    var status = xhr ? xhr.status : 0;
    var message;
    if (status === 404) {
      message = "Not saved: that is not on this case, or the case is no longer yours.";
    } else if (status === 403) {
      message = "Not saved: your role does not allow this.";
    } else if (status === 0) {
      message = "Not saved: EquiNav could not be reached. Check the connection and try again.";
    } else {
      message = "Not saved: something went wrong (error " + status + ").";
    }
    announce(message + " Reload the page to see the case as it is now.", true, true);
  }

  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);

  labelShortcuts();
})();
