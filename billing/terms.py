"""A subscription's terms in time: anniversaries, the renewal window and the grace window.

(Not the terms and conditions a buyer accepts: those are ``offers.TermsVersion``.) The rules and
their numbers are in ``docs/product.md``; the numbers are settings. Each rule is computed here
once: every page, job, email, query and admin filter asks these functions.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from billing.models import Subscription


def anniversary_date(start: dt.date, years: int) -> dt.date:
    """``start`` moved ``years`` years on; 29 February becomes 28 February in common years."""
    year = start.year + years
    day = min(start.day, calendar.monthrange(year, start.month)[1])
    return dt.date(year, start.month, day)


def term_dates(*, started_on: dt.date, term_number: int) -> tuple[dt.date, dt.date]:
    """Start and end (the anniversary) of term ``term_number`` (1-based) of a subscription.

    Terms are anchored to the purchase date, so a 29 February purchase renews on 28 February in
    common years and on 29 February again in leap years: "each year on this date".
    """
    return (
        anniversary_date(started_on, term_number - 1),
        anniversary_date(started_on, term_number),
    )


def grace_end(anniversary: dt.date) -> dt.date:
    """The last day of the grace window after ``anniversary`` (``RENEWAL_GRACE_DAYS``).

    Until then a past-due subscription keeps its benefits and can be renewed by hand; the day
    after, it expires.
    """
    return anniversary + dt.timedelta(days=settings.RENEWAL_GRACE_DAYS)


@dataclass(frozen=True)
class RenewalWindow:
    opens_on: dt.date
    closes_on: dt.date

    def contains(self, day: dt.date) -> bool:
        return self.opens_on <= day <= self.closes_on


def _renewal_window_of(anniversary: dt.date) -> RenewalWindow:
    return RenewalWindow(
        opens_on=anniversary - dt.timedelta(days=settings.RENEWAL_WINDOW_DAYS_BEFORE),
        closes_on=grace_end(anniversary),
    )


def renewal_window(*, subscription: Subscription) -> RenewalWindow:
    """Manual renewal is open from ``RENEWAL_WINDOW_DAYS_BEFORE`` days before the anniversary
    to the end of its grace window."""
    return _renewal_window_of(subscription.current_term_end)


def anniversaries_renewable_on(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and the last anniversary whose renewal window contains ``today``, for queries
    on ``current_term_end``: the one whose grace window ends today, and the furthest one whose
    window has opened. It is ``renewal_window`` seen from the other side, so both always agree.
    """
    window = _renewal_window_of(today)
    return today - (window.closes_on - today), today + (today - window.opens_on)
