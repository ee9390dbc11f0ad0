"""A real Celery worker on the real Redis broker charges a due renewal through beat's task.

Needs PostgreSQL (the worker process must share the test database) and REDIS_URL: CI has both.
The task is sent by the name beat's schedule declares, so a renamed task or a broken schedule
entry fails here, and the fan-out it does (one ``renewals_charge`` per batch of due subscriptions) has to
reach the same worker through the broker.
"""

from __future__ import annotations

import pytest

from billing.models import Order, ReminderKind, ReminderSent
from core import clock
from partnerportal.celery import app
from tests.billing.renewal_helpers import (
    CARD_CHARGES_DECLINED,
    CARD_OK,
    card_on_file,
    subscription_due_on,
    succeeded_payments,
)

pytestmark = pytest.mark.django_db(transaction=True)


def beat_send_billing_cycle() -> None:
    """What beat does every hour: send the task its schedule names."""
    entry = app.conf.beat_schedule["billing-cycle-hourly"]
    app.send_task(entry["task"])


def test_beats_task_charges_a_due_renewal_once(
    celery_worker_process, localstripe, contoso, fabrikam, offer, alice, charlie
):
    today = clock.today()  # the worker runs on the real clock
    renewing = subscription_due_on(contoso, offer, today, card=card_on_file(contoso, CARD_OK))
    declined = subscription_due_on(
        fabrikam, offer, today, card=card_on_file(fabrikam, CARD_CHARGES_DECLINED)
    )

    beat_send_billing_cycle()
    beat_send_billing_cycle()  # a second beat, or the same hour delivered twice
    # Both due subscriptions fit in one batch: one renewals_charge per beat.
    celery_worker_process.wait_for_tasks("billing.tasks.renewals_charge", count=2, timeout=90)

    renewing.refresh_from_db()
    assert (renewing.status, renewing.term_number) == ("active", 2)
    order = Order.objects.get(subscription=renewing, kind="renewal")
    assert order.status == "paid"
    assert len(succeeded_payments(localstripe, contoso.stripe_customer_id)) == 1
    declined.refresh_from_db()
    assert declined.status == "past_due"
    assert Order.objects.get(subscription=declined, kind="renewal").attempt_count == 1
    assert ReminderSent.objects.filter(kind=ReminderKind.RENEWAL_RECEIPT).count() == 1
