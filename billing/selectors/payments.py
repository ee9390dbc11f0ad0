"""Reads about payments: what a failed charge means, in the reader's language."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Lazy: an email's context is built in the sender's language and rendered in the recipient's.
REASONS = {
    "card_declined": _("Your card was declined."),
    "insufficient_funds": _("Your card has insufficient funds."),
    "expired_card": _("Your card has expired."),
    "incorrect_cvc": _("Your card's security code is incorrect."),
    "incorrect_number": _("Your card number is incorrect."),
    "processing_error": _("The payment could not be processed. Nothing was charged; try again."),
    "authentication_required": _(
        "Your bank asks you to confirm this payment. Renew by hand to authenticate."
    ),
    "payment_intent_authentication_failure": _(
        "Your card failed authentication. Nothing was charged."
    ),
    # Set by the renewal job when there is no saved card (billing/services/renewals.py).
    "payment_method_missing": _("There is no card on file to charge."),
}


def payment_failure_reason(*, code: str, message: str = "") -> str | Promise:
    """Why a charge failed, translated when we know the card network's code.

    Stripe's own message is in English; it is shown only for codes we have no words for.
    """
    return REASONS.get(code) or message or REASONS["card_declined"]
