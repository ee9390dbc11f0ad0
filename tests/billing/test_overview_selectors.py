"""The staff overview's figures (``billing.selectors.overview``), each against the records."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from billing.models import (
    BillingCycleRun,
    Order,
    OrderKind,
    PaymentAttempt,
    Refund,
    ReminderKind,
    ReminderSent,
    SubscriptionEvent,
    SubscriptionStatus,
)
from billing.selectors.overview import (
    action_packs_by_month,
    billing_cycle_today,
    month_starts,
    past_due_in_grace,
    renewals_due_by_week,
    revenue_by_month,
)
from billing.services.cycle_runs import billing_cycle_run_add, billing_cycle_run_start
from billing.services.invoices import credit_note_issue
from core import clock
from tests.billing.factories import make_subscription

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def at_now(frozen_clock):
    clock.set_now(NOW)


def test_months_are_the_last_thirteen_oldest_first():
    months = month_starts(today=TODAY)

    assert months[0] == dt.date(2025, 12, 1)
    assert months[-1] == dt.date(2026, 12, 1)
    assert len(months) == 13


def test_renewals_due_are_counted_by_week_and_currency(contoso, fabrikam, offer):
    make_subscription(contoso, offer, anniversary=TODAY + dt.timedelta(days=1))
    make_subscription(fabrikam, offer, anniversary=TODAY + dt.timedelta(days=3))

    due = renewals_due_by_week(today=TODAY)

    assert due.weeks[0] == dt.date(2026, 12, 7)  # a Monday
    assert due.currencies == ["EUR", "USD"]
    assert due.counts["USD"][0] == 1 and due.counts["EUR"][0] == 1
    assert sum(due.counts["USD"]) == 1
    assert due.last_day == TODAY + dt.timedelta(days=90)


def test_subscriptions_set_to_end_or_ended_are_not_renewals_due(contoso, fabrikam, offer):
    make_subscription(
        contoso, offer, anniversary=TODAY + dt.timedelta(days=10), cancel_at_term_end=True
    )
    make_subscription(
        fabrikam,
        offer,
        anniversary=TODAY + dt.timedelta(days=10),
        status=SubscriptionStatus.CANCELED,
    )

    assert renewals_due_by_week(today=TODAY).currencies == []


def test_past_due_in_grace_lists_the_days_left(contoso, fabrikam, offer):
    make_subscription(
        contoso,
        offer,
        anniversary=TODAY - dt.timedelta(days=30),
        status=SubscriptionStatus.PAST_DUE,
    )
    make_subscription(
        fabrikam,
        offer,
        anniversary=TODAY - dt.timedelta(days=31),
        status=SubscriptionStatus.PAST_DUE,
    )

    past_due = past_due_in_grace(today=TODAY)

    # The grace window ends 30 days after the anniversary: today for Contoso; Fabrikam's is over
    # (the expiry job ends it), so it is not "in grace".
    assert past_due.count == 1
    assert [(row.subscription.organization.name, row.days_left) for row in past_due.soonest] == [
        ("Contoso Ltd", 0)
    ]


def test_revenue_is_net_of_tax_and_of_refunds(contoso, fabrikam, offer, root):
    make_subscription(contoso, offer, anniversary=TODAY + dt.timedelta(days=200))
    refunded = make_subscription(fabrikam, offer, started_on=TODAY - dt.timedelta(days=40))
    order = Order.objects.get(subscription=refunded)
    with transaction.atomic():
        refund = Refund.objects.create(order=order, amount=order.amount, currency=order.currency)
        credit_note_issue(refund=refund, issued_at=NOW)

    revenue = revenue_by_month(today=TODAY)

    usd, eur = revenue.amounts["USD"], revenue.amounts["EUR"]
    bought = TODAY + dt.timedelta(days=200) - dt.timedelta(days=365)
    assert usd[revenue.months.index(bought.replace(day=1))] == 47500  # net: no US VAT anyway
    assert eur[revenue.months.index(dt.date(2026, 10, 1))] == order.net_amount
    assert order.net_amount < order.amount or order.tax_amount == 0
    assert eur[-1] == -order.net_amount  # this month: the credit note


def test_action_packs_won_and_lost_by_month(contoso, fabrikam, offer):
    make_subscription(contoso, offer, started_on=dt.date(2026, 11, 3))
    make_subscription(
        fabrikam,
        offer,
        started_on=dt.date(2025, 10, 20),
        status=SubscriptionStatus.EXPIRED,
        ended_on=dt.date(2026, 11, 19),
    )

    packs = action_packs_by_month(today=TODAY)

    november = packs.months.index(dt.date(2026, 11, 1))
    assert packs.new[november] == 1 and sum(packs.new) == 1  # Fabrikam's started before
    assert packs.lost[november] == 1 and sum(packs.lost) == 1


def test_the_cycle_today_is_read_from_its_records(contoso, offer):
    subscription = make_subscription(contoso, offer, anniversary=TODAY)
    renewal = Order.objects.create(
        organization=contoso,
        offer=offer,
        subscription=subscription,
        kind=OrderKind.RENEWAL,
        term_number=2,
        amount=47500,
        currency="USD",
        status="paid",
        paid_at=NOW,
    )
    for number, status in [(1, "failed"), (2, "succeeded")]:
        PaymentAttempt.objects.create(
            order=renewal,
            number=number,
            off_session=True,
            status=status,
            idempotency_key=f"k{number}",
        )
    SubscriptionEvent.objects.create(subscription=subscription, kind="expired", created_at=NOW)
    ReminderSent.objects.create(
        subscription=subscription, term_number=1, kind=ReminderKind.EXPIRY_1, sent_at=NOW
    )
    ReminderSent.objects.create(
        subscription=subscription,
        term_number=1,
        kind=ReminderKind.EXPIRY_7,
        sent_at=NOW - dt.timedelta(days=1),
    )
    run = billing_cycle_run_start(renewals_due=1)

    cycle = billing_cycle_today(today=TODAY)

    assert (
        cycle.renewals_charged,
        cycle.renewals_failed,
        cycle.renewals_retried,
        cycle.subscriptions_expired,
        cycle.reminders_sent,
    ) == (1, 1, 1, 1, 1)
    assert cycle.last_run == run


def test_a_run_adds_what_its_tasks_did_and_when_the_last_finished():
    run = billing_cycle_run_start(renewals_due=5)
    clock.set_now(NOW + dt.timedelta(minutes=3))
    billing_cycle_run_add(run_id=run.pk, renewals_charged=4, renewals_failed=1)
    clock.set_now(NOW + dt.timedelta(minutes=2))  # a task that finished earlier reports late
    billing_cycle_run_add(run_id=run.pk, reminders_sent=2)
    billing_cycle_run_add(run_id=None, reminders_sent=9)

    run = BillingCycleRun.objects.get()

    assert (run.renewals_charged, run.renewals_failed, run.reminders_sent) == (4, 1, 2)
    assert run.duration == dt.timedelta(minutes=3)


def test_beats_run_is_recorded_and_its_tasks_report_to_it(contoso, offer, monkeypatch):
    from billing import tasks

    make_subscription(contoso, offer, anniversary=TODAY)
    queued = []
    for name in ("renewals_charge", "billing_expire", "billing_reminders_send"):
        task = getattr(tasks, name)
        monkeypatch.setattr(
            task,
            "apply_async_on_commit",
            lambda args=(), kwargs=None, task=task, **options: queued.append((task, kwargs)),
        )

    tasks.billing_cycle_run()

    run = BillingCycleRun.objects.get()
    assert run.renewals_due == 1
    assert {kwargs["run_id"] for _task, kwargs in queued} == {run.pk}
    clock.set_now(NOW + dt.timedelta(seconds=42))
    tasks.billing_reminders_send(run_id=run.pk)
    run.refresh_from_db()
    assert run.duration == dt.timedelta(seconds=42)
