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

  // The search box's rows arrive as the navigator types (its own hx-trigger); its
  // change on leaving it must not also send the whole form. The form's trigger
  // cannot filter it out (`change[...]` is evaluated code, which the Content Security
  // Policy forbids), so the change stops here, on its way down, before htmx sees it.
  document.addEventListener(
    "change",
    function (event) {
      if (event.target instanceof Element && event.target.matches("[data-worklist-search]")) {
        event.stopPropagation();
      }
    },
    true
  );
})();
