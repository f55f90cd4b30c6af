// Approval pages: small progressive enhancements only (the page works without JavaScript).
(function () {
  "use strict";
  // A form answers once: after the first submit, disable its buttons (keeping the clicked
  // button's name/value, which a disabled button would not send).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-once")) return;
    if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
    form.setAttribute("data-sent", "1");
    var clicked = event.submitter;
    if (clicked && clicked.name) {
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = clicked.name; hidden.value = clicked.value;
      form.appendChild(hidden);
    }
    setTimeout(function () {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  // Move focus to the first field with an error, for keyboard and screen-reader users.
  document.addEventListener("DOMContentLoaded", function () {
    var invalid = document.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus();
  });
})();
