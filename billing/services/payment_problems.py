"""Payment problems staff must see: a second charge (refunded automatically) and an order the
reconciliation cannot settle alone ("needs attention", staff emailed once). docs/payments.md.
"""

from __future__ import annotations

import logging

from django.db import transaction

from billing import emails, stripe_gateway
from billing.models import Order, PaymentAttempt
from billing.services.subscriptions import subscription_record_event
from core import clock
from membership.models import AuditEvent
from membership.services import audit_record

logger = logging.getLogger(__name__)

# A second charge is noticed on an attempt we took for open, failed or canceled.
_DUPLICATE_FROM = (
    PaymentAttempt.Status.STARTED,
    PaymentAttempt.Status.UNKNOWN,
    PaymentAttempt.Status.REQUIRES_ACTION,
    PaymentAttempt.Status.FAILED,
    PaymentAttempt.Status.CANCELED,
)


def attempt_mark_duplicate(
    order: Order, attempt: PaymentAttempt | None, intent: stripe_gateway.PaymentIntentResult
) -> int | None:
    """Record that ``intent`` charged although ``order`` cannot take it; the attempt's id."""
    attempt = attempt or order.attempts.filter(stripe_payment_intent_id=intent.id).first()
    if attempt is None:
        logger.error("PaymentIntent %s charged for order %s with no attempt", intent.id, order.pk)
        return None
    won = PaymentAttempt.objects.filter(
        pk=attempt.pk,
        status__in=_DUPLICATE_FROM,
    ).update(status=PaymentAttempt.Status.DUPLICATE, finished_at=clock.now())
    if won:
        logger.error(
            "order %s was charged twice: PaymentIntent %s is refunded automatically",
            order.pk,
            intent.id,
            extra={"order_id": order.pk},
        )
    return attempt.pk if won or attempt.status == PaymentAttempt.Status.DUPLICATE else None


def attempt_refund_duplicate(*, attempt_id: int) -> bool:
    """Refund an attempt that charged a second time, once. True when it is refunded.

    Idempotent: the refund's idempotency key is derived from the attempt, and when an earlier
    try got no answer, Stripe's list of the PaymentIntent's refunds says whether it happened.
    Left ``duplicate`` when Stripe cannot be reached: the reconciliation tries again.
    """
    attempt = (
        PaymentAttempt.objects.select_related("order__subscription", "order__organization")
        .filter(pk=attempt_id, status=PaymentAttempt.Status.DUPLICATE)
        .first()
    )
    if attempt is None:
        return False
    order = attempt.order
    payment_intent_id = attempt.stripe_payment_intent_id
    try:
        intent = stripe_gateway.payment_intent_retrieve(payment_intent_id)
        refunds = stripe_gateway.refunds_for_payment_intent(payment_intent_id)
        refund = next((refund for refund in refunds if refund["status"] != "failed"), None)
        if refund is None:
            refund = stripe_gateway.refund_create(
                payment_intent_id=payment_intent_id,
                amount=intent.amount,
                idempotency_key=f"partnerportal-duplicate-{attempt.pk}",
            )
    except (
        stripe_gateway.StripeUnavailable,
        stripe_gateway.StripeRequestError,
        stripe_gateway.PaymentDeclined,
    ) as error:
        logger.warning("refund of the second charge %s failed: %s", payment_intent_id, error)
        return False
    money = f"{intent.amount / 100:.2f} {intent.currency}"
    reason = (
        f"Charged twice: the extra payment {payment_intent_id} ({money}) was refunded "
        f"automatically ({refund['id']})."
    )
    with transaction.atomic():
        won = PaymentAttempt.objects.filter(
            pk=attempt.pk, status=PaymentAttempt.Status.DUPLICATE
        ).update(status=PaymentAttempt.Status.REFUNDED, stripe_refund_id=refund["id"])
        if not won:
            return True
        if order.subscription is not None:
            subscription_record_event(
                subscription=order.subscription,
                kind="duplicate_refunded",
                from_status=order.subscription.status,
                to_status=order.subscription.status,
                actor_label="system",
                note=f"{reason} Order {order}, attempt {attempt.number}.",
            )
        audit_record(
            action=AuditEvent.Action.REFUND,
            organization=order.organization,
            actor_label="system",
            target=str(order),
            detail={
                "second_charge": payment_intent_id,
                "refund": refund["id"],
                "amount": intent.amount,
                "currency": intent.currency,
            },
        )
        order_flag_attention(order=order, reason=reason)
    order_notify_attention(order=order)
    return True


# Needs attention -----------------------------------------------------------------------------


def order_flag_attention(*, order: Order, reason: str) -> None:
    """Put the order in the admin's "needs attention" list with ``reason`` (kept until settled)."""
    now = clock.now()
    Order.objects.filter(pk=order.pk, attention_since__isnull=True).update(attention_since=now)
    Order.objects.filter(pk=order.pk).update(attention_reason=reason[:500])
    order.attention_reason = reason[:500]


def order_notify_attention(*, order: Order) -> bool:
    """Email staff about an order that needs attention, once (until it is settled)."""
    won = Order.objects.filter(
        pk=order.pk, attention_since__isnull=False, attention_notified_at__isnull=True
    ).update(attention_notified_at=clock.now())
    if not won:
        return False
    order.refresh_from_db()
    emails.email_order_needs_attention(order=order)
    return True
