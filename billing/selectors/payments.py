"""Reads about payments: what a failed charge means, and what the reconciliation must settle."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import F
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from billing.models import OPEN_ATTEMPT_STATUSES, Order, OrderStatus, PaymentAttempt
from core import clock

# Lazy: an email's context is built in the sender's language and rendered in the recipient's.
REASONS = {
    "card_declined": _("Your card was declined."),
    "insufficient_funds": _("Your card has insufficient funds."),
    "expired_card": _("Your card has expired."),
    "incorrect_cvc": _("Your card's security code is incorrect."),
    "incorrect_number": _("Your card number is incorrect."),
    "processing_error": _("The payment could not be processed. Nothing was charged; try again."),
    "interrupted": _("The payment was interrupted before anything was charged."),
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


# The reconciliation's reads (billing.services.reconciliation) ------------------------------------


def claim_timeout() -> dt.timedelta:
    """A claim older than this belongs to a charger that was stopped (``PAYMENT_CLAIM_TIMEOUT``)."""
    return dt.timedelta(seconds=settings.PAYMENT_CLAIM_TIMEOUT)


def orders_to_reconcile(*, now: dt.datetime | None = None) -> list[int]:
    """Orders claimed for longer than the claim timeout and still ``processing``, oldest first."""
    cutoff = (now or clock.now()) - claim_timeout()
    return list(
        Order.objects.filter(status=OrderStatus.PROCESSING, claimed_at__lte=cutoff)
        .order_by("claimed_at", "pk")
        .values_list("pk", flat=True)
    )


def payment_attempts_to_close() -> list[int]:
    """Attempts whose PaymentIntent may still charge although their order moved on (it was paid
    by another attempt, or canceled), and second charges still to be refunded.

    The current attempt of an order still being paid is the charger's (or the reconciliation's
    when it is stale), never this sweep's.
    """
    return list(
        PaymentAttempt.objects.filter(status__in=OPEN_ATTEMPT_STATUSES)
        .exclude(
            order__status__in=[OrderStatus.PROCESSING, OrderStatus.REQUIRES_ACTION],
            number=F("order__attempt_count"),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
