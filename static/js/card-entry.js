/*
 * Card entry (templates/billing/_card_entry.html): mounts a Stripe Elements card field, confirms
 * the form's SetupIntent with Stripe.js when the form is submitted (3-D Secure included), then
 * posts the SetupIntent id to our server, which reads it back from Stripe before saving the card.
 * The card number never reaches our server. Stripe.js is loaded from the form's
 * data-stripe-js-url (STRIPE_JS_URL: Stripe, or localstripe in development and tests).
 */
(function () {
  "use strict";

  var stripeJsPromise = null;

  function loadStripeJs(url) {
    if (window.Stripe) {
      return Promise.resolve(window.Stripe);
    }
    if (!stripeJsPromise) {
      stripeJsPromise = new Promise(function (resolve, reject) {
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
          stripeJsPromise = null; // a reload of the page may try again
          reject(new Error("Stripe.js could not be loaded"));
        });
        document.head.appendChild(script);
      });
    }
    return stripeJsPromise;
  }

  // Stripe's own errors (card declined, incomplete number…) are written for the card holder;
  // anything else (a network failure, a script error) gets our generic message.
  function messageFor(error, fallback) {
    if (error && !(error instanceof Error) && typeof error.message === "string" && error.message) {
      return error.message;
    }
    return fallback;
  }

  function setUp(form) {
    var container = form.querySelector("[data-card-element]");
    var errors = form.querySelector("[data-card-errors]");
    var button = form.querySelector("[data-card-submit]");
    var setupIntentInput = form.querySelector("[data-setup-intent-id]");
    var label = button.textContent;
    var busy = false;

    function showError(message) {
      errors.textContent = message;
    }

    function ready() {
      busy = false;
      button.disabled = false;
      button.textContent = label;
    }

    // After a refusal (card declined, 3-D Secure failed) the button was disabled while it had the
    // focus, so the focus fell to <body>. Give it back where the partner fixes the problem: the
    // card field (Stripe's Element, or localstripe's first input), else the button. The message
    // itself is announced by the role=alert area.
    function refocus(card) {
      if (card && typeof card.focus === "function") {
        card.focus();
        return;
      }
      var input = container.querySelector("input, iframe");
      (input || button).focus();
    }

    loadStripeJs(form.dataset.stripeJsUrl)
      .then(function (Stripe) {
        var stripe = Stripe(form.dataset.publishableKey);
        var card = stripe.elements().create("card");
        card.mount(container);
        card.on("change", function (event) {
          // Real Stripe.js reports validation problems as the partner types.
          showError(event && event.error ? event.error.message : "");
        });
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          if (busy) {
            return; // a double click confirms the SetupIntent once
          }
          busy = true;
          button.disabled = true;
          button.textContent = form.dataset.busyLabel;
          showError("");
          stripe
            .confirmCardSetup(form.dataset.clientSecret, { payment_method: { card: card } })
            .then(function (result) {
              if (result.error || !result.setupIntent) {
                showError(messageFor(result.error, form.dataset.messageFailed));
                ready();
                refocus(card);
                return;
              }
              setupIntentInput.value = result.setupIntent.id;
              // HTMLFormElement.submit() does not fire "submit" again: the form goes to our server.
              form.submit();
            })
            .catch(function (error) {
              showError(messageFor(error, form.dataset.messageFailed));
              ready();
              refocus(card);
            });
        });
        ready();
      })
      .catch(function () {
        showError(form.dataset.messageUnavailable);
      });
  }

  function start() {
    var forms = document.querySelectorAll("form[data-card-entry]");
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
