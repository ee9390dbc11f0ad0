"""The Celery app. Periodic schedules are declared here, in one place."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerportal.settings")

app = Celery("partnerportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# One structured log line per task, tagged with its task id (core/celery_signals.py).
from core import celery_signals  # noqa: E402, F401

app.conf.beat_schedule = {
    # The billing cycle is idempotent: a second beat, or a run by hand, changes nothing twice.
    "billing-cycle-hourly": {
        "task": "billing.tasks.billing_cycle_run",
        "schedule": crontab(minute=5),
    },
    "support-auto-close-hourly": {
        "task": "support.tasks.service_requests_auto_close",
        "schedule": crontab(minute=35),
    },
    # Staff's background jobs whose worker is gone are ended; old jobs' files are deleted.
    "background-jobs-sweep": {
        "task": "billing.tasks.background_jobs_sweep",
        "schedule": crontab(minute="*/10"),
    },
}


@app.on_after_configure.connect
def _schedule_from_settings(sender: Celery, **kwargs) -> None:
    """Entries whose period is a setting, added once Django's settings can be read (this module
    is imported while they are still loading)."""
    # Unknown payment outcomes are settled minutes after the claim timeout, not hours.
    sender.conf.beat_schedule["billing-reconcile"] = {
        "task": "billing.tasks.billing_reconcile",
        "schedule": float(settings.PAYMENT_RECONCILE_EVERY_SECONDS),
    }
