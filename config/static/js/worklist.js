// The worklist's keyboard shortcut: "/" jumps to the search box, as on most
// sites with one, unless the navigator is already typing somewhere.
(function () {
  "use strict";

  function typingIn(element) {
    if (!(element instanceof Element)) return false;
    return element.isContentEditable || element.closest("input, textarea, select") !== null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.defaultPrevented || typingIn(event.target)) return;
    // Looked up each time: htmx replaces the form when a filter changes.
    var search = document.querySelector("[data-worklist-search]");
    if (!search) return;
    event.preventDefault();
    search.focus();
    search.select();
  });
})();
