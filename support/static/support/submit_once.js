// Admin forms marked data-submit-once-form (the subscription's cancel page): a second click while
// the first is on its way would only be refused; don't send it at all. A file, not an inline
// script: the admin's Content-Security-Policy allows scripts from our origin only.
"use strict";
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (!form.matches("[data-submit-once-form]")) return;
  if (form.dataset.sent) {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
});
