"""What Stripe says about a PaymentIntent, applied to its order (the state machine of
docs/payments.md).

Every function here applies a fact Stripe reported (succeeded, declined, canceled, waiting for
3-D Secure, still in flight) and is safe to call again with the same fact, from any process:

- **Paid** is applied whoever reports it (the charging job, the browser, a webhook, the
  reconciliation): the order is locked and marked paid once. A success for an order that is
  already paid by another PaymentIntent, or can no longer be paid, is a second charge: that
  attempt is refunded automatically (``attempts_refund_duplicate``).
- **Not charged** (declined, authentication failed, interrupted) frees the order for another
  attempt only once its PaymentIntent is *closed*: canceled in Stripe, so that nothing (a late
  confirm, a browser holding its client secret) can charge it afterwards. A cancel Stripe
  refuses is looked up: it may have succeeded meanwhile.
- **In flight** (``requires_confirmation`` or ``processing`` after a confirm may have been
  sent) is never read as "not charged": the order stays ``processing`` until the
  reconciliation settles it.

Only the order's current attempt (``Order.attempt_count``) may fail it, so an older attempt's
late answer never frees an order being charged again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from billing import stripe_gateway
from billing.models import (
    CLAIMABLE_ORDER_STATUSES,
    Order,
    OrderKind,
    OrderStatus,
    PaymentAttempt,
)
from billing.selectors.renewals import INTERRUPTED, PROCESSING_ERROR
from billing.services.benefits import benefits_grant_for_terms
from billing.services.invoices import invoices_issue
from billing.services.payment_problems import attempt_mark_duplicate, attempt_refund_duplicate
from billing.services.receipts import receipts_send_later
from billing.services.subscriptions import (
    subscription_start,
    subscriptions_apply_renewals,
)
from core import clock
from membership.models import AuditEvent, User
from membership.services import audit_event

logger = logging.getLogger(__name__)

# Failure codes after which retrying the same card automatically is pointless or not allowed.
HARD_DECLINE_CODES = frozenset(
    {
        "authentication_required",
        "expired_card",
        "incorrect_number",
        "invalid_account",
        "lost_card",
        "stolen_card",
        "pickup_card",
        "restricted_card",
        "do_not_honor",
        "fraudulent",
        "payment_method_missing",
    }
)

# The orders a payment is still being decided for: only these can fail.
UNDECIDED_ORDER_STATUSES = (OrderStatus.PROCESSING, OrderStatus.REQUIRES_ACTION)


@dataclass(frozen=True)
class ChargeOutcome:
    """What happened to an order's payment, as a page or a job needs to know it."""

    status: str  # an OrderStatus value
    order: Order
    message: str = ""
    client_secret: str = ""  # for 3-D Secure in the browser
    # False when this call charged nothing because the order was paid, or being paid, already
    # (someone else's attempt): jobs then leave the follow-up (emails, retries) to that caller.
    attempted: bool = True
    # An unexpected error on this order (a crash mid-charge): raised by ``order_charge``; a
    # batch logs it and goes on with the other orders.
    error: BaseException | None = field(default=None, compare=False)
    # True for the one call that marked the order paid (and issued its invoice).
    paid_now: bool = False

    @property
    def paid(self) -> bool:
        return self.status == OrderStatus.PAID


class PaymentSetupError(Exception):
    """The order cannot be charged as it stands (no card, no Stripe customer…)."""


# Applying a PaymentIntent's state ---------------------------------------------------------------


def order_apply_intent(
    *,
    order: Order,
    attempt: PaymentAttempt | None,
    intent: stripe_gateway.PaymentIntentResult,
    actor: User | None = None,
    actor_label: str = "",
    take_over: bool = False,
) -> ChargeOutcome:
    """Settle ``order`` from its attempt's PaymentIntent as Stripe has it now. Never charges.

    ``take_over``: the caller (the reconciliation) has taken the order from a charger that was
    stopped, so a PaymentIntent still waiting for its confirm is canceled rather than awaited.
    """
    off_session = attempt.off_session if attempt is not None else True
    status = intent.status
    if status == "succeeded":
        return orders_record_paid(
            payments=[(order, attempt, intent)], actor=actor, actor_label=actor_label
        )[order.pk]
    if status == "canceled":
        # Closed: by us after a decline (its error says so), or before any confirm.
        code = intent.failure_code or INTERRUPTED
        return record_failure(
            order,
            attempt,
            code=code,
            message=intent.failure_message
            or _("The payment was interrupted before anything was charged."),
            hard=code in HARD_DECLINE_CODES,
        )
    if status == "requires_payment_method":
        # Declined (or 3-D Secure failed): close it, or a new card could still be confirmed on it.
        code = intent.failure_code or "card_declined"
        return order_close_attempt(
            order=order,
            attempt=attempt,
            payment_intent_id=intent.id,
            code=code,
            message=intent.failure_message or _("Your card was declined."),
            hard=code in HARD_DECLINE_CODES,
            actor=actor,
        )
    if status == "requires_action":
        if off_session or take_over:
            # Nobody is there to authenticate: stop automatic retries, ask for a manual renewal.
            return order_close_attempt(
                order=order,
                attempt=attempt,
                payment_intent_id=intent.id,
                code="authentication_required",
                message=_(
                    "Your bank asks you to confirm this payment. Renew by hand to authenticate."
                ),
                hard=True,
                actor=actor,
            )
        return _wait_for_authentication(order, attempt, intent)
    if status == "requires_confirmation" and take_over:
        return order_close_attempt(
            order=order,
            attempt=attempt,
            payment_intent_id=intent.id,
            code=INTERRUPTED,
            message=_("The payment was interrupted before anything was charged."),
            hard=False,
            actor=actor,
        )
    # In flight: a confirm may still be charging it. The reconciliation settles it later.
    order.refresh_from_db()
    return ChargeOutcome(order.status, order)


def order_close_attempt(
    *,
    order: Order,
    attempt: PaymentAttempt | None,
    payment_intent_id: str,
    code: str,
    message: str,
    hard: bool,
    actor: User | None = None,
) -> ChargeOutcome:
    """Cancel the attempt's PaymentIntent, then fail the order with ``code``.

    If Stripe refuses the cancel because the PaymentIntent succeeded meanwhile, the order is
    paid instead. If Stripe cannot be reached, the order stays ``processing`` (nothing may
    claim it while the PaymentIntent could still charge); the reconciliation closes it later.
    """
    closed = intent_close(payment_intent_id)
    if closed is None:
        if attempt is not None:
            PaymentAttempt.objects.filter(pk=attempt.pk, status__in=_OPEN).update(
                failure_code=code[:64], failure_message=message[:500]
            )
        order.refresh_from_db()
        return ChargeOutcome(order.status, order, message=message)
    if closed.status == "succeeded":
        return orders_record_paid(payments=[(order, attempt, closed)], actor=actor)[order.pk]
    return record_failure(order, attempt, code=code, message=message, hard=hard)


def intent_close(payment_intent_id: str) -> stripe_gateway.PaymentIntentResult | None:
    """Cancel a PaymentIntent; its final state (``canceled`` or ``succeeded``), or ``None``.

    ``None``: still open (processing, Stripe refused to cancel) or Stripe unreachable; try again
    later. A PaymentIntent Stripe cannot find raises ``StripeNotFound``.
    """
    try:
        return stripe_gateway.payment_intent_cancel(payment_intent_id)
    except stripe_gateway.StripeNotFound:
        raise
    except stripe_gateway.StripeRequestError:
        # Refused: already canceled, already succeeded, or processing. Stripe's state says which.
        pass
    except stripe_gateway.StripeUnavailable:
        return None
    try:
        intent = stripe_gateway.payment_intent_retrieve(payment_intent_id)
    except stripe_gateway.StripeNotFound:
        raise
    except (stripe_gateway.StripeUnavailable, stripe_gateway.StripeRequestError):
        return None
    return intent if intent.status in ("canceled", "succeeded") else None


_OPEN = (
    PaymentAttempt.Status.STARTED,
    PaymentAttempt.Status.UNKNOWN,
    PaymentAttempt.Status.REQUIRES_ACTION,
)


def _wait_for_authentication(
    order: Order, attempt: PaymentAttempt | None, intent: stripe_gateway.PaymentIntentResult
) -> ChargeOutcome:
    with transaction.atomic():
        if attempt is not None:
            PaymentAttempt.objects.filter(pk=attempt.pk, status__in=_OPEN).update(
                status=PaymentAttempt.Status.REQUIRES_ACTION
            )
        Order.objects.filter(
            pk=order.pk,
            attempt_count=attempt.number if attempt is not None else order.attempt_count,
            status__in=UNDECIDED_ORDER_STATUSES,
        ).update(status=OrderStatus.REQUIRES_ACTION, updated_at=clock.now())
    order.refresh_from_db()
    if order.status != OrderStatus.REQUIRES_ACTION:
        return ChargeOutcome(order.status, order)
    return ChargeOutcome(OrderStatus.REQUIRES_ACTION, order, client_secret=intent.client_secret)


def record_failure(
    order: Order,
    attempt: PaymentAttempt | None,
    *,
    code: str,
    message: str,
    hard: bool,
    closed_as: str | None = None,
) -> ChargeOutcome:
    """Fail the order's current attempt, whose PaymentIntent can no longer charge.

    ``attempt`` is None when the attempt crashed before it was recorded. An older attempt's late
    answer changes only that attempt's row: the order belongs to its current attempt. The attempt
    is ``failed`` (Stripe said no) or, for an interruption, ``canceled`` (nothing was asked).
    """
    if closed_as is None:
        closed_as = (
            PaymentAttempt.Status.CANCELED
            if code in (INTERRUPTED, PROCESSING_ERROR)
            else PaymentAttempt.Status.FAILED
        )
    now = clock.now()
    with transaction.atomic():
        if attempt is not None:
            PaymentAttempt.objects.filter(pk=attempt.pk, status__in=_OPEN).update(
                status=closed_as,
                failure_code=code[:64],
                failure_message=message[:500],
                finished_at=now,
            )
        updates = {
            "status": OrderStatus.FAILED,
            "failure_code": code[:64],
            "failure_message": message[:500],
            "updated_at": now,
            **_ATTENTION_CLEARED,
        }
        if hard:
            updates["retries_stopped"] = True
        Order.objects.filter(
            pk=order.pk,
            attempt_count=attempt.number if attempt is not None else order.attempt_count,
            status__in=UNDECIDED_ORDER_STATUSES,
        ).update(**updates)
    order.refresh_from_db()
    return ChargeOutcome(order.status, order, message=message)


def order_release_unstarted(*, order: Order, claim_token: str) -> ChargeOutcome:
    """Free a claimed order on which no PaymentIntent was created (a batch out of time)."""
    now = clock.now()
    released = Order.objects.filter(
        pk=order.pk, claim_token=claim_token, status=OrderStatus.PROCESSING
    ).update(
        status=OrderStatus.FAILED,
        failure_code=INTERRUPTED,
        failure_message=_("The payment was interrupted before anything was charged."),
        updated_at=now,
    )
    if not released:
        log_fenced(order, "release")
    order.refresh_from_db()
    return ChargeOutcome(order.status, order, message=order.failure_message)


def log_fenced(order: Order, step: str) -> None:
    """A charger whose claim was taken over (it woke up late) changes nothing; say so."""
    logger.warning(
        "fenced: order %s was taken over by a newer claim; this %s changed nothing",
        order.pk,
        step,
        extra={"order_id": order.pk},
    )


# Paid --------------------------------------------------------------------------------------------

_ATTENTION_CLEARED = {
    "attention_reason": "",
    "attention_since": None,
    "attention_notified_at": None,
}

Payment = tuple[Order, PaymentAttempt | None, stripe_gateway.PaymentIntentResult]


def order_mark_paid(
    *,
    order: Order,
    attempt: PaymentAttempt | None,
    intent: stripe_gateway.PaymentIntentResult,
    actor: User | None = None,
    actor_label: str = "",
) -> ChargeOutcome:
    """Confirm the order and start or renew the subscription, in one transaction, once."""
    outcome = orders_record_paid(
        payments=[(order, attempt, intent)], actor=actor, actor_label=actor_label
    )[order.pk]
    if outcome.error is not None:
        raise outcome.error
    return outcome


def orders_record_paid(
    *, payments: Sequence[Payment], actor: User | None = None, actor_label: str = ""
) -> dict[int, ChargeOutcome]:
    """``orders_mark_paid``, then (after its commit) refund every second charge it found and
    send the receipts of payments made in the browser: purchases, and renewals by hand. The
    job that charges automatic renewals sends theirs (``billing.services.renewals``)."""
    outcomes, duplicates = orders_mark_paid(payments=payments, actor=actor, actor_label=actor_label)
    for attempt_id in duplicates:
        attempt_refund_duplicate(attempt_id=attempt_id)
    attempts = {order.pk: attempt for order, attempt, _intent in payments}
    in_the_browser = [
        outcome.order
        for pk, outcome in outcomes.items()
        if outcome.paid_now
        and (
            outcome.order.kind == OrderKind.PURCHASE
            or (attempts.get(pk) is not None and not attempts[pk].off_session)
        )
    ]
    receipts_send_later(orders=in_the_browser)
    return outcomes


@transaction.atomic
def orders_mark_paid(
    *, payments: Sequence[Payment], actor: User | None = None, actor_label: str = ""
) -> tuple[dict[int, ChargeOutcome], list[int]]:
    """Confirm paid orders and start or renew their subscriptions, in one transaction, once each.

    The orders are locked (in id order, so two batches never deadlock). Returns the outcomes and
    the ids of attempts that charged a second time (the order was paid by another PaymentIntent,
    or can no longer be paid): marked ``duplicate`` here, to be refunded once this commits.
    Renewals are applied, benefits granted and the audit written for the whole batch at once.
    """
    intents = {order.pk: intent for order, _attempt, intent in payments}
    attempts = {order.pk: attempt for order, attempt, _intent in payments}
    locked = (
        Order.objects.select_for_update(of=("self",))
        .select_related("organization", "offer", "subscription", "payment_method")
        .filter(pk__in=intents)
        .order_by("pk")
    )
    now = clock.now()
    label = actor_label or ("system" if actor is None else "")
    outcomes: dict[int, ChargeOutcome] = {}
    duplicates: list[int] = []
    paying: list[Order] = []
    for order in locked:
        intent = intents[order.pk]
        if order.status == OrderStatus.PAID and order.stripe_payment_intent_id == intent.id:
            outcomes[order.pk] = ChargeOutcome(OrderStatus.PAID, order)
            continue
        if order.status not in (*CLAIMABLE_ORDER_STATUSES, *UNDECIDED_ORDER_STATUSES):
            # Paid by another PaymentIntent, refunded or canceled: this money is not the order's.
            duplicate = attempt_mark_duplicate(order, attempts[order.pk], intent)
            if duplicate is not None:
                duplicates.append(duplicate)
            outcomes[order.pk] = ChargeOutcome(order.status, order, attempted=False)
            continue
        if intent.amount != order.amount or intent.currency.upper() != order.currency:
            # Never settle an order on a payment for another amount: leave it for staff.
            logger.error("payment amount mismatch on order %s", order.pk)
            error = PaymentSetupError("The payment does not match the order's amount.")
            outcomes[order.pk] = ChargeOutcome(order.status, order, error=error)
            continue
        order.status = OrderStatus.PAID
        order.paid_at = order.updated_at = now
        order.stripe_payment_intent_id = intent.id
        order.next_retry_on = None
        order.failure_code = order.failure_message = ""
        paying.append(order)
    if not paying:
        return outcomes, duplicates
    # What every paid order gets in one UPDATE; what differs per order (the invoice number, the
    # PaymentIntent that paid) in a second one. bulk_update's CASE per row and field costs far
    # more to build than to run.
    Order.objects.filter(pk__in=[order.pk for order in paying]).update(
        status=OrderStatus.PAID,
        paid_at=now,
        next_retry_on=None,
        failure_code="",
        failure_message="",
        updated_at=now,
        **_ATTENTION_CLEARED,
    )
    PaymentAttempt.objects.filter(
        order__in=paying,
        stripe_payment_intent_id__in=[order.stripe_payment_intent_id for order in paying],
    ).update(status=PaymentAttempt.Status.SUCCEEDED, finished_at=now)

    renewals = [order for order in paying if order.kind == OrderKind.RENEWAL]
    renewed = subscriptions_apply_renewals(orders=renewals, actor=actor, actor_label=label)
    for order in paying:
        if order.kind == OrderKind.PURCHASE:
            order.subscription = subscription_start(order=order, actor=actor, actor_label=label)
        else:
            # The order is saved and current; only its subscription moved on (renewed).
            order.subscription = renewed[order.pk]
    benefits_grant_for_terms(subscriptions=[order.subscription for order in paying])
    # The invoices, numbered under the lock of their series' counter, in this transaction: a
    # paid order always has its invoice, and a rolled-back one takes its number back. Last, so
    # every other batch waits on that one row for as few statements as possible.
    invoices_issue(orders=paying, issued_at=now)
    Order.objects.bulk_update(paying, ["invoice_number", "stripe_payment_intent_id"])
    AuditEvent.objects.bulk_create(
        audit_event(
            action=(
                AuditEvent.Action.PURCHASE
                if order.kind == OrderKind.PURCHASE
                else AuditEvent.Action.RENEWAL
            ),
            organization=order.organization,
            actor=actor,
            actor_label=label,
            target=order.invoice_number,
            detail={
                "order": order.pk,
                "amount": order.amount,
                "currency": order.currency,
                "payment_intent": order.stripe_payment_intent_id,
            },
        )
        for order in paying
    )
    for order in paying:
        outcomes[order.pk] = ChargeOutcome(OrderStatus.PAID, order, paid_now=True)
    return outcomes, duplicates
