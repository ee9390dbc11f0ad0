"""Billing's emails: renewals, reminders, expiry, cancellation. One ``email_<what>`` function per
email, taking plain values (see ``core.emails``).

Each renders ``templates/emails/billing_<name>_subject.txt``, ``.txt`` and ``.html`` in every
recipient's language, with absolute links built from ``SITE_URL``. The services decide when an
email is due and claim it first (``billing.services.reminders.notify_once``); these only send.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.urls import reverse

from billing.models import Invoice, Order, Refund, ReminderKind, Subscription
from billing.selectors.payments import payment_failure_reason
from billing.tax import TaxQuote
from billing.terms import grace_end, term_dates
from core.emails import Attachment, absolute_url, email_send
from membership.models import User
from offers.models import OfferPrice


def _url(name: str, *args: object) -> str:
    """An absolute link to a portal page, for an email."""
    return absolute_url(reverse(name, args=args))


def _subscription_links(subscription: Subscription) -> dict[str, str]:
    """Where a partner manages the subscription: its page, renewing by hand, changing the card."""
    return {
        "subscription_url": _url("billing:subscription", subscription.pk),
        "renew_url": _url("billing:renew_details", subscription.pk),
        "payment_methods_url": _url("billing:payment_methods"),
        "offers_url": _url("billing:offers"),
    }


def _context(subscription: Subscription, **extra: object) -> dict:
    return {
        "subscription": subscription,
        "offer": subscription.offer,
        "organization": subscription.organization,
        "card": subscription.payment_method,
        "anniversary": subscription.current_term_end,
        "grace_ends_on": grace_end(subscription.current_term_end),
        **_subscription_links(subscription),
        **extra,
    }


def email_renewal_upcoming(
    *,
    subscription: Subscription,
    price: OfferPrice | None,
    recipients: Sequence[User | str],
    tax: TaxQuote | None = None,
) -> int:
    """Auto-renew on: the charge coming on the anniversary (the total with its VAT, the date,
    the card, how to stop it)."""
    return email_send(
        "billing_renewal_upcoming",
        recipients=recipients,
        context=_context(subscription, price=price, tax=tax),
    )


def email_card_expiring(
    *, subscription: Subscription, card_expires_on: dt.date, recipients: Sequence[User | str]
) -> int:
    """The card on file expires before the renewal it will be charged for."""
    return email_send(
        "billing_card_expiring",
        recipients=recipients,
        context=_context(subscription, card_expires_on=card_expires_on),
    )


def email_expiry_reminder(
    *, subscription: Subscription, today: dt.date, recipients: Sequence[User | str]
) -> int:
    """Auto-renew off: the subscription expires on its anniversary unless renewed by hand."""
    return email_send(
        "billing_expiry_reminder",
        recipients=recipients,
        context=_context(subscription, days_left=(subscription.current_term_end - today).days),
    )


def email_grace_started(*, subscription: Subscription, recipients: Sequence[User | str]) -> int:
    """Auto-renew off, anniversary today: the term ended, the grace window started."""
    return email_send(
        "billing_grace_started", recipients=recipients, context=_context(subscription)
    )


def email_grace_ending(
    *, subscription: Subscription, today: dt.date, recipients: Sequence[User | str]
) -> int:
    """The grace window ends soon: renew by hand or lose the benefits."""
    last_day = grace_end(subscription.current_term_end)
    return email_send(
        "billing_grace_ending",
        recipients=recipients,
        context=_context(subscription, days_left=(last_day - today).days),
    )


def _receipt_context(order: Order, subscription: Subscription, invoice: Invoice | None) -> dict:
    starts_on, ends_on = term_dates(
        started_on=subscription.started_on, term_number=order.term_number
    )
    return _context(
        subscription,
        order=order,
        invoice=invoice,
        term_starts_on=starts_on,
        term_ends_on=ends_on,
        orders_url=_url("billing:orders"),
        invoices_url=_url("billing:invoices"),
        invoice_url=_url("billing:invoice", invoice.pk) if invoice is not None else "",
    )


def email_purchase_receipt(
    *,
    order: Order,
    subscription: Subscription,
    invoice: Invoice | None,
    attachments: Sequence[Attachment],
    recipients: Sequence[User | str],
) -> int:
    """The purchase was charged: the total and its VAT, the term, the card, the invoice
    (attached as a PDF)."""
    return email_send(
        "billing_purchase_receipt",
        recipients=recipients,
        context=_receipt_context(order, subscription, invoice),
        attachments=attachments,
    )


def email_renewal_receipt(
    *,
    order: Order,
    subscription: Subscription,
    recipients: Sequence[User | str],
    invoice: Invoice | None = None,
    attachments: Sequence[Attachment] = (),
) -> int:
    """The renewal was charged: the total and its VAT, the new term, the card, the invoice
    (attached as a PDF)."""
    return email_send(
        "billing_renewal_receipt",
        recipients=recipients,
        context=_receipt_context(order, subscription, invoice),
        attachments=attachments,
    )


def email_renewal_failed(
    *,
    order: Order,
    subscription: Subscription,
    recipients: Sequence[User | str],
) -> int:
    """A renewal charge failed: why, what happens next (a retry or renewing by hand), links."""
    retrying = not order.retries_stopped and order.next_retry_on is not None
    return email_send(
        "billing_renewal_failed",
        recipients=recipients,
        context=_context(
            subscription,
            order=order,
            reason=payment_failure_reason(code=order.failure_code, message=order.failure_message),
            needs_authentication=order.failure_code == "authentication_required",
            next_retry_on=order.next_retry_on if retrying else None,
        ),
    )


def email_subscription_expired(
    *, subscription: Subscription, recipients: Sequence[User | str]
) -> int:
    """The grace window is over: expired, benefits revoked, back to Network membership."""
    return email_send(
        "billing_subscription_expired", recipients=recipients, context=_context(subscription)
    )


def email_subscription_canceled(
    *,
    subscription: Subscription,
    at_term_end: bool,
    ends_on: dt.date,
    refund: Refund | None,
    recipients: Sequence[User | str],
    credit_note: Invoice | None = None,
    attachments: Sequence[Attachment] = (),
) -> int:
    """Staff canceled the subscription, at once or at the end of its term, maybe with a refund
    and its credit note (attached as a PDF)."""
    return email_send(
        "billing_subscription_canceled",
        recipients=recipients,
        attachments=attachments,
        context={
            "credit_note": credit_note,
            "invoices_url": _url("billing:invoices"),
            "subscription": subscription,
            "offer": subscription.offer,
            "organization": subscription.organization,
            "at_term_end": at_term_end,
            "ends_on": ends_on,
            "refund": refund,
            "card_last4": refund.order.card_last4 if refund is not None else "",
            "offers_url": _url("billing:offers"),
        },
    )


def email_order_needs_attention(*, order: Order) -> int:
    """Staff: a payment the reconciliation cannot settle on its own, or a second charge it
    refunded (``billing.services.reconciliation``)."""
    return email_send(
        "billing_staff_order_attention",
        recipients=[settings.STAFF_ALERT_EMAIL],
        context={
            "order": order,
            "organization": order.organization,
            "reason": order.attention_reason,
            "order_url": absolute_url(reverse("admin:billing_order_change", args=[order.pk])),
        },
    )


# The email for each calendar reminder (``billing.selectors.reminders``).
EXPIRY_REMINDER_KINDS = frozenset(
    {
        ReminderKind.EXPIRY_30,
        ReminderKind.EXPIRY_15,
        ReminderKind.EXPIRY_7,
        ReminderKind.EXPIRY_1,
    }
)
