"""The one clock. Every "now" and "today" in the portal comes from here, so tests can move it."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from django.utils import timezone

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return _frozen if _frozen is not None else timezone.now()


def today() -> dt.date:
    """Today's date in UTC (anniversaries and renewal windows are UTC dates)."""
    return now().astimezone(dt.UTC).date()


def set_now(moment: dt.datetime | None) -> None:
    """Freeze the clock at ``moment`` (aware), or unfreeze it with ``None``. For tests only
    (``frozen_at`` also serves the demo data)."""
    global _frozen
    if moment is not None and timezone.is_naive(moment):
        raise ValueError("The clock takes aware datetimes only.")
    _frozen = moment


@contextmanager
def frozen_at(moment: dt.datetime):
    """Run a block at ``moment``. Tests, and ``seed_demo``, which builds each demo organization's
    past (a purchase a year ago, a declined renewal) through the services on the day it happened;
    never a request or a job."""
    previous = _frozen
    set_now(moment)
    try:
        yield
    finally:
        set_now(previous)
