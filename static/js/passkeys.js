/* Passkey errors (cancelled, timed out, no matching key) are told on the page, in the alert
 * region next to the button, instead of only in the console (allauth's webauthn.js dispatches
 * "allauth.error"). */
(function () {
  "use strict";
  document.addEventListener("allauth.error", function (event) {
    var message = document.getElementById("passkey-error");
    if (!message) { return; }
    event.preventDefault();
    message.hidden = false;
  });
})();
