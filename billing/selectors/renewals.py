"""Reads for the billing cycle: which renewals are due, which outcomes still need telling, expiry.

The renewal of term ``n + 1`` lives in one order row (unique per subscription and term, see
``billing.services.orders.renewal_order_for_next_term``). Its retry schedule is on that row:
``next_retry_on`` is the first day the next automatic attempt may be made (moved forward by the
same UPDATE that claims an attempt) and ``retries_stopped`` ends automatic attempts.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from billing.models import (
    CLAIMABLE_ORDER_STATUSES,
    LIVE_STATUSES,
    Order,
    OrderKind,
    OrderStatus,
    PaymentAttempt,
    ReminderKind,
    ReminderSent,
    Subscription,
)
from billing.tax import Rates, TaxQuote, organization_tax_quote
from billing.terms import anniversaries_renewable_on, grace_end
from core import clock
from offers.models import OfferPrice
from offers.selectors import offer_price

# Our side or Stripe failed before anything reached the card (see ``payments.order_charge``):
# not the partner's problem, so it is tried again at the next run, without an email, up to
# QUICK_RETRIES times a day. More than that is no hiccup (Stripe refuses the request, the card
# was deleted in Stripe): it is then a failure like a decline, emailed and retried on schedule.
PROCESSING_ERROR = "processing_error"
QUICK_RETRIES = 3
# Interrupted before anything could charge: a batch out of time, a charger stopped and taken
# over (docs/payments.md). Our capacity, not the partner's card nor Stripe refusing: always
# tried again at the next run, without an email and without counting as a processing error.
INTERRUPTED = "interrupted"
# Failures that are tried again at the next run instead of on the retry days.
RETRIED_AT_THE_NEXT_RUN = frozenset({PROCESSING_ERROR, INTERRUPTED})
# The subscription has no usable card: nothing to retry until the partner renews by hand.
PAYMENT_METHOD_MISSING = "payment_method_missing"
# Receipts and failure notices lost to a crash are still sent if the outcome is this recent.
FOLLOW_UP_WITHIN = dt.timedelta(days=7)


def renewal_quote(
    *, subscription: Subscription, price: OfferPrice | None = None, rates: Rates | None = None
) -> TaxQuote | None:
    """What renewing this subscription will charge: the offer's price in the organization's
    currency (``price`` when the caller has it) plus the tax of the billing profile as it stands
    today — what ``renewal_orders_for_next_term`` opens the renewal order at, what the upcoming
    renewal email and **Renew** announce. ``None`` when the offer is not sold in that currency.
    ``organization`` and ``offer`` must be loaded."""
    if price is None:
        price = offer_price(offer=subscription.offer, currency=subscription.organization.currency)
    if price is None:
        return None
    return organization_tax_quote(
        organization=subscription.organization, net=price.amount, rates=rates
    )


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
    return Q(retries_stopped=False) & (Q(next_retry_on__isnull=True) | Q(next_retry_on__lte=today))


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
    not exist yet or is pending/failed with an automatic attempt due (``automatic_attempt_due``;
    ``blocked`` below is its complement, written positively because Django builds it faster).
    """
    still_in_grace, _furthest = anniversaries_renewable_on(today)
    blocked = Order.objects.filter(
        subscription=OuterRef("pk"),
        kind=OrderKind.RENEWAL,
        term_number=OuterRef("term_number") + 1,
    ).filter(
        ~Q(status__in=CLAIMABLE_ORDER_STATUSES)
        | Q(retries_stopped=True)
        | Q(next_retry_on__gt=today)
    )
    return (
        Subscription.objects.filter(
            status__in=LIVE_STATUSES,
            auto_renew=True,
            cancel_at_term_end=False,
            current_term_end__lte=today,
            current_term_end__gte=still_in_grace,
        )
        .filter(~Exists(blocked))
        .order_by("current_term_end", "pk")
    )


def renewal_orders_to_follow_up(*, now: dt.datetime | None = None) -> list[Order]:
    """Automatic renewal outcomes nobody has told the partner about yet.

    Normally the job that made the attempt follows it up at once; these are the ones a crash, a
    timeout or a reconciliation left behind: a paid renewal without its receipt, a failed one
    without its failure notice (and past-due state), a processing error not yet retried. Attempts made in the browser are not here:
    the person paying saw the outcome on the page.

    Three plain queries (recent outcomes, their attempts, the emails already claimed) rather
    than one with four correlated subqueries: it runs every hour and usually finds nothing.
    """
    now = now or clock.now()
    since = now - FOLLOW_UP_WITHIN
    recent = list(
        Order.objects.filter(kind=OrderKind.RENEWAL, subscription__isnull=False)
        .filter(
            Q(status=OrderStatus.FAILED, claimed_at__gte=since)
            | Q(status=OrderStatus.PAID, paid_at__gte=since)
        )
        .select_related(
            "subscription__organization", "subscription__offer", "subscription__payment_method"
        )
        .prefetch_related("attempts")
        .order_by("pk")
    )
    if not recent:
        return []
    told = set(
        ReminderSent.objects.filter(
            subscription_id__in={order.subscription_id for order in recent},
            kind__in=[ReminderKind.RENEWAL_RECEIPT, ReminderKind.RENEWAL_FAILED],
        ).values_list("subscription_id", "term_number", "kind", "attempt")
    )
    untold = []
    for order in recent:
        attempts = {attempt.number: attempt for attempt in order.attempts.all()}
        if order.status == OrderStatus.PAID:
            charged_by_job = any(
                attempt.off_session and attempt.status == PaymentAttempt.Status.SUCCEEDED
                for attempt in attempts.values()
            )
            key = (order.subscription_id, order.term_number, ReminderKind.RENEWAL_RECEIPT, 0)
            if charged_by_job and key not in told:
                untold.append(order)
            continue
        latest = attempts.get(order.attempt_count)
        key = (
            order.subscription_id,
            order.term_number,
            ReminderKind.RENEWAL_FAILED,
            order.attempt_count,
        )
        # A processing error already made due again (a quick retry) needs nothing more.
        retried_soon = (
            order.failure_code in RETRIED_AT_THE_NEXT_RUN
            and order.next_retry_on is not None
            and order.next_retry_on <= now.date()
        )
        if (
            order.subscription.status in LIVE_STATUSES
            and (latest is None or latest.off_session)  # None: failed with no card to charge
            and key not in told
            and not retried_soon
        ):
            untold.append(order)
    return untold


def subscriptions_to_expire(*, today: dt.date) -> list[Subscription]:
    """Live subscriptions whose grace window ended before ``today``, with no charge in flight.

    A renewal being charged right now (``processing``) is settled first (the job or the
    reconciliation does it): if it was paid, the subscription renews instead of expiring.
    """
    still_in_grace, _furthest = anniversaries_renewable_on(today)
    ended = list(
        Subscription.objects.filter(status__in=LIVE_STATUSES, current_term_end__lt=still_in_grace)
        .select_related("organization", "offer")
        .order_by("current_term_end", "pk")
    )
    if not ended:
        return []
    in_flight = set(
        Order.objects.filter(
            subscription__in=ended, kind=OrderKind.RENEWAL, status=OrderStatus.PROCESSING
        ).values_list("subscription_id", "term_number")
    )
    return [
        subscription
        for subscription in ended
        if (subscription.pk, subscription.term_number + 1) not in in_flight
    ]
