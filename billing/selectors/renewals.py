"""Reads for the billing cycle: which renewals are due, which outcomes still need telling, expiry.

The renewal of term ``n + 1`` lives in one order row (unique per subscription and term, see
``billing.services.payments.renewal_order_for_next_term``). Its retry schedule is on that row:
``next_retry_on`` is the first day the next automatic attempt may be made (moved forward by the
same UPDATE that claims an attempt) and ``retries_stopped`` ends automatic attempts.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from billing.models import (
    LIVE_STATUSES,
    Order,
    OrderKind,
    OrderStatus,
    PaymentAttempt,
    ReminderKind,
    ReminderSent,
    Subscription,
)
from partnerportal import clock

# Our side or Stripe failed before anything reached the card (see ``payments.order_charge``):
# not the partner's problem, so it is tried again at the next run, without an email.
PROCESSING_ERROR = "processing_error"
# The subscription has no usable card: nothing to retry until the partner renews by hand.
PAYMENT_METHOD_MISSING = "payment_method_missing"
# Receipts and failure notices lost to a crash are still sent if the outcome is this recent.
FOLLOW_UP_WITHIN = dt.timedelta(days=7)


def grace_end(anniversary: dt.date) -> dt.date:
    """The last day of the grace window: a past-due subscription still works, and can be renewed."""
    return anniversary + dt.timedelta(days=settings.RENEWAL_GRACE_DAYS)


def retry_days(anniversary: dt.date) -> list[dt.date]:
    """The days automatic retries are made after a failed anniversary charge (1, 3, 7, 14)."""
    return [anniversary + dt.timedelta(days=days) for days in settings.RENEWAL_RETRY_DAYS]


def next_retry_on(*, anniversary: dt.date, today: dt.date) -> dt.date | None:
    """The first retry day after ``today``, or ``None`` when the schedule is used up."""
    return next((day for day in retry_days(anniversary) if day > today), None)


def no_more_retries_marker(anniversary: dt.date) -> dt.date:
    """The ``next_retry_on`` written when an attempt uses the last retry day.

    A date after the grace window, on which no renewal is ever due; the follow-up then stops
    retries for good (``retries_stopped``), and until it does nothing can claim the order again.
    """
    return grace_end(anniversary) + dt.timedelta(days=1)


def automatic_attempt_due(*, today: dt.date) -> Q:
    """On a pending or failed renewal order: an automatic attempt may be made today."""
    return Q(retries_stopped=False) & (
        Q(next_retry_on__isnull=True)
        | Q(next_retry_on__lte=today)
        | Q(failure_code=PROCESSING_ERROR)
    )


def automatic_renewal_blocker(*, subscription: Subscription, today: dt.date) -> str | None:
    """Why the job does not charge this subscription's renewal today (``None``: it does)."""
    if subscription.status not in LIVE_STATUSES:
        return "not live"
    if not subscription.auto_renew:
        return "auto-renew is off"
    if subscription.cancel_at_term_end:
        return "set to cancel at the end of the term"
    if today < subscription.current_term_end:
        return "anniversary not reached"
    if today > grace_end(subscription.current_term_end):
        return "grace window over"
    return None


def renewals_due(*, today: dt.date) -> QuerySet[Subscription]:
    """Auto-renewing live subscriptions whose renewal charge (first or retry) is due today.

    Due: the anniversary has come, the grace window is not over, and the next term's order does
    not exist yet or is pending/failed with an automatic attempt due (``automatic_attempt_due``).
    """
    grace = dt.timedelta(days=settings.RENEWAL_GRACE_DAYS)
    not_due = Order.objects.filter(
        subscription=OuterRef("pk"),
        kind=OrderKind.RENEWAL,
        term_number=OuterRef("term_number") + 1,
    ).exclude(
        Q(status__in=[OrderStatus.PENDING, OrderStatus.FAILED]) & automatic_attempt_due(today=today)
    )
    return (
        Subscription.objects.filter(
            status__in=LIVE_STATUSES,
            auto_renew=True,
            cancel_at_term_end=False,
            current_term_end__lte=today,
            current_term_end__gte=today - grace,
        )
        .exclude(Exists(not_due))
        .order_by("current_term_end", "pk")
    )


def renewal_orders_to_follow_up(*, now: dt.datetime | None = None) -> QuerySet[Order]:
    """Automatic renewal outcomes nobody has told the partner about yet.

    Normally the job that made the attempt follows it up at once; these are the ones a crash, a
    timeout or a reconciliation left behind: a paid renewal without its receipt, a failed one
    without its failure notice (and past-due state). Attempts made in the browser are not here:
    the person paying saw the outcome on the page.
    """
    now = now or clock.now()
    made_in_browser = PaymentAttempt.objects.filter(
        order=OuterRef("pk"), number=OuterRef("attempt_count"), off_session=False
    )
    charged_by_job = PaymentAttempt.objects.filter(
        order=OuterRef("pk"), status=PaymentAttempt.Status.SUCCEEDED, off_session=True
    )
    receipt_sent = ReminderSent.objects.filter(
        subscription=OuterRef("subscription"),
        term_number=OuterRef("term_number"),
        kind=ReminderKind.RENEWAL_RECEIPT,
    )
    failure_told = ReminderSent.objects.filter(
        subscription=OuterRef("subscription"),
        term_number=OuterRef("term_number"),
        kind=ReminderKind.RENEWAL_FAILED,
        attempt=OuterRef("attempt_count"),
    )
    unreported_failure = (
        Q(status=OrderStatus.FAILED, subscription__status__in=LIVE_STATUSES)
        & ~Q(failure_code=PROCESSING_ERROR)
        & ~Exists(made_in_browser)
        & ~Exists(failure_told)
        & Q(updated_at__gte=now - FOLLOW_UP_WITHIN)
    )
    unsent_receipt = (
        Q(status=OrderStatus.PAID, paid_at__gte=now - FOLLOW_UP_WITHIN)
        & Exists(charged_by_job)
        & ~Exists(receipt_sent)
    )
    return (
        Order.objects.filter(kind=OrderKind.RENEWAL, subscription__isnull=False)
        .filter(unreported_failure | unsent_receipt)
        .order_by("pk")
    )


def subscriptions_to_expire(*, today: dt.date) -> QuerySet[Subscription]:
    """Live subscriptions whose grace window ended before ``today``, with no charge in flight.

    A renewal being charged right now (``processing``) is settled first (the job or the
    reconciliation does it): if it was paid, the subscription renews instead of expiring.
    """
    grace = dt.timedelta(days=settings.RENEWAL_GRACE_DAYS)
    in_flight = Order.objects.filter(
        subscription=OuterRef("pk"),
        kind=OrderKind.RENEWAL,
        term_number=OuterRef("term_number") + 1,
        status=OrderStatus.PROCESSING,
    )
    return (
        Subscription.objects.filter(
            status__in=LIVE_STATUSES, current_term_end__lt=today - grace
        )
        .exclude(Exists(in_flight))
        .select_related("organization", "offer")
        .order_by("current_term_end", "pk")
    )


def renewal_orders_for_subscription(*, subscription: Subscription) -> QuerySet[Order]:
    """The subscription's renewal orders with their attempts, newest term first (staff pages)."""
    return (
        Order.objects.filter(subscription=subscription, kind=OrderKind.RENEWAL)
        .prefetch_related("attempts")
        .order_by("-term_number")
    )


def renewal_order_of_next_term(*, subscription: Subscription) -> Order | None:
    return Order.objects.filter(
        subscription=subscription,
        kind=OrderKind.RENEWAL,
        term_number=F("subscription__term_number") + 1,
    ).first()
