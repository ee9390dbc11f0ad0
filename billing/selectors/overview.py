"""Reads for the staff overview (the admin's first page): the day's billing cycle, renewals to
come, past-due subscriptions, revenue and Action Packs won and lost.

Every figure is one aggregate in the database (COUNT/SUM with GROUP BY on a truncated date), so
the number of queries is the same for ten subscriptions as for a hundred thousand
(``tests/billing/test_overview_selectors.py``). Dates are UTC days from the one clock; the
windows are ``billing.terms``'.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth, TruncWeek

from billing.models import (
    LIVE_STATUSES,
    BillingCycleRun,
    Invoice,
    Order,
    OrderKind,
    PaymentAttempt,
    ReminderSent,
    Subscription,
    SubscriptionEvent,
    SubscriptionStatus,
)
from billing.selectors.membership import ACTION_PACK_CODE
from billing.terms import anniversaries_renewable_on, grace_end
from offers.models import Offer

# The months the revenue and Action Pack charts show: this one and the twelve before it.
MONTHS_SHOWN = 13
# The past-due subscriptions listed by name (the ones with the fewest days left); the figure
# above the list counts them all.
PAST_DUE_LISTED = 10
# An Action Pack is lost when its subscription ends: it expired, or it was canceled.
ENDED_STATUSES = (SubscriptionStatus.EXPIRED, SubscriptionStatus.CANCELED)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC moments a day starts and the next one starts (``[start, end)``)."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def month_starts(*, today: dt.date, count: int = MONTHS_SHOWN) -> list[dt.date]:
    """The first days of the last ``count`` months, oldest first, this month last."""
    year, month = today.year, today.month
    months = []
    for _step in range(count):
        months.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def week_start(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week (``TruncWeek``'s, ISO 8601)."""
    return day - dt.timedelta(days=day.weekday())


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


@dataclass(frozen=True)
class CycleToday:
    """What the billing cycle did today (UTC), from the records it wrote."""

    day: dt.date
    renewals_charged: int
    renewals_failed: int
    renewals_retried: int
    subscriptions_expired: int
    reminders_sent: int
    last_run: BillingCycleRun | None


def billing_cycle_today(*, today: dt.date) -> CycleToday:
    """Renewals charged (renewal orders paid today), failed and retried (today's off-session
    attempts that failed, and those after the first), expired (today's expiry events), reminders
    sent today, and the last run. Five queries."""
    start, end = day_bounds(today)
    charged = Order.objects.filter(kind=OrderKind.RENEWAL, paid_at__gte=start, paid_at__lt=end)
    attempts = PaymentAttempt.objects.filter(
        off_session=True, created_at__gte=start, created_at__lt=end
    ).aggregate(
        failed=Count("pk", filter=Q(status=PaymentAttempt.Status.FAILED)),
        retried=Count("pk", filter=Q(number__gt=1)),
    )
    return CycleToday(
        day=today,
        renewals_charged=charged.count(),
        renewals_failed=attempts["failed"],
        renewals_retried=attempts["retried"],
        subscriptions_expired=SubscriptionEvent.objects.filter(
            kind="expired", created_at__gte=start, created_at__lt=end
        ).count(),
        reminders_sent=ReminderSent.objects.filter(sent_at__gte=start, sent_at__lt=end).count(),
        last_run=BillingCycleRun.objects.order_by("-started_at", "-id").first(),
    )


@dataclass(frozen=True)
class WeeklyCounts:
    """Counts per week (Mondays, oldest first) and currency."""

    weeks: list[dt.date]
    currencies: list[str]
    counts: dict[str, list[int]] = field(default_factory=dict)
    first_day: dt.date | None = None
    last_day: dt.date | None = None


def renewals_due_by_week(*, today: dt.date) -> WeeklyCounts:
    """Live subscriptions that are not set to end, whose anniversary falls from today to the
    furthest one whose renewal window is open (90 days), by week and currency. One query."""
    _first, last = anniversaries_renewable_on(today)
    rows = (
        Subscription.objects.filter(
            status__in=LIVE_STATUSES,
            cancel_at_term_end=False,
            current_term_end__gte=today,
            current_term_end__lte=last,
        )
        .annotate(week=TruncWeek("current_term_end"))
        .values("week", "organization__currency")
        .annotate(count=Count("pk"))
        .order_by()
    )
    weeks = []
    monday = week_start(today)
    while monday <= last:
        weeks.append(monday)
        monday += dt.timedelta(days=7)
    found: dict[str, dict[dt.date, int]] = defaultdict(dict)
    for row in rows:
        found[row["organization__currency"]][_as_date(row["week"])] = row["count"]
    currencies = sorted(found)
    return WeeklyCounts(
        weeks=weeks,
        currencies=currencies,
        counts={
            currency: [found[currency].get(week, 0) for week in weeks] for currency in currencies
        },
        first_day=today,
        last_day=last,
    )


@dataclass(frozen=True)
class PastDue:
    subscription: Subscription
    grace_ends_on: dt.date
    days_left: int


@dataclass(frozen=True)
class PastDueInGrace:
    count: int
    soonest: list[PastDue]


def past_due_in_grace(*, today: dt.date, listed: int = PAST_DUE_LISTED) -> PastDueInGrace:
    """Past-due subscriptions whose grace window is still open, those that end soonest first,
    with the days left (0: it ends today; they expire the day after). Two queries."""
    first, _last = anniversaries_renewable_on(today)
    in_grace = Subscription.objects.filter(
        status=SubscriptionStatus.PAST_DUE, current_term_end__gte=first, current_term_end__lt=today
    )
    soonest = []
    for subscription in in_grace.select_related("organization", "offer").order_by(
        "current_term_end", "pk"
    )[:listed]:
        ends_on = grace_end(subscription.current_term_end)
        soonest.append(PastDue(subscription, ends_on, (ends_on - today).days))
    return PastDueInGrace(count=in_grace.count(), soonest=soonest)


@dataclass(frozen=True)
class MonthlyAmounts:
    """Amounts in minor units per month (first days, oldest first), per currency."""

    months: list[dt.date]
    currencies: list[str]
    amounts: dict[str, list[int]]


def revenue_by_month(*, today: dt.date) -> MonthlyAmounts:
    """Revenue net of tax by month and currency: invoices' net amounts minus credit notes' (a
    credit note's amounts are negative), by the month each document was issued. One query."""
    months = month_starts(today=today)
    start, _end = day_bounds(months[0])
    rows = (
        Invoice.objects.filter(issued_at__gte=start)
        .annotate(month=TruncMonth("issued_at"))
        .values("month", "currency")
        .annotate(net=Sum("net_amount"))
        .order_by()
    )
    found: dict[str, dict[dt.date, int]] = defaultdict(dict)
    for row in rows:
        found[row["currency"]][_as_date(row["month"])] = row["net"] or 0
    currencies = sorted(found)
    return MonthlyAmounts(
        months=months,
        currencies=currencies,
        amounts={
            currency: [found[currency].get(month, 0) for month in months] for currency in currencies
        },
    )


@dataclass(frozen=True)
class ActionPacksByMonth:
    months: list[dt.date]
    new: list[int]
    lost: list[int]
    offer_id: int | None


def action_packs_by_month(*, today: dt.date) -> ActionPacksByMonth:
    """Action Packs started (new) and ended — expired or canceled — (lost) by month. Three
    queries (the offer, the starts, the ends)."""
    months = month_starts(today=today)
    offer_id = Offer.objects.filter(code=ACTION_PACK_CODE).values_list("pk", flat=True).first()
    action_packs = Subscription.objects.filter(offer_id=offer_id)
    started = (
        action_packs.filter(started_on__gte=months[0])
        .annotate(month=TruncMonth("started_on"))
        .values("month")
        .annotate(count=Count("pk"))
        .order_by()
    )
    ended = (
        action_packs.filter(
            status__in=ENDED_STATUSES,
            ended_on__gte=months[0],
            ended_on__lte=today,
        )
        .annotate(month=TruncMonth("ended_on"))
        .values("month")
        .annotate(count=Count("pk"))
        .order_by()
    )
    new = {_as_date(row["month"]): row["count"] for row in started}
    lost = {_as_date(row["month"]): row["count"] for row in ended}
    return ActionPacksByMonth(
        months=months,
        new=[new.get(month, 0) for month in months],
        lost=[lost.get(month, 0) for month in months],
        offer_id=offer_id,
    )
