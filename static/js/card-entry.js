/*
 * Card entry (templates/billing/_card_entry.html): mounts a Stripe Elements card field, confirms
 * the organization's SetupIntent with Stripe.js when the form is submitted (3-D Secure included),
 * then posts the SetupIntent id to our server, which reads it back from Stripe before saving the
 * card. The card number never reaches our server. Stripe.js is loaded from the form's
 * data-stripe-js-url (STRIPE_JS_URL: Stripe, or localstripe in development and tests).
 *
 * Viewing the page creates nothing in Stripe: the SetupIntent is asked for (a POST to the form's
 * data-setup-url, with the form's CSRF token) when the partner starts entering a card — the card
 * field takes the focus — or, at the latest, when the form is submitted. Asked once per page.
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

  // The organization's SetupIntent client secret, asked for once per page.
  function setupIntentSecret(form) {
    if (!form.setupIntentPromise) {
      var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
      form.setupIntentPromise = fetch(form.dataset.setupUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token, Accept: "application/json" },
      })
        .then(function (response) {
          return response.json().then(function (body) {
            if (!response.ok || !body.client_secret) {
              throw { message: body.error || form.dataset.messageUnavailable };
            }
            return body.client_secret;
          });
        })
        .catch(function (error) {
          form.setupIntentPromise = null; // the next focus or submit may try again
          throw error && error.message ? error : { message: form.dataset.messageUnavailable };
        });
    }
    return form.setupIntentPromise;
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
        // The partner starts entering a card: get the SetupIntent ready meanwhile. Stripe's
        // Element reports its focus; localstripe's fields are in the page (focusin).
        function startEntering() {
          setupIntentSecret(form).catch(function (error) {
            showError(messageFor(error, form.dataset.messageUnavailable));
          });
        }
        card.on("focus", startEntering);
        container.addEventListener("focusin", startEntering);
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          if (busy) {
            return; // a double click confirms the SetupIntent once
          }
          busy = true;
          button.disabled = true;
          button.textContent = form.dataset.busyLabel;
          showError("");
          setupIntentSecret(form)
            .then(function (clientSecret) {
              return stripe.confirmCardSetup(clientSecret, { payment_method: { card: card } });
            })
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
