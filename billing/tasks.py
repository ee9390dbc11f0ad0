"""The billing cycle as Celery tasks. Beat runs ``billing_cycle_run`` (``partnerportal/celery.py``).

Thin doors into ``billing.services.renewals`` and ``billing.services.reminders``: each task
takes ids, loads, and calls one service. Every one is safe to run twice and concurrently (two
beats, a redelivery after a lost worker, ``run_billing_cycle`` by hand at the same time): the
services claim their work with conditional updates and unique rows.

Settings that make this hold (``partnerportal/settings.py``): ``acks_late`` and
``reject_on_worker_lost`` (a task cut off mid-way is delivered again, and the services make
that harmless), prefetch 1, JSON only, time limits. No task uses a countdown or an ETA: retry
days are dates in the database that the hourly cycle picks up, so nothing waits in the broker
longer than its visibility timeout.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from billing import stripe_gateway
from billing.selectors.payments import orders_to_reconcile, payment_attempts_to_close
from billing.selectors.renewals import renewals_due
from billing.services import background_jobs
from billing.services.cancellations import subscriptions_end_scheduled_cancellations
from billing.services.cycle_runs import billing_cycle_run_add, billing_cycle_run_start
from billing.services.expiry import subscriptions_expire
from billing.services.receipts import receipts_send_for
from billing.services.reconciliation import payment_attempts_close
from billing.services.reminders import reminders_send
from billing.services.renewals import (
    CycleReport,
    payments_reconcile,
    renewal_batches,
    renewals_follow_up_missed,
    subscriptions_renew_automatically,
)
from core import clock

logger = logging.getLogger(__name__)

# A database hiccup is worth another try soon; the services make the retry harmless. The
# longest backoff stays far below the broker's visibility timeout.
_DATABASE_RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 30,
    "retry_backoff_max": 300,
    "max_retries": 3,
}


def _queue_of(task) -> str | None:
    """The queue this task was delivered on: the cycle's tasks follow it there."""
    delivery = getattr(task.request, "delivery_info", None) or {}
    return delivery.get("routing_key") or None


@shared_task(bind=True, **_DATABASE_RETRY)
def billing_cycle_run(self) -> dict:
    """Fan the cycle out: one ``renewals_charge`` per batch of due subscriptions, and the rest.

    Tasks are queued once this task's reads are done (after commit: no transaction is open here,
    so nothing a task needs can be missing when it starts).
    """
    today = clock.today()
    queue = _queue_of(self)
    due = list(renewals_due(today=today).values_list("pk", flat=True))
    # The staff overview's "last run": its tasks add what they did and when they finished.
    run = {"run_id": billing_cycle_run_start(renewals_due=len(due)).pk}
    options = {"queue": queue} if queue else {}
    renewals = {"queue": settings.CELERY_RENEWALS_QUEUE}
    # Settle unknown outcomes and end scheduled cancellations before anything is charged.
    billing_reconcile.apply_async_on_commit(**options)
    billing_follow_up.apply_async_on_commit(kwargs=run, **options)
    billing_cancellations_end.apply_async_on_commit(kwargs=run, **options)
    for batch in renewal_batches(due):
        renewals_charge.apply_async_on_commit(args=[batch], kwargs=run, **renewals)
    billing_expire.apply_async_on_commit(kwargs=run, **options)
    billing_reminders_send.apply_async_on_commit(kwargs=run, **options)
    logger.info("billing cycle: %d renewals due", len(due), extra={"task": "billing_cycle_run"})
    return {"today": today.isoformat(), "renewals_due": len(due)}


# The hard time limit of a charging task is the claim timeout: past it, the reconciliation may
# take the batch's orders over (their charger is then certainly stopped).
_CHARGING_TIME_LIMITS = {
    "time_limit": settings.PAYMENT_CLAIM_TIMEOUT,
    "soft_time_limit": settings.PAYMENT_CLAIM_TIMEOUT - max(5, settings.PAYMENT_CLAIM_TIMEOUT // 6),
}


@shared_task(**_DATABASE_RETRY, **_CHARGING_TIME_LIMITS)
def renewals_charge(subscription_ids: list[int], run_id: int | None = None) -> dict:
    """Charge a batch of subscriptions' renewals, those (still) due; the service decides.

    Paced: every Stripe call takes a token from the jobs' share of the rate limit first.
    """
    with stripe_gateway.paced():
        results = subscriptions_renew_automatically(subscription_ids=subscription_ids)
    report = CycleReport(today=clock.today())
    for result in results:
        report.add(result)
    billing_cycle_run_add(
        run_id=run_id,
        renewals_charged=len(report.renewed),
        renewals_failed=len(report.failed),
        renewals_retried=report.retried,
    )
    errors = [result for result in results if result.error is not None]
    if errors:
        # Logged with its traceback by the service; the task fails so that it shows.
        raise errors[0].error
    return {str(result.subscription_id): str(result.outcome) for result in results}


# Stale payments are settled by tasks of this many orders each, run in parallel by the workers.
RECONCILE_CHUNK_SIZE = 25


@shared_task(bind=True, **_DATABASE_RETRY)
def billing_reconcile(self) -> dict:
    """Beat, every minute: settle stale payments in parallel chunks, close stray PaymentIntents.

    Cheap when there is nothing to do (two indexed queries), so it runs often: a partner charged
    during a fault sees the renewal minutes after the fault ends, not at the next hourly cycle.
    """
    order_ids = orders_to_reconcile()
    options = {"queue": queue} if (queue := _queue_of(self)) else {}
    for start in range(0, len(order_ids), RECONCILE_CHUNK_SIZE):
        chunk = order_ids[start : start + RECONCILE_CHUNK_SIZE]
        billing_reconcile_orders.apply_async_on_commit(args=[chunk], **options)
    closed = payment_attempts_close(attempt_ids=payment_attempts_to_close())
    return {"stale": len(order_ids), "strays_closed": closed}


@shared_task(**_DATABASE_RETRY)
def billing_reconcile_orders(order_ids: list[int]) -> int:
    """Settle a chunk of stale payments and follow the renewals among them up (paced)."""
    with stripe_gateway.paced():
        return payments_reconcile(order_ids=order_ids)


@shared_task(**_DATABASE_RETRY)
def billing_follow_up(run_id: int | None = None) -> int:
    """Tell partners outcomes a crash left untold (the hourly cycle)."""
    followed_up = renewals_follow_up_missed()
    billing_cycle_run_add(run_id=run_id)
    return followed_up


@shared_task(**_DATABASE_RETRY)
def billing_cancellations_end(run_id: int | None = None) -> int:
    ended = subscriptions_end_scheduled_cancellations(today=clock.today())
    billing_cycle_run_add(run_id=run_id)
    return ended


@shared_task(**_DATABASE_RETRY)
def billing_expire(run_id: int | None = None) -> list[int]:
    expired = subscriptions_expire(today=clock.today())
    billing_cycle_run_add(run_id=run_id, subscriptions_expired=len(expired))
    return expired


@shared_task(**_DATABASE_RETRY)
def billing_reminders_send(run_id: int | None = None) -> dict:
    sent = reminders_send(today=clock.today())
    billing_cycle_run_add(run_id=run_id, reminders_sent=sum(sent.values()))
    return dict(sent)


@shared_task(**_DATABASE_RETRY)
def billing_receipts_send(order_ids: list[int]) -> int:
    """The receipts of paid orders, with their invoices' PDFs: on the default queue, so that
    laying PDFs out never holds up a renewals worker (``billing.services.receipts``)."""
    return receipts_send_for(order_ids=order_ids)


@shared_task(**_DATABASE_RETRY)
def background_job_run(job_id: int) -> str:
    """Staff's long work, queued by the admin (``billing.services.background_jobs``): loading
    product keys, exporting invoices. The job is claimed first, so a redelivery does nothing."""
    job = background_jobs.background_job_run(job_id=job_id)
    return job.status if job else "not queued"


@shared_task(**_DATABASE_RETRY)
def background_jobs_sweep() -> str:
    """Beat, every ten minutes: jobs whose worker is gone are ended, old jobs' files deleted."""
    ended, files_deleted = background_jobs.background_jobs_sweep()
    return f"{ended} ended, files of {files_deleted} deleted"
