"""``manage.py run_billing_cycle``: every due step once, synchronously, and a report of what it did."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from billing.models import BillingCycleRun, Order
from core import clock
from membership.models import Organization
from tests.billing.renewal_helpers import (
    CARD_CHARGES_DECLINED,
    CARD_OK,
    card_on_file,
    moment,
    subscription_due_on,
    succeeded_payments,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

TODAY = dt.date(2025, 9, 15)


def organization(name: str, partner_id: str) -> Organization:
    return Organization.objects.create(
        name=name,
        partner_id=partner_id,
        country="US",
        currency="USD",
        network_member_since=dt.date(2024, 1, 1),
        contact_email=f"billing@{name.lower()}.example",
    )


def run() -> str:
    out = StringIO()
    call_command("run_billing_cycle", stdout=out)
    return out.getvalue()


def test_it_runs_every_due_step_and_says_what_it_did(localstripe, contoso, fabrikam, offer, alice):
    renewing = subscription_due_on(contoso, offer, TODAY, card=card_on_file(contoso, CARD_OK))
    declined = subscription_due_on(
        fabrikam,
        offer,
        TODAY - dt.timedelta(days=1),
        card=card_on_file(fabrikam, CARD_CHARGES_DECLINED),
    )
    northwind = organization("Northwind", "1000003")
    expiring = subscription_due_on(
        northwind, offer, TODAY - dt.timedelta(days=31), card=None, auto_renew=False
    )
    tailspin = organization("Tailspin", "1000004")
    subscription_due_on(tailspin, offer, TODAY + dt.timedelta(days=30), card=None, auto_renew=False)
    clock.set_now(moment(TODAY - dt.timedelta(days=1)))
    run()  # yesterday: fabrikam's anniversary, declined

    clock.set_now(moment(TODAY))
    output = run()

    assert output.splitlines() == [
        "Billing cycle for 2025-09-15",
        "  payments reconciled:         0",
        "  outcomes followed up late:   0",
        "  scheduled cancellations:     0",
        "  renewals charged:            1",
        "  renewals failed:             1",
        "  renewals retried:            1",
        "  renewals still processing:   0",
        "  subscriptions expired:       1",
        "  reminders sent:              1 (expiry_30 1)",
    ]
    renewing.refresh_from_db()
    declined.refresh_from_db()
    expiring.refresh_from_db()
    assert (renewing.status, renewing.term_number) == ("active", 2)
    assert declined.status == "past_due"
    assert Order.objects.get(subscription=declined, kind="renewal").attempt_count == 2
    assert expiring.status == "expired"
    assert len(succeeded_payments(localstripe, contoso.stripe_customer_id)) == 1
    # The run is recorded for the staff overview, with the same figures.
    last = BillingCycleRun.objects.first()
    assert last.started_at == moment(TODAY)
    assert (
        last.renewals_due,
        last.renewals_charged,
        last.renewals_failed,
        last.renewals_retried,
        last.subscriptions_expired,
        last.reminders_sent,
    ) == (2, 1, 1, 1, 1, 1)


def test_a_second_run_finds_nothing_left_to_do(localstripe, contoso, offer, alice):
    subscription_due_on(contoso, offer, TODAY, card=card_on_file(contoso, CARD_OK))
    clock.set_now(moment(TODAY))
    run()

    clock.set_now(moment(TODAY, dt.time(1, 5)))
    output = run()

    assert "  renewals charged:            0" in output.splitlines()
    assert "  reminders sent:              0" in output.splitlines()
    assert len(succeeded_payments(localstripe, contoso.stripe_customer_id)) == 1
