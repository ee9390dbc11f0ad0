"""Reads about cancelling a subscription: can it be canceled, and what refund the rule offers.

The refund rule (docs/product.md): a full refund when the cancellation comes within
``REFUND_WINDOW_DAYS`` of the charge and no software benefit has been activated; otherwise no
refund unless staff choose an amount (never more than what is left of the charge).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from billing.models import (
    LIVE_STATUSES,
    Order,
    OrderStatus,
    Refund,
    Subscription,
)
from billing.selectors.benefits import software_activation
from core import clock
from core.money import format_money


@dataclass(frozen=True)
class RefundQuote:
    """What may be refunded if the subscription is canceled now, and why."""

    order: Order | None  # the charge a refund would go back to (the latest paid order)
    currency: str
    charged_at: dt.datetime | None
    window_ends_at: dt.datetime | None
    software_activated: bool
    already_refunded: bool
    full_refund_eligible: bool
    suggested_amount: int  # what the rule gives: the whole charge, or 0
    max_amount: int  # the most staff may choose (0: nothing can be refunded)
    explanation: str

    @property
    def refundable(self) -> bool:
        return self.max_amount > 0


def subscription_charge(*, subscription: Subscription) -> Order | None:
    """The latest paid charge of the subscription (its purchase or its latest renewal)."""
    return (
        Order.objects.filter(
            subscription=subscription,
            status__in=[OrderStatus.PAID, OrderStatus.REFUNDED],
            paid_at__isnull=False,
        )
        .order_by("-paid_at", "-id")
        .first()
    )


def refund_quote(*, subscription: Subscription, now: dt.datetime | None = None) -> RefundQuote:
    now = now or clock.now()
    order = subscription_charge(subscription=subscription)
    if order is None:
        return RefundQuote(
            order=None,
            currency=subscription.organization.currency,
            charged_at=None,
            window_ends_at=None,
            software_activated=False,
            already_refunded=False,
            full_refund_eligible=False,
            suggested_amount=0,
            max_amount=0,
            explanation=_("There is no paid charge to refund."),
        )
    window_ends_at = order.paid_at + dt.timedelta(days=settings.REFUND_WINDOW_DAYS)
    within_window = now <= window_ends_at
    # Activating a software benefit of the term this charge paid for uses the software.
    software = (
        software_activation(subscription=subscription, term_number=order.term_number) is not None
    )
    # One refund per order (a unique row): a refund in progress or done leaves nothing to refund.
    refund = Refund.objects.filter(order=order).first()
    already_refunded = refund is not None or order.refunded_amount > 0
    can_refund = bool(order.stripe_payment_intent_id) and not already_refunded
    remaining = order.amount - order.refunded_amount if can_refund else 0
    eligible = can_refund and within_window and not software
    charged = format_money(order.amount, order.currency)
    if refund is not None and not refund.stripe_refund_id:
        explanation = _(
            "A refund of this charge (refund %(refund)s) is in progress, or Stripe did not "
            "answer it: check payment %(payment)s in Stripe before refunding anything else."
        ) % {"refund": refund.pk, "payment": order.stripe_payment_intent_id}
    elif already_refunded:
        explanation = _("This charge has already been refunded.")
    elif not order.stripe_payment_intent_id:
        explanation = _("This charge was not paid through Stripe, so it cannot be refunded here.")
    elif eligible:
        explanation = _(
            "Full refund of %(amount)s: the charge is less than %(days)d days old and no software "
            "benefit has been activated."
        ) % {"amount": charged, "days": settings.REFUND_WINDOW_DAYS}
    elif software:
        explanation = _(
            "No refund by the rule: a software benefit has been activated. You may still choose "
            "an amount."
        )
    else:
        explanation = _(
            "No refund by the rule: the charge is more than %(days)d days old. You may still "
            "choose an amount."
        ) % {"days": settings.REFUND_WINDOW_DAYS}
    return RefundQuote(
        order=order,
        currency=order.currency,
        charged_at=order.paid_at,
        window_ends_at=window_ends_at,
        software_activated=software,
        already_refunded=already_refunded,
        full_refund_eligible=eligible,
        suggested_amount=remaining if eligible else 0,
        max_amount=remaining,
        explanation=explanation,
    )


def subscription_cancel_blocker(*, subscription: Subscription, at_term_end: bool) -> str | None:
    """Why the subscription cannot be canceled this way, or ``None`` if it can."""
    if subscription.status not in LIVE_STATUSES:
        return _("Only an active or past-due subscription can be canceled.")
    if at_term_end and subscription.cancel_at_term_end:
        return _("This subscription is already set to be canceled at the end of its term.")
    return None


def subscriptions_due_to_end(*, today: dt.date | None = None):
    """Live subscriptions set to cancel at the end of a term that has now ended."""
    today = today or clock.today()
    return Subscription.objects.filter(
        status__in=LIVE_STATUSES, cancel_at_term_end=True, current_term_end__lte=today
    )
