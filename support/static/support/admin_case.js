// Case page: choosing a canned reply fills in the message text (it can still be edited).
"use strict";
document.addEventListener("change", function (event) {
  const select = event.target;
  if (!select.name || !select.name.endsWith("-canned_reply")) return;
  const source = document.getElementById("canned-replies");
  if (!source || !select.value) return;
  const text = JSON.parse(source.textContent)[select.value];
  const body = document.querySelector('textarea[name="' + select.name.replace(/canned_reply$/, "body") + '"]');
  if (body && text) body.value = body.value.trim() ? body.value.trimEnd() + "\n\n" + text : text;
});
