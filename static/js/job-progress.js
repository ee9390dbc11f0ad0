/* The admin's progress page of a background job (billing/admin/background_jobs.py): asks the
   JSON status endpoint every second and moves the <progress> bar and its text; once the job is
   finished, reloads the page, which then shows the result. Without JavaScript the page refreshes
   itself (<noscript> meta refresh) and has a "Refresh" link. No inline script: the CSP. */
(function () {
  "use strict";
  var box = document.querySelector("[data-job-status-url]");
  if (!box) { return; }
  var url = box.getAttribute("data-job-status-url");
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-job-text]");
  var status = box.querySelector("[data-job-status]");
  var failures = 0;

  function show(job) {
    if (job.total > 0) {
      bar.max = job.total;
      bar.value = job.progress;
    }
    text.textContent = job.text;
    status.textContent = job.status_label;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (job) {
        failures = 0;
        show(job);
        if (job.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        failures += 1;
        // A hiccup is tried again, more slowly; the "Refresh" link stays there meanwhile.
        if (failures < 10) { window.setTimeout(poll, 2000 * failures); }
      });
  }

  window.setTimeout(poll, 1000);
})();
