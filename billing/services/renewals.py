"""The billing cycle: automatic renewal charges, retries, follow-ups (docs/product.md's rules);
expiry is ``billing.services.expiry``.

**Exactly once.** A renewal is charged through ``billing.services.payments``: the one order of
the next term (unique per subscription and term), claimed by a conditional UPDATE before Stripe
is called, an idempotency key derived from the attempt row, unknown outcomes reconciled by
looking the PaymentIntent up. On top of that, the automatic renewal claims only an order whose
retry is *due* and moves ``next_retry_on`` to the next retry day in that same UPDATE: a second
beat, a task delivered twice or the cycle run by hand finds nothing left to claim.

**Follow-up.** What an attempt means for the partner (receipt; past due, failure email, retry
schedule) is applied by the job that made it, right after, and claimed with a ``ReminderSent``
row per attempt. A crash in between, a timeout settled later by the reconciliation, is picked
up by the next cycle (``renewal_orders_to_follow_up``), so nothing is lost and nothing is told
twice.

**Batches.** The cycle renews due subscriptions ``settings.RENEWAL_BATCH_SIZE`` at a time (one task
each): a batch costs a fixed number of queries, so a renewal costs a fraction of one, and each
subscription in it gets exactly what renewing it alone would give (``subscription_renew_
automatically`` is a batch of one).

Every function here takes ids or plain values and is safe to run twice and concurrently. Call
them outside a transaction (tasks, the command and admin actions do): each commits its own
steps, and emails go out after their claim has committed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from billing import emails
from billing.models import (
    CLAIMABLE_ORDER_STATUSES,
    Order,
    OrderKind,
    OrderStatus,
    ReminderKind,
    Subscription,
    SubscriptionStatus,
)
from billing.selectors.payments import orders_to_reconcile, payment_attempts_to_close
from billing.selectors.renewals import (
    PAYMENT_METHOD_MISSING,
    PROCESSING_ERROR,
    QUICK_RETRIES,
    RETRIED_AT_THE_NEXT_RUN,
    automatic_attempt_due,
    automatic_renewal_blocker,
    next_retry_on,
    no_more_retries_marker,
    renewal_orders_to_follow_up,
    renewals_due,
)
from billing.services.cancellations import subscriptions_end_scheduled_cancellations
from billing.services.cycle_runs import billing_cycle_run_add, billing_cycle_run_start
from billing.services.expiry import subscriptions_expire
from billing.services.orders import order_change_card, renewal_orders_for_next_terms
from billing.services.payments import order_chargeable, orders_charge
from billing.services.receipts import receipts_send_later
from billing.services.reconciliation import orders_reconcile, payment_attempts_close
from billing.services.reminders import (
    billing_recipients,
    email_deliver,
    reminder_claim,
    reminders_send,
)
from billing.services.subscriptions import subscription_record_event
from billing.terms import grace_end
from core import clock
from membership.models import User

logger = logging.getLogger(__name__)


class RenewalOutcome(StrEnum):
    RENEWED = "renewed"  # paid: the new term started
    FAILED = "failed"  # declined (or no card): past due, the partner was told
    PENDING = "pending"  # outcome unknown for now: the reconciliation settles it
    SKIPPED = "skipped"  # nothing to do: not due, or someone else is on it


@dataclass(frozen=True)
class RenewalResult:
    subscription_id: int
    outcome: RenewalOutcome
    retry: bool = False  # an automatic attempt after an earlier one failed
    order_id: int | None = None
    reason: str = ""
    # An unexpected error (a crash mid-charge): logged; the order waits for the reconciliation.
    error: BaseException | None = field(default=None, compare=False)


# Charging ------------------------------------------------------------------------------------


def renewal_batches(subscription_ids: Sequence[int]) -> list[list[int]]:
    """Due subscriptions in batches of ``RENEWAL_BATCH_SIZE`` (one task, one service call each).

    The database work of a batch is a fixed number of statements, so a renewal costs a fraction
    of one. Batches are small (20) because the jobs are paced to Stripe's rate limit: in test
    mode (25 requests a second) two dozen batches at once still end each within its deadline.
    """
    size = settings.RENEWAL_BATCH_SIZE
    ids = list(subscription_ids)
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def subscription_renew_automatically(
    *, subscription_id: int, staff: User | None = None
) -> RenewalResult:
    """Charge the subscription's renewal for its next term, if it is due. Safe to call any time.

    ``subscriptions_renew_automatically`` for one subscription; an unexpected error (a crash
    mid-charge) is raised, after everything before it is on record.
    """
    result = subscriptions_renew_automatically(subscription_ids=[subscription_id], staff=staff)[0]
    if result.error is not None:
        raise result.error
    return result


def subscriptions_renew_automatically(
    *, subscription_ids: Sequence[int], staff: User | None = None
) -> list[RenewalResult]:
    """Charge each subscription's renewal for its next term, if it is due. Safe to call any time.

    To the subscription's card, off-session, at the offer's current price in the organization's
    currency (``renewal_orders_for_next_terms``), a batch at a time (``orders_charge``). Paid:
    the term moves (``orders_mark_paid``) and a receipt goes out. Declined: past due, an email,
    the next retry day; a hard decline or "authentication required" stops automatic retries and
    asks the partner to renew by hand.

    ``staff`` retries now instead of on the schedule (the admin's "Retry renewal charge"),
    even after automatic retries stopped; the claim and its guarantees are the same.
    """
    today = clock.today()
    loaded = Subscription.objects.select_related("organization", "offer", "payment_method").in_bulk(
        list(subscription_ids)
    )
    results: dict[int, RenewalResult] = {}
    due: list[Subscription] = []
    for subscription_id in subscription_ids:
        subscription = loaded.get(subscription_id)
        blocker = (
            "no such subscription"
            if subscription is None
            else automatic_renewal_blocker(subscription=subscription, today=today)
        )
        if blocker:
            results[subscription_id] = RenewalResult(
                subscription_id, RenewalOutcome.SKIPPED, reason=blocker
            )
        else:
            due.append(subscription)

    orders = renewal_orders_for_next_terms(subscriptions=due)
    condition = automatic_attempt_due(today=today) if staff is None else None
    charging: dict[int, tuple[Subscription, Order]] = {}
    updates: dict[int, dict] = {}
    for subscription in due:
        order = orders.get(subscription.pk)
        if order is None:
            results[subscription.pk] = RenewalResult(
                subscription.pk, RenewalOutcome.SKIPPED, reason="not sold in this currency"
            )
            continue
        if order.status not in CLAIMABLE_ORDER_STATUSES:
            results[subscription.pk] = RenewalResult(
                subscription.pk, RenewalOutcome.SKIPPED, order_id=order.pk, reason=order.status
            )
            continue
        card = subscription.payment_method
        if card is not None and card.removed_at is None and order.payment_method_id != card.pk:
            # The subscription's card changed since the order was opened: renewals go to it.
            order_change_card(order=order, payment_method=card)
            order.refresh_from_db()
            order.payment_method = card
        order.organization = subscription.organization  # already loaded: spare the queries
        order.subscription = subscription
        if not order_chargeable(order):
            results[subscription.pk] = _renewal_without_card(
                subscription, order, condition=condition, retry=order.status == OrderStatus.FAILED
            )
            continue
        charging[order.pk] = (subscription, order)
        if staff is None:
            # Written by the claim itself: once this attempt is made, the next one waits.
            anniversary = subscription.current_term_end
            updates[order.pk] = {
                "next_retry_on": next_retry_on(anniversary=anniversary, today=today)
                or no_more_retries_marker(anniversary)
            }

    retries = {pk for pk, (_s, order) in charging.items() if order.status == OrderStatus.FAILED}
    outcomes = orders_charge(
        orders=[order for _subscription, order in charging.values()],
        off_session=True,
        actor=staff,
        claim_condition=condition,
        claim_updates=updates,
    )
    receipts: list[Order] = []
    for order_pk, (subscription, _order) in charging.items():
        outcome = outcomes[order_pk]
        retry = order_pk in retries
        if outcome.error is not None:
            # Crashed mid-charge: its order stays claimed; the reconciliation settles it.
            result = RenewalResult(
                subscription.pk, RenewalOutcome.PENDING, retry, order_pk, error=outcome.error
            )
        elif not outcome.attempted:
            result = RenewalResult(
                subscription.pk, RenewalOutcome.SKIPPED, order_id=order_pk, reason=outcome.status
            )
        elif outcome.status == OrderStatus.PAID:
            receipts.append(outcome.order)
            result = RenewalResult(subscription.pk, RenewalOutcome.RENEWED, retry, order_pk)
        else:
            followed = renewal_follow_up(
                order=outcome.order, subscription=subscription, actor=staff
            )
            result = RenewalResult(subscription.pk, followed, retry, order_pk)
        results[subscription.pk] = result
    receipts_send_later(orders=receipts)
    return [results[subscription_id] for subscription_id in subscription_ids]


def subscription_retry_renewal(*, subscription_id: int, staff: User) -> RenewalResult:
    """Staff: charge a past-due subscription's renewal now (the admin's "Retry renewal charge").

    The same service as the cycle, with the same claim: if a job or the partner is charging the
    order at this moment, nothing more is charged.
    """
    if not Subscription.objects.filter(
        pk=subscription_id, status=SubscriptionStatus.PAST_DUE
    ).exists():
        return RenewalResult(subscription_id, RenewalOutcome.SKIPPED, reason="not past due")
    return subscription_renew_automatically(subscription_id=subscription_id, staff=staff)


def _renewal_without_card(
    subscription: Subscription, order: Order, *, condition: Q | None, retry: bool
) -> RenewalResult:
    """No usable card (or Stripe customer): fail the attempt without calling Stripe, stop retries."""
    claimable = Order.objects.filter(pk=order.pk, status__in=CLAIMABLE_ORDER_STATUSES)
    if condition is not None:
        claimable = claimable.filter(condition)
    # Counted as an attempt (with no PaymentAttempt: nothing was sent to Stripe) so that its
    # failure email has a number of its own.
    failed = claimable.update(
        status=OrderStatus.FAILED,
        attempt_count=F("attempt_count") + 1,
        failure_code=PAYMENT_METHOD_MISSING,
        failure_message=_("There is no card on file to charge."),
        retries_stopped=True,
        next_retry_on=None,
        claimed_at=clock.now(),
        updated_at=clock.now(),
    )
    if not failed:
        return RenewalResult(subscription.pk, RenewalOutcome.SKIPPED, order_id=order.pk)
    order.refresh_from_db()
    renewal_follow_up(order=order, subscription=subscription)
    return RenewalResult(subscription.pk, RenewalOutcome.FAILED, retry=retry, order_id=order.pk)


# Following up --------------------------------------------------------------------------------


def renewal_follow_up(
    *, order: Order, subscription: Subscription | None = None, actor: User | None = None
) -> RenewalOutcome:
    """Tell the partner what the order's latest automatic attempt did, and apply it. Once.

    Paid: the receipt. Failed: past due, the attempt in the subscription's history, the retry
    schedule (stopped after the last retry day), the failure email. A processing error (our
    side or Stripe down; the card was never asked) is retried at the next run without telling
    anyone, up to ``QUICK_RETRIES`` times a day, and then counts as a failure; an interruption
    (nothing could charge) is always retried at the next run. Anything else
    (being charged, waiting for 3-D Secure) is left as it is.
    """
    subscription = subscription or order.subscription
    if order.status == OrderStatus.PAID:
        receipts_send_later(orders=[order])
        return RenewalOutcome.RENEWED
    if order.status != OrderStatus.FAILED:
        return RenewalOutcome.PENDING
    if order.failure_code in RETRIED_AT_THE_NEXT_RUN and _retry_soon(order):
        return RenewalOutcome.PENDING
    _renewal_failed(order=order, subscription=subscription, actor=actor)
    return RenewalOutcome.FAILED


def _retry_soon(order: Order) -> bool:
    """Make the order due again at the next run: always after an interruption, a few times a
    day after a processing error."""
    if order.retries_stopped:
        return False
    today = clock.today()
    if order.failure_code == PROCESSING_ERROR:
        errors_today = order.attempts.filter(
            failure_code=PROCESSING_ERROR, created_at__date=today
        ).count()
        if errors_today >= QUICK_RETRIES:
            return False
    Order.objects.filter(
        pk=order.pk, status=OrderStatus.FAILED, attempt_count=order.attempt_count
    ).update(next_retry_on=today)
    order.next_retry_on = today
    return True


def _renewal_failed(*, order: Order, subscription: Subscription, actor: User | None) -> None:
    recipients = billing_recipients(subscription=subscription)
    with transaction.atomic():
        if not reminder_claim(
            subscription=subscription,
            term_number=order.term_number,
            kind=ReminderKind.RENEWAL_FAILED,
            attempt=order.attempt_count,
            recipients=recipients,
        ):
            return  # this attempt was followed up already
        anniversary = subscription.current_term_end
        exhausted = order.next_retry_on is not None and order.next_retry_on > grace_end(anniversary)
        if order.retries_stopped or exhausted:
            Order.objects.filter(pk=order.pk, attempt_count=order.attempt_count).update(
                retries_stopped=True, next_retry_on=None
            )
            order.retries_stopped, order.next_retry_on = True, None
        became_past_due = Subscription.objects.filter(
            pk=subscription.pk,
            status=SubscriptionStatus.ACTIVE,
            term_number=order.term_number - 1,
        ).update(status=SubscriptionStatus.PAST_DUE, updated_at=clock.now())
        from_status = SubscriptionStatus.ACTIVE if became_past_due else subscription.status
        subscription.status = SubscriptionStatus.PAST_DUE
        if order.retries_stopped:
            what_next = "Automatic retries stopped: the partner must renew by hand."
        else:
            what_next = f"Next automatic retry on {order.next_retry_on:%Y-%m-%d}."
        subscription_record_event(
            subscription=subscription,
            kind="renewal_failed",
            from_status=from_status,
            to_status=SubscriptionStatus.PAST_DUE,
            actor=actor,
            actor_label="" if actor else "billing cycle",
            note=(
                f"Renewal attempt {order.attempt_count} for term {order.term_number} failed "
                f"({order.failure_code}: {order.failure_message}). {what_next}"
            ),
        )
    email_deliver(
        lambda people: emails.email_renewal_failed(
            order=order, subscription=subscription, recipients=people
        ),
        recipients,
        what=f"renewal_failed for subscription {subscription.pk}",
    )


def payments_reconcile(*, order_ids: Sequence[int]) -> int:
    """Settle stale payments (``billing.services.reconciliation``) and tell partners what the
    renewals among them came to (receipt, failure notice, a quick retry). Returns how many
    orders were settled."""
    outcomes = orders_reconcile(order_ids=order_ids)
    settled = [
        outcome.order for outcome in outcomes.values() if outcome.status != OrderStatus.PROCESSING
    ]
    for order in settled:
        # Like ``renewal_orders_to_follow_up``: someone renewing by hand saw it on the page.
        # (An attempt interrupted before its row was written was the job's, or is retried by it.)
        by_hand = order.attempts.filter(number=order.attempt_count, off_session=False).exists()
        if order.kind == OrderKind.RENEWAL and order.subscription_id is not None and not by_hand:
            renewal_follow_up(order=order)
    return len(settled)


def payments_reconcile_all() -> int:
    """Every stale payment and every stray PaymentIntent, here and now (the command, tests)."""
    settled = payments_reconcile(order_ids=orders_to_reconcile())
    payment_attempts_close(attempt_ids=payment_attempts_to_close())
    return settled


def renewals_follow_up_missed(*, now: dt.datetime | None = None) -> int:
    """Follow up outcomes a crash or a reconciliation left untold. Returns how many."""
    untold = renewal_orders_to_follow_up(now=now)
    for order in untold:
        renewal_follow_up(order=order)
    return len(untold)


# The whole cycle, by hand --------------------------------------------------------------------


@dataclass
class CycleReport:
    """What one run of the billing cycle did (``run_billing_cycle`` prints it)."""

    today: dt.date
    reconciled: int = 0
    followed_up: int = 0
    cancellations_ended: int = 0
    renewed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)
    retried: int = 0
    expired: list[int] = field(default_factory=list)
    reminders: Counter[str] = field(default_factory=Counter)
    errors: list[int] = field(default_factory=list)  # renewals that raised (see the log)

    def add(self, result: RenewalResult) -> None:
        if result.error is not None:
            self.errors.append(result.subscription_id)  # logged where it happened
            return
        if result.outcome == RenewalOutcome.SKIPPED:
            return
        self.retried += result.retry
        {
            RenewalOutcome.RENEWED: self.renewed,
            RenewalOutcome.FAILED: self.failed,
            RenewalOutcome.PENDING: self.pending,
        }[result.outcome].append(result.subscription_id)


def billing_cycle_run_now() -> CycleReport:
    """Run every due step of the billing cycle once, here and now (the command; tests).

    The order matters: settle unknown outcomes first (a paid one must renew, not expire), tell
    what was left untold, end scheduled cancellations before charging, then charge, expire and
    remind. The Celery cycle (``billing.tasks``) runs the same steps as separate tasks.
    """
    report = CycleReport(today=clock.today())
    run = billing_cycle_run_start(renewals_due=0)
    report.reconciled = payments_reconcile_all()
    report.followed_up = renewals_follow_up_missed()
    report.cancellations_ended = subscriptions_end_scheduled_cancellations(today=report.today)
    due = list(renewals_due(today=report.today).values_list("pk", flat=True))
    for batch in renewal_batches(due):
        try:
            results = subscriptions_renew_automatically(subscription_ids=batch)
        except Exception:
            # One batch's trouble (a bug, the database gone) must not stop the others. Orders
            # it claimed stay claimed; the reconciliation settles them at the next run.
            logger.exception("renewal of subscriptions %s failed", batch)
            report.errors.extend(batch)
            continue
        for result in results:
            report.add(result)
    report.expired = subscriptions_expire(today=report.today)
    report.reminders = reminders_send(today=report.today)
    billing_cycle_run_add(
        run_id=run.pk,
        renewals_due=len(due),
        renewals_charged=len(report.renewed),
        renewals_failed=len(report.failed),
        renewals_retried=report.retried,
        subscriptions_expired=len(report.expired),
        reminders_sent=sum(report.reminders.values()),
    )
    return report
