"""Which renewal reminders are due today (the reminder rules of docs/product.md).

Each reminder has a first day and runs until the next one of its series starts: if the cycle did
not run on the exact day (an outage, a deploy), the reminder still goes out late rather than not
at all, and a later one replaces it once its own day has come. Each is sent once per
subscription, term and kind (``ReminderSent``), so running the cycle again sends nothing twice.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch

from billing.models import (
    LIVE_STATUSES,
    PaymentMethod,
    ReminderKind,
    ReminderSent,
    Subscription,
    SubscriptionStatus,
)
from billing.terms import anniversaries_renewable_on, grace_end

# Reminders that depend on the calendar alone (the others follow charges: receipt, failure,
# expiry). ``ReminderSent.term_number`` is the subscription's term that is ending.
CALENDAR_KINDS = (
    ReminderKind.EXPIRY_30,
    ReminderKind.EXPIRY_15,
    ReminderKind.EXPIRY_7,
    ReminderKind.EXPIRY_1,
    ReminderKind.GRACE_STARTED,
    ReminderKind.GRACE_ENDING,
    ReminderKind.UPCOMING_RENEWAL,
    ReminderKind.CARD_EXPIRING,
)
EXPIRY_KINDS = {
    30: ReminderKind.EXPIRY_30,
    15: ReminderKind.EXPIRY_15,
    7: ReminderKind.EXPIRY_7,
    1: ReminderKind.EXPIRY_1,
}


@dataclass(frozen=True)
class ReminderDue:
    subscription: Subscription
    kind: str
    term_number: int
    due_on: dt.date  # the reminder's own day (the cycle may be a little late)


def card_last_valid_day(card: PaymentMethod) -> dt.date:
    """A card works until the last day of its expiry month."""
    return dt.date(
        card.exp_year, card.exp_month, calendar.monthrange(card.exp_year, card.exp_month)[1]
    )


def card_expires_before_renewal(subscription: Subscription) -> bool:
    card = subscription.payment_method
    if card is None or card.removed_at is not None:
        return False
    return card_last_valid_day(card) < subscription.current_term_end


def _windows(subscription: Subscription) -> list[tuple[str, dt.date, dt.date]]:
    """(kind, first day, last day) of each reminder this subscription gets in its current term."""
    anniversary = subscription.current_term_end
    last_grace_day = grace_end(anniversary)
    grace_ending = last_grace_day - dt.timedelta(days=settings.REMINDER_GRACE_END_DAYS)
    day = dt.timedelta(days=1)
    if subscription.auto_renew:
        upcoming = anniversary - dt.timedelta(days=settings.REMINDER_UPCOMING_RENEWAL_DAYS)
        windows = [(ReminderKind.UPCOMING_RENEWAL, upcoming, anniversary - day)]
        if card_expires_before_renewal(subscription):
            card_notice = anniversary - dt.timedelta(days=settings.REMINDER_CARD_EXPIRY_DAYS)
            windows.append((ReminderKind.CARD_EXPIRING, card_notice, anniversary - day))
        if subscription.status == SubscriptionStatus.PAST_DUE:
            # The renewal charge failed and was not paid since: the same last call before expiry
            # as with auto-renew off (each failure was emailed, but the last may be weeks ago).
            windows.append((ReminderKind.GRACE_ENDING, grace_ending, last_grace_day))
        return windows
    firsts = sorted(settings.REMINDER_DAYS_BEFORE_EXPIRY, reverse=True)  # 30, 15, 7, 1
    starts = [anniversary - dt.timedelta(days=days) for days in firsts]
    ends = [next_start - day for next_start in starts[1:]] + [anniversary - day]
    windows = [
        (EXPIRY_KINDS[days], start, end)
        for days, start, end in zip(firsts, starts, ends, strict=True)
        if days in EXPIRY_KINDS
    ]
    if subscription.status != SubscriptionStatus.PAST_DUE:
        # Past due: auto-renew was on at the anniversary and the failure notice said it all.
        windows.append((ReminderKind.GRACE_STARTED, anniversary, grace_ending - day))
    windows.append((ReminderKind.GRACE_ENDING, grace_ending, last_grace_day))
    return windows


def reminders_due(*, today: dt.date) -> list[ReminderDue]:
    """Every calendar reminder due today that has not been sent for the subscription's term."""
    # From the subscriptions whose grace window ends today to those whose first reminder is due.
    grace_not_over = anniversaries_renewable_on(today)[0]
    lead = max(
        max(settings.REMINDER_DAYS_BEFORE_EXPIRY),
        settings.REMINDER_UPCOMING_RENEWAL_DAYS,
        settings.REMINDER_CARD_EXPIRY_DAYS,
    )
    candidates = (
        Subscription.objects.filter(
            status__in=LIVE_STATUSES,
            cancel_at_term_end=False,
            current_term_end__lte=today + dt.timedelta(days=lead),
            current_term_end__gte=grace_not_over,
        )
        .select_related("organization", "offer", "payment_method")
        .prefetch_related(
            Prefetch(
                "reminders",
                queryset=ReminderSent.objects.filter(kind__in=CALENDAR_KINDS).only(
                    "subscription_id", "term_number", "kind"
                ),
                to_attr="calendar_reminders",
            )
        )
        .order_by("current_term_end", "pk")
    )
    due = []
    for subscription in candidates:
        sent = {
            reminder.kind
            for reminder in subscription.calendar_reminders
            if reminder.term_number == subscription.term_number
        }
        for kind, first_day, last_day in _windows(subscription):
            if first_day <= today <= last_day and kind not in sent:
                due.append(ReminderDue(subscription, kind, subscription.term_number, first_day))
    return due
