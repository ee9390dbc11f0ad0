"""The record of each billing cycle run (``BillingCycleRun``), for the staff overview.

Beat's run fans out into tasks (``billing.tasks``): the fan-out task opens the record and every
task it queued adds its counts and moves ``finished_at`` on when it is done, so the record's
duration is from the start of the run to the end of its last task. A task delivered twice adds
twice: the counts are what the tasks did, a guide for staff, not a ledger (the overview's figures
for the day come from the orders, attempts and reminders themselves).
"""

from __future__ import annotations

from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest

from billing.models import BillingCycleRun
from core import clock


def billing_cycle_run_start(*, renewals_due: int) -> BillingCycleRun:
    return BillingCycleRun.objects.create(
        started_at=clock.now(), finished_at=clock.now(), renewals_due=renewals_due
    )


def billing_cycle_run_add(
    *,
    run_id: int | None,
    renewals_due: int = 0,
    renewals_charged: int = 0,
    renewals_failed: int = 0,
    renewals_retried: int = 0,
    subscriptions_expired: int = 0,
    reminders_sent: int = 0,
) -> None:
    """Add a finished step's counts to run ``run_id`` (nothing for ``None``: a task queued by
    hand or by an older beat) in one UPDATE, safe against the run's other tasks."""
    if run_id is None:
        return
    now = clock.now()
    BillingCycleRun.objects.filter(pk=run_id).update(
        finished_at=Greatest(Coalesce(F("finished_at"), Value(now)), Value(now)),
        renewals_due=F("renewals_due") + renewals_due,
        renewals_charged=F("renewals_charged") + renewals_charged,
        renewals_failed=F("renewals_failed") + renewals_failed,
        renewals_retried=F("renewals_retried") + renewals_retried,
        subscriptions_expired=F("subscriptions_expired") + subscriptions_expired,
        reminders_sent=F("reminders_sent") + reminders_sent,
    )
