// The printable roster's Print button (the Content Security Policy refuses inline
// handlers, so it is wired here).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.querySelector("[data-print]");
  if (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  }
});
