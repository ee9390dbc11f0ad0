"""Charging an order exactly once (the state machine, with its reasons: docs/payments.md).

The protocol, for purchases (on-session, in the browser) and renewals (off-session, in jobs):

1. **Claim**: a conditional UPDATE moves the order from ``pending``/``failed`` to ``processing``,
   numbers the attempt and stamps the row with a token of this call. Only one caller wins; every
   other caller (a second tab, a double click, a second worker, a redelivered task) sees the
   order as it is and charges nothing. A claimable order has no PaymentIntent that could still
   charge (``billing.services.payment_outcomes`` closes each one before it frees the order).
2. **Create** an unconfirmed PaymentIntent with an idempotency key derived from the order row and
   its attempt number, and record the attempt with its PaymentIntent id (committed) before any
   money moves — *fenced*: only while the claim is still this call's. A charger that wakes up
   after the reconciliation took its order over records nothing and confirms nothing.
3. **Confirm** it. From the moment the confirm may have been sent, the PaymentIntent is *in
   flight* until Stripe reports it succeeded, failed or canceled: a timeout is looked up, and an
   answer that says it still waits for its confirm leaves the order ``processing``. A timeout
   never starts a second PaymentIntent.
4. What Stripe answered is applied by ``billing.services.payment_outcomes``; unknown outcomes are
   settled by ``billing.services.reconciliation``, which never charges.

The module is longer than the house's ~500 lines on purpose: the claim, the fenced record and the
confirm of a single charge and of a renewal batch are one protocol, read top to bottom here.

``orders_charge`` runs the protocol for a batch of orders (the billing cycle's), with the
database work done once per step for the whole batch; ``order_charge`` is a batch of one. A
database error on one order (a killed connection) affects that order only.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from billing import stripe_gateway
from billing.models import (
    CLAIMABLE_ORDER_STATUSES,
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentMethod,
)
from billing.selectors.renewals import INTERRUPTED, PROCESSING_ERROR
from billing.services.payment_outcomes import (
    HARD_DECLINE_CODES,
    ChargeOutcome,
    Payment,
    PaymentSetupError,
    log_fenced,
    order_apply_intent,
    order_close_attempt,
    order_release_unstarted,
    orders_record_paid,
    record_failure,
)
from billing.services.reconciliation import order_settle_from_stripe
from core import clock
from membership.models import User

logger = logging.getLogger(__name__)

T = TypeVar("T")


# Charging ------------------------------------------------------------------------------------


def batch_deadline() -> dt.timedelta:
    """A batch starts no Stripe call later than this after its claim.

    Inside the claim timeout (the charging tasks' hard time limit) by two Stripe calls (a
    confirm that times out and the lookup after it) and a margin, so that a batch is done before
    the reconciliation may take its orders over: 130 s with the defaults.
    """
    seconds = settings.PAYMENT_CLAIM_TIMEOUT - 2 * settings.STRIPE_TIMEOUT_SECONDS - 10
    return dt.timedelta(seconds=seconds)


def _claim(
    orders: Sequence[Order],
    *,
    condition: Q | None = None,
    updates: Mapping[int, dict] | None = None,
) -> list[Order]:
    """Move the orders to ``processing`` and number a new attempt; returns the ones won.

    One conditional UPDATE per distinct ``updates`` (usually one per batch) stamps the won rows
    with a token of this call, and one SELECT reads them back: an order someone else claimed a
    moment ago is not among them. ``condition`` narrows the claim and ``updates`` (per order id)
    are written by the same UPDATE: the automatic renewal claims only an order whose retry is due
    and moves its next retry date in that one statement, so a late or duplicate job can never
    claim the same retry again.
    """
    token = uuid.uuid4().hex
    now = clock.now()
    groups: dict[tuple, list[int]] = defaultdict(list)
    for order in orders:
        groups[tuple(sorted(((updates or {}).get(order.pk) or {}).items()))].append(order.pk)
    for group_updates, pks in groups.items():
        claimable = Order.objects.filter(pk__in=pks, status__in=CLAIMABLE_ORDER_STATUSES)
        if condition is not None:
            claimable = claimable.filter(condition)
        claimable.update(
            **dict(group_updates),
            status=OrderStatus.PROCESSING,
            attempt_count=F("attempt_count") + 1,
            # The previous attempt's PaymentIntent is closed (a claimable order has none that
            # could charge); this attempt's is recorded once it exists.
            stripe_payment_intent_id="",
            failure_code="",
            failure_message="",
            claimed_at=now,
            claim_token=token,
            reconcile_count=0,
            updated_at=now,
        )
    # Read back with what another tab may have changed before the claim (price, card).
    rows = _retrying_once(
        lambda: list(
            Order.objects.filter(
                pk__in=[order.pk for order in orders], claim_token=token
            ).values_list("pk", "attempt_count", "amount", "currency", "payment_method_id")
        )
    )
    won = {pk: row for pk, *row in rows}
    claimed = []
    for order in orders:
        if order.pk in won:
            for name, value in ((updates or {}).get(order.pk) or {}).items():
                setattr(order, name, value)
            order.attempt_count, order.amount, order.currency, card_id = won[order.pk]
            if card_id != order.payment_method_id:
                order.payment_method = PaymentMethod.objects.filter(pk=card_id).first()
            order.status = OrderStatus.PROCESSING
            order.stripe_payment_intent_id = order.failure_code = order.failure_message = ""
            order.claimed_at, order.claim_token = now, token
            claimed.append(order)
    return claimed


def order_authentication(*, order: Order) -> ChargeOutcome:
    """Where 3-D Secure stands for ``order``: the client secret while it waits, else the result.

    Looking the PaymentIntent up never charges; if the bank already answered (a webhook, another
    tab), the order is settled from what Stripe says.
    """
    if order.status != OrderStatus.REQUIRES_ACTION or not order.stripe_payment_intent_id:
        return ChargeOutcome(order.status, order, message=order.failure_message)
    try:
        intent = stripe_gateway.payment_intent_retrieve(order.stripe_payment_intent_id)
    except (stripe_gateway.StripeUnavailable, stripe_gateway.StripeRequestError):
        return ChargeOutcome(
            order.status, order, message=_("We could not reach the payment service.")
        )
    if intent.status == "requires_action":
        return ChargeOutcome(order.status, order, client_secret=intent.client_secret)
    return order_settle_from_stripe(order=order)


def _outcome_for_unclaimed(order: Order) -> ChargeOutcome:
    order.refresh_from_db()
    if order.status == OrderStatus.REQUIRES_ACTION and order.stripe_payment_intent_id:
        return order_authentication(order=order)
    message = ""
    if order.status == OrderStatus.PROCESSING:
        message = _("This payment is already being processed. Refresh the page in a moment.")
    return ChargeOutcome(order.status, order, message=message)


def order_charge(
    *,
    order: Order,
    off_session: bool,
    actor: User | None = None,
    claim_condition: Q | None = None,
    claim_updates: dict | None = None,
) -> ChargeOutcome:
    """Charge the order's card for the order's amount, once. Safe to call any number of times.

    ``claim_condition`` / ``claim_updates`` narrow and extend the claim (see ``_claim``). An
    unexpected error after the claim (a crash mid-charge) is raised once the order is on record.
    """
    if order.status == OrderStatus.PAID:
        return ChargeOutcome(OrderStatus.PAID, order, attempted=False)
    if not order_chargeable(order):
        raise PaymentSetupError(_("Choose a payment method first."))
    outcome = orders_charge(
        orders=[order],
        off_session=off_session,
        actor=actor,
        claim_condition=claim_condition,
        claim_updates={order.pk: claim_updates or {}},
    )[order.pk]
    if outcome.error is not None:
        raise outcome.error
    return outcome


def order_chargeable(order: Order) -> bool:
    """The order has a card on file and its organization a Stripe customer to charge it to."""
    card = order.payment_method
    return bool(
        card is not None and card.removed_at is None and order.organization.stripe_customer_id
    )


def orders_charge(
    *,
    orders: Sequence[Order],
    off_session: bool,
    actor: User | None = None,
    claim_condition: Q | None = None,
    claim_updates: Mapping[int, dict] | None = None,
    deadline: dt.timedelta | None = None,
) -> dict[int, ChargeOutcome]:
    """Charge each order once (the billing cycle's batches; ``order_charge`` is a batch of one).

    Every order must be chargeable (``order_chargeable``), with ``organization`` and
    ``payment_method`` loaded. The protocol of this module, with the database work done once
    per batch: claim (``_claim``), create every PaymentIntent unconfirmed, record the attempts
    with their PaymentIntent ids (committed, fenced) before any is confirmed, confirm each, then
    mark the paid ones paid in one transaction. Declines, 3-D Secure and unknown outcomes are
    settled order by order, as in a single charge.

    An unexpected error on one order (a bug, a database error, a crash mid-call) does not stop
    the others: it is logged, its order stays ``processing`` for the reconciliation, and its
    outcome carries the error. Past ``deadline`` (``batch_deadline()``) no new Stripe call is
    started: orders without a PaymentIntent yet are released at once (failed, nothing charged),
    those with an unconfirmed one are left to the reconciliation, which cancels it.
    """
    outcomes: dict[int, ChargeOutcome] = {}
    started = time.monotonic()
    deadline = batch_deadline() if deadline is None else deadline
    claimed = _claim(
        [order for order in orders if order.status != OrderStatus.PAID],
        condition=claim_condition,
        updates=claim_updates,
    )
    won = {order.pk for order in claimed}
    for order in orders:
        if order.pk in won:
            continue
        if order.status == OrderStatus.PAID:
            outcomes[order.pk] = ChargeOutcome(OrderStatus.PAID, order, attempted=False)
        else:
            unclaimed = _isolated(order, partial(_outcome_for_unclaimed, order))
            outcomes[order.pk] = replace(unclaimed, attempted=False)

    def past_deadline() -> bool:
        return time.monotonic() - started > deadline.total_seconds()

    # Create: unconfirmed, so nothing is charged yet.
    def create(order: Order) -> stripe_gateway.PaymentIntentResult | object:
        if past_deadline():
            return _NOT_STARTED
        return stripe_gateway.payment_intent_create(
            amount=order.amount,
            currency=order.currency,
            customer_id=order.organization.stripe_customer_id,
            payment_method_id=order.payment_method.stripe_payment_method_id,
            idempotency_key=order.idempotency_key,
            metadata={"order_id": str(order.pk), "attempt": str(order.attempt_count)},
        )

    created: list[tuple[Order, PaymentAttempt]] = []
    refused: list[tuple[Order, PaymentAttempt, str, str]] = []
    attempts: list[PaymentAttempt] = []
    results = _stripe_calls([partial(create, order) for order in claimed])
    for order, result in zip(claimed, results, strict=True):
        if result is _NOT_STARTED:
            outcomes[order.pk] = _isolated(
                order, partial(order_release_unstarted, order=order, claim_token=order.claim_token)
            )
            continue
        attempt = PaymentAttempt(
            order=order,
            number=order.attempt_count,
            off_session=off_session,
            idempotency_key=order.idempotency_key,
            created_at=clock.now(),
        )
        if isinstance(result, stripe_gateway.StripeUnavailable):
            # Stripe down, slow or rate limited: never confirmed, so nothing can charge it (if it
            # exists, nobody knows its id). Our side's trouble: retried at the next run.
            message = _("The payment was interrupted before anything was charged.")
            refused.append((order, attempt, INTERRUPTED, message))
        elif isinstance(result, stripe_gateway.StripeRequestError):
            # Stripe refused the request itself (the card gone from Stripe…): a processing error.
            refused.append((order, attempt, PROCESSING_ERROR, str(result)))
        elif isinstance(result, Exception):
            logger.exception(
                "creating the PaymentIntent of order %s failed", order.pk, exc_info=result
            )
            outcomes[order.pk] = ChargeOutcome(OrderStatus.PROCESSING, order, error=result)
            continue
        else:
            attempt.stripe_payment_intent_id = order.stripe_payment_intent_id = result.id
            created.append((order, attempt))
        attempts.append(attempt)

    # On record before any money moves: a crash from here on is settled by looking them up.
    recorded = _attempts_record(attempts)
    for order, attempt, code, message in refused:
        if order.pk not in recorded:
            outcomes[order.pk] = _isolated(order, partial(_fenced, order))
            continue
        step = partial(record_failure, order, attempt, code=code, message=message, hard=False)
        outcomes[order.pk] = _isolated(order, step)

    # Confirm.
    to_confirm = []
    for order, attempt in created:
        if order.pk in recorded:
            to_confirm.append((order, attempt))
        else:
            # Taken over meanwhile, or the record failed: this PaymentIntent is not on record,
            # so it is never confirmed, and nothing is charged.
            outcomes[order.pk] = _isolated(order, partial(_fenced, order))

    def confirm(attempt: PaymentAttempt) -> stripe_gateway.PaymentIntentResult | object:
        if past_deadline():
            return _NOT_STARTED
        return stripe_gateway.payment_intent_confirm(
            attempt.stripe_payment_intent_id,
            idempotency_key=attempt.idempotency_key,
            off_session=off_session,
        )

    answered: list[Payment] = []
    results = _stripe_calls([partial(confirm, attempt) for _order, attempt in to_confirm])
    for (order, attempt), result in zip(to_confirm, results, strict=True):
        if result is _NOT_STARTED:
            # Left unconfirmed: the reconciliation cancels it once the claim is stale.
            outcomes[order.pk] = ChargeOutcome(OrderStatus.PROCESSING, order)
        elif isinstance(result, stripe_gateway.PaymentDeclined):
            step = partial(
                order_close_attempt,
                order=order,
                attempt=attempt,
                payment_intent_id=attempt.stripe_payment_intent_id,
                code=result.code,
                message=result.message,
                hard=result.code in HARD_DECLINE_CODES,
                actor=actor,
            )
            outcomes[order.pk] = _isolated(order, step, attempt=attempt, actor=actor)
        elif isinstance(
            result, (stripe_gateway.StripeUnavailable, stripe_gateway.StripeRequestError)
        ):
            # The confirm may have reached Stripe (a timeout), or Stripe refused it because the
            # PaymentIntent moved on (a takeover canceled it; a late confirm got there first):
            # what happened is what Stripe has now.
            logger.warning("payment outcome unknown: %s", result, extra={"order_id": order.pk})
            outcomes[order.pk] = _isolated(
                order, partial(_settle_unknown, order, attempt, actor), attempt=attempt
            )
        elif isinstance(result, Exception):
            logger.exception(
                "confirming the PaymentIntent of order %s failed", order.pk, exc_info=result
            )
            outcomes[order.pk] = ChargeOutcome(OrderStatus.PROCESSING, order, error=result)
        else:
            answered.append((order, attempt, result))

    outcomes.update(_paid_record([payment for payment in answered if payment[2].paid], actor))
    for order, attempt, intent in answered:
        if not intent.paid:
            step = partial(
                order_apply_intent, order=order, attempt=attempt, intent=intent, actor=actor
            )
            outcomes[order.pk] = _isolated(order, step, attempt=attempt, actor=actor)
    return outcomes


# A Stripe call the batch did not start (past its deadline).
_NOT_STARTED = object()


def _stripe_calls(calls: Sequence[Callable[[], T]]) -> list[T | Exception]:
    """Make a batch's Stripe calls, up to ``STRIPE_BATCH_CONCURRENCY`` at once, in order.

    They only wait on Stripe (no database work is done in them), so a batch of 20 renewals takes
    the time of a few calls, not of forty, and a worker thread keeps the rate limit's bucket busy
    (bench/renewal_burst.py). Each result is the call's value, or the ``Exception`` it raised;
    anything else (a ``SystemExit``) is raised here, as a crash would be. A single call is made
    in this thread.
    """
    concurrency = min(settings.STRIPE_BATCH_CONCURRENCY, len(calls))
    if concurrency <= 1:
        return [_result_of(call) for call in calls]
    with ThreadPoolExecutor(concurrency, thread_name_prefix="stripe-call") as pool:
        # Each call runs in a copy of this context: pacing and the log's request id go along.
        futures = [pool.submit(contextvars.copy_context().run, _result_of, call) for call in calls]
        return [future.result() for future in futures]


def _result_of(call: Callable[[], T]) -> T | Exception:
    try:
        return call()
    except Exception as error:
        return error


def _fenced(order: Order) -> ChargeOutcome:
    log_fenced(order, "charge")
    order.refresh_from_db()
    return ChargeOutcome(order.status, order, attempted=False)


def _settle_unknown(order: Order, attempt: PaymentAttempt, actor: User | None) -> ChargeOutcome:
    """The confirm's answer was lost or refused: settle from Stripe, leaving it in flight if
    Stripe cannot tell yet (``processing``, or still waiting for the confirm we sent)."""
    PaymentAttempt.objects.filter(pk=attempt.pk, status=PaymentAttempt.Status.STARTED).update(
        status=PaymentAttempt.Status.UNKNOWN
    )
    try:
        intent = stripe_gateway.payment_intent_retrieve(attempt.stripe_payment_intent_id)
    except (stripe_gateway.StripeUnavailable, stripe_gateway.StripeRequestError):
        return ChargeOutcome(
            OrderStatus.PROCESSING, order, message=_("We could not confirm the payment yet.")
        )
    return order_apply_intent(order=order, attempt=attempt, intent=intent, actor=actor)


def _attempts_record(attempts: list[PaymentAttempt]) -> set[int]:
    """Record the attempts, with their PaymentIntent ids, of orders still claimed by this call.

    Fenced: the orders whose claim token is still the one they were claimed with are locked, and
    only they get their attempt and PaymentIntent id written; a charger that slept through its
    claim timeout finds its orders taken over and records nothing. Returns the ids of the orders
    recorded. One transaction for the batch; after a database error, one per order.
    """
    if not attempts:
        return set()
    try:
        return _attempts_record_together(attempts)
    except DatabaseError:
        logger.exception("recording a batch of payment attempts failed; one by one now")
        _database_recover()
    recorded: set[int] = set()
    for attempt in attempts:
        try:
            recorded |= _attempts_record_together([attempt])
        except DatabaseError:
            logger.exception("recording the payment attempt of order %s failed", attempt.order_id)
            _database_recover()
    return recorded


@transaction.atomic
def _attempts_record_together(attempts: list[PaymentAttempt]) -> set[int]:
    tokens = {attempt.order.claim_token for attempt in attempts}
    owned = set(
        Order.objects.select_for_update()
        .filter(
            pk__in=[attempt.order.pk for attempt in attempts],
            claim_token__in=tokens,
            status=OrderStatus.PROCESSING,
        )
        .values_list("pk", "claim_token")
    )
    mine = [
        attempt for attempt in attempts if (attempt.order.pk, attempt.order.claim_token) in owned
    ]
    for attempt in attempts:
        if attempt not in mine:
            log_fenced(attempt.order, "record of its PaymentIntent")
    if not mine:
        return set()
    PaymentAttempt.objects.bulk_create(mine)
    with_intent = [attempt.order for attempt in mine if attempt.stripe_payment_intent_id]
    if with_intent:
        Order.objects.bulk_update(with_intent, ["stripe_payment_intent_id"])
    return {attempt.order.pk for attempt in mine}


def _paid_record(payments: list[Payment], actor: User | None) -> dict[int, ChargeOutcome]:
    """Mark the batch's paid orders paid together; after a database error, one by one."""
    if not payments:
        return {}
    try:
        return orders_record_paid(payments=payments, actor=actor)
    except DatabaseError:
        logger.exception("marking a batch of orders paid failed; one by one now")
        _database_recover()
    outcomes = {}
    for order, attempt, intent in payments:
        step = partial(_paid_one, order, attempt, intent, actor)
        outcomes[order.pk] = _isolated(order, step, attempt=attempt, actor=actor)
    return outcomes


def _paid_one(
    order: Order,
    attempt: PaymentAttempt,
    intent: stripe_gateway.PaymentIntentResult,
    actor: User | None,
) -> ChargeOutcome:
    return orders_record_paid(payments=[(order, attempt, intent)], actor=actor)[order.pk]


# A database error on one order --------------------------------------------------------------


def _isolated(
    order: Order,
    step: Callable[[], ChargeOutcome],
    *,
    attempt: PaymentAttempt | None = None,
    actor: User | None = None,
) -> ChargeOutcome:
    """Run one order's step; a database error (a killed connection) affects this order only.

    The connection is reopened for the next order. Once, this order is then settled from what
    Stripe says (``_settle_unknown``); if that fails too, it stays ``processing`` for the
    reconciliation, its PaymentIntent in flight.
    """
    try:
        return step()
    except DatabaseError as error:
        logger.exception("database error on order %s", order.pk, extra={"order_id": order.pk})
        _database_recover()
        if attempt is not None and attempt.stripe_payment_intent_id:
            try:
                return _settle_unknown(order, attempt, actor)
            except DatabaseError:
                logger.exception("settling order %s after a database error failed", order.pk)
                _database_recover()
        return ChargeOutcome(OrderStatus.PROCESSING, order, error=error)


def _database_recover() -> None:
    """Drop a connection a database error may have broken, so the next query opens a new one.

    Inside a transaction the caller's rollback decides; Django closes a connection whose
    rollback fails.
    """
    if not connection.in_atomic_block:
        connection.close()


def _retrying_once(read: Callable[[], T]) -> T:
    """A read that a dropped connection should not lose: tried again on a new connection."""
    try:
        return read()
    except DatabaseError:
        logger.exception("a read failed; trying again on a new connection")
        _database_recover()
        return read()
