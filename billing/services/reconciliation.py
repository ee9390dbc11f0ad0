"""Settling payments whose outcome is unknown, and closing PaymentIntents that could still charge.

It never charges: it reads what Stripe has, cancels what must not charge any more, and applies
the result through ``billing.services.payment_outcomes`` (docs/payments.md).

- **Stale claims** (``orders_reconcile``): an order ``processing`` for longer than the claim
  timeout (``PAYMENT_CLAIM_TIMEOUT``, the charging tasks' hard time limit) belongs to a charger
  that was stopped. The reconciliation takes it over — a new claim token, so that the charger,
  should it wake up, records nothing (its writes are fenced) — and settles it from its
  PaymentIntent: paid, declined (canceled, then failed), or, still waiting for a confirm nobody
  will send, canceled; a cancel refused because it succeeded meanwhile marks it paid. One
  Stripe is still processing stays ``processing`` and is looked at again next time.
- **Nothing silently stuck**: an order whose PaymentIntent Stripe cannot find, or that is still
  unsettled after ``PAYMENT_RECONCILE_ATTEMPTS`` reconciliations, goes to the admin's "needs
  attention" list with its reason, and staff are emailed once.
- **Stray PaymentIntents** (``payment_attempts_close``): an attempt that is not its order's
  current one but could still charge (the order was paid another way, or canceled) is canceled;
  if it charged, that is a second charge, refunded automatically.

Two reconciliations at once are harmless: each applies only what Stripe says, and every write
is conditional.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Sequence

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F
from django.utils.translation import gettext as _

from billing import stripe_gateway
from billing.models import Order, OrderStatus, PaymentAttempt
from billing.selectors.payments import claim_timeout
from billing.selectors.renewals import INTERRUPTED
from billing.services.payment_outcomes import (
    ChargeOutcome,
    intent_close,
    order_apply_intent,
    orders_record_paid,
    record_failure,
)
from billing.services.payment_problems import (
    attempt_refund_duplicate,
    order_flag_attention,
    order_notify_attention,
)
from core import clock
from membership.models import User

logger = logging.getLogger(__name__)

RECONCILIATION = "reconciliation"


# Stale claims ------------------------------------------------------------------------------------


def orders_reconcile(*, order_ids: Sequence[int]) -> dict[int, ChargeOutcome]:
    """Settle each stale order (``order_reconcile``); a database error affects one order only.

    Returns the outcomes of the orders this call took over.
    """
    outcomes: dict[int, ChargeOutcome] = {}
    for order_id in order_ids:
        try:
            outcome = order_reconcile(order_id=order_id)
        except DatabaseError:
            logger.exception("reconciling order %s failed", order_id)
            if not connection.in_atomic_block:
                connection.close()
            continue
        if outcome is not None:
            outcomes[order_id] = outcome
    counts = Counter(str(outcome.status) for outcome in outcomes.values())
    if outcomes:
        logger.info("reconciled %d orders: %s", len(outcomes), dict(counts))
    return outcomes


def order_reconcile(*, order_id: int) -> ChargeOutcome | None:
    """Take a stale order over and settle it from Stripe; ``None`` if it was not stale (any more)."""
    order = Order.objects.select_related("organization").filter(pk=order_id).first()
    if (
        order is None
        or order.status != OrderStatus.PROCESSING
        or order.claimed_at is None
        or order.claimed_at > clock.now() - claim_timeout()
    ):
        return None
    # The takeover: the stopped charger's later writes, conditional on its token, change nothing.
    # claimed_at stays, so the order is looked at again at the next run if it stays unsettled.
    taken = Order.objects.filter(
        pk=order.pk, status=OrderStatus.PROCESSING, claim_token=order.claim_token
    ).update(claim_token=uuid.uuid4().hex, reconcile_count=F("reconcile_count") + 1)
    if not taken:
        return None
    order.refresh_from_db()
    attempt = order.attempts.filter(number=order.attempt_count).first()
    if not order.stripe_payment_intent_id:
        # Stopped before its PaymentIntent was on record: nothing ever confirmed one.
        return record_failure(
            order,
            attempt,
            code=INTERRUPTED,
            message=_("The payment was interrupted before anything was charged."),
            hard=False,
        )
    payment_intent_id = order.stripe_payment_intent_id
    try:
        intent = stripe_gateway.payment_intent_retrieve(payment_intent_id)
        outcome = order_apply_intent(
            order=order,
            attempt=attempt,
            intent=intent,
            actor_label=RECONCILIATION,
            take_over=True,
        )
    except stripe_gateway.StripeNotFound:
        return _unsettled(order, f"Stripe cannot find PaymentIntent {payment_intent_id}.", now=True)
    except (stripe_gateway.StripeUnavailable, stripe_gateway.StripeRequestError) as error:
        return _unsettled(order, f"Stripe did not answer for {payment_intent_id}: {error}")
    if outcome.status == OrderStatus.PROCESSING:
        return _unsettled(order, f"PaymentIntent {payment_intent_id} is still {intent.status}.")
    return outcome


def _unsettled(order: Order, reason: str, *, now: bool = False) -> ChargeOutcome:
    """Leave the order ``processing``; at once (``now``) or after too many tries, tell staff."""
    order.refresh_from_db()
    if now or order.reconcile_count >= settings.PAYMENT_RECONCILE_ATTEMPTS:
        if not now:
            reason = f"Still unsettled after {order.reconcile_count} reconciliations. {reason}"
        logger.error("order %s needs attention: %s", order.pk, reason)
        order_flag_attention(order=order, reason=reason)
        order_notify_attention(order=order)
    return ChargeOutcome(order.status, order, message=reason)


# Stray PaymentIntents ----------------------------------------------------------------------------


def payment_attempts_close(*, attempt_ids: Sequence[int]) -> int:
    """Close attempts that are not their order's current one but could still charge, and refund
    second charges. Returns how many were closed or refunded."""
    closed = 0
    for attempt_id in attempt_ids:
        try:
            closed += _attempt_close(attempt_id)
        except DatabaseError:
            logger.exception("closing payment attempt %s failed", attempt_id)
            if not connection.in_atomic_block:
                connection.close()
    return closed


def _attempt_close(attempt_id: int) -> bool:
    attempt = PaymentAttempt.objects.select_related("order__organization").get(pk=attempt_id)
    if attempt.status == PaymentAttempt.Status.DUPLICATE:
        return attempt_refund_duplicate(attempt_id=attempt.pk)
    order = attempt.order
    if not attempt.stripe_payment_intent_id:
        # Its PaymentIntent was never recorded, so it was never confirmed.
        return bool(
            PaymentAttempt.objects.filter(pk=attempt.pk, status=attempt.status).update(
                status=PaymentAttempt.Status.CANCELED, finished_at=clock.now()
            )
        )
    try:
        intent = intent_close(attempt.stripe_payment_intent_id)
    except stripe_gateway.StripeNotFound:
        order_flag_attention(
            order=order,
            reason=f"Stripe cannot find PaymentIntent {attempt.stripe_payment_intent_id} "
            f"(attempt {attempt.number}).",
        )
        order_notify_attention(order=order)
        return False
    if intent is None:
        return False  # still processing, or Stripe unreachable: next time
    if intent.paid:
        # It charged: the order takes it if it can, else it is refunded (a second charge).
        orders_record_paid(payments=[(order, attempt, intent)], actor_label=RECONCILIATION)
        return True
    return bool(
        PaymentAttempt.objects.filter(pk=attempt.pk, status=attempt.status).update(
            status=PaymentAttempt.Status.CANCELED, finished_at=clock.now()
        )
    )


# Settling from the browser or a webhook ----------------------------------------------------------


def order_settle_from_stripe(
    *, order: Order, actor: User | None = None, actor_label: str = ""
) -> ChargeOutcome:
    """Settle an order from what Stripe says about its current PaymentIntent. Never charges.

    For the browser (back from 3-D Secure) and webhooks: a PaymentIntent still in flight is left
    to its charger, or to the reconciliation once that charger's claim is stale.
    """
    order.refresh_from_db()
    if order.status == OrderStatus.PAID or not order.stripe_payment_intent_id:
        return ChargeOutcome(order.status, order)
    attempt = (
        PaymentAttempt.objects.filter(
            order=order, stripe_payment_intent_id=order.stripe_payment_intent_id
        )
        .order_by("-number")
        .first()
    )
    try:
        intent = stripe_gateway.payment_intent_retrieve(order.stripe_payment_intent_id)
        return order_apply_intent(
            order=order, attempt=attempt, intent=intent, actor=actor, actor_label=actor_label
        )
    except (stripe_gateway.StripeUnavailable, stripe_gateway.StripeRequestError):
        order.refresh_from_db()
        return ChargeOutcome(
            order.status, order, message=_("We could not confirm the payment yet.")
        )


def order_settle_payment_intent(
    *, payment_intent_id: str, actor_label: str = "stripe webhook"
) -> ChargeOutcome | None:
    """Settle the order a PaymentIntent belongs to (webhooks, the browser after 3-D Secure).

    An older attempt's PaymentIntent does not decide the order (its current attempt does) —
    except that money is money: if it succeeded, the order is paid by it if it is not paid yet,
    and it is refunded if the order was paid by another one.
    """
    attempt = (
        PaymentAttempt.objects.select_related("order__organization")
        .filter(stripe_payment_intent_id=payment_intent_id)
        .first()
    )
    if attempt is None:
        return None
    order = attempt.order
    if order.stripe_payment_intent_id == payment_intent_id:
        return order_settle_from_stripe(order=order, actor_label=actor_label)
    try:
        intent = stripe_gateway.payment_intent_retrieve(payment_intent_id)
    except (stripe_gateway.StripeUnavailable, stripe_gateway.StripeRequestError):
        return ChargeOutcome(
            order.status, order, message=_("We could not confirm the payment yet.")
        )
    if intent.paid:
        return orders_record_paid(payments=[(order, attempt, intent)], actor_label=actor_label)[
            order.pk
        ]
    order.refresh_from_db()
    return ChargeOutcome(order.status, order)
