// Small progressive enhancements shared by every page. No inline scripts anywhere (CSP).
(function () {
  "use strict";
  // <select data-autosubmit> submits its form when changed (organization switcher).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.requestSubmit(); });
  });
  // <form data-once> can be submitted once: a double click never sends two requests.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.submitted === "1") { event.preventDefault(); return; }
      form.dataset.submitted = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.setAttribute("aria-busy", "true"); });
    });
  });
})();
