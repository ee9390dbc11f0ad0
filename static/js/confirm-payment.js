/*
 * 3-D Secure for a purchase or a renewal (templates/billing/subscribe_authenticate.html).
 *
 * The server confirmed the PaymentIntent and the bank asked the card holder to authenticate
 * (status requires_action). Stripe.js shows the bank's check with
 * stripe.confirmCardPayment(client_secret); whatever it answers, the form then posts back to
 * our server, which reads the PaymentIntent from Stripe before confirming the order: the browser
 * is never believed about a payment. Stripe.js comes from the form's data-stripe-js-url
 * (STRIPE_JS_URL: Stripe, or localstripe in development and tests). No inline script (CSP).
 */
(function () {
  "use strict";

  function loadStripeJs(url) {
    if (window.Stripe) {
      return Promise.resolve(window.Stripe);
    }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = url;
      script.async = true;
      script.addEventListener("load", function () {
        if (window.Stripe) {
          resolve(window.Stripe);
        } else {
          reject(new Error("Stripe.js did not define Stripe"));
        }
      });
      script.addEventListener("error", function () {
        reject(new Error("Stripe.js could not be loaded"));
      });
      document.head.appendChild(script);
    });
  }

  function setUp(form) {
    var errors = form.querySelector("[data-confirm-errors]");
    var button = form.querySelector("[data-confirm-submit]");
    var label = button.textContent;
    var stripe = null;
    var busy = false;

    function settle() {
      // HTMLFormElement.submit() does not fire "submit" again: the form goes to our server,
      // which asks Stripe how the authentication ended.
      form.submit();
    }

    function authenticate() {
      if (busy || !stripe) {
        return;
      }
      busy = true;
      button.disabled = true;
      button.textContent = form.dataset.busyLabel;
      errors.textContent = "";
      stripe
        .confirmCardPayment(form.dataset.clientSecret)
        .then(settle, settle);
    }

    form.addEventListener("submit", function (event) {
      // Until Stripe.js has run, the button starts the bank's check rather than posting.
      if (stripe && !busy) {
        event.preventDefault();
        authenticate();
      } else if (busy) {
        event.preventDefault();
      }
    });

    loadStripeJs(form.dataset.stripeJsUrl)
      .then(function (Stripe) {
        stripe = Stripe(form.dataset.publishableKey);
        authenticate();
      })
      .catch(function () {
        errors.textContent = form.dataset.messageUnavailable;
        button.disabled = false;
        button.textContent = label;
        button.focus(); // the focus was on <body> while the button was disabled
      });
  }

  function start() {
    var forms = document.querySelectorAll("form[data-confirm-payment]");
    for (var i = 0; i < forms.length; i++) {
      setUp(forms[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
