"""The billing cycle renews in batches (``subscriptions_renew_automatically``), on localstripe.

A batch must give every subscription exactly what renewing it alone gives (the single-renewal
tests in ``test_renewals.py`` run through a batch of one), cost a fixed number of queries
whatever its size, and never leave a charge half-done when it stops early.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import BenefitGrant, Order, OrderStatus, ReminderKind, ReminderSent
from billing.services import payments
from billing.services.renewals import (
    RenewalOutcome,
    renewal_batches,
    subscriptions_renew_automatically,
)
from core import clock
from tests.billing.renewal_helpers import (
    CARD_CHARGES_DECLINED,
    CARD_OK,
    card_on_file,
    moment,
    partners_due_on,
    subscription_due_on,
    succeeded_payments,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

ANNIVERSARY = dt.date(2025, 3, 10)


def partners(offer, count: int, *, card_number: str = CARD_OK, first: int = 0) -> list:
    """``count`` organizations, each with its own card and a subscription due on ANNIVERSARY."""
    return partners_due_on(offer, ANNIVERSARY, [card_number] * count, first=first)


def test_a_batch_gives_each_subscription_its_own_outcome(
    localstripe, contoso, fabrikam, offer, alice, charlie, mailoutbox
):
    renewing = subscription_due_on(contoso, offer, ANNIVERSARY, card=card_on_file(contoso))
    declined = subscription_due_on(
        fabrikam, offer, ANNIVERSARY, card=card_on_file(fabrikam, CARD_CHARGES_DECLINED)
    )
    [without_card] = partners(offer, 1)
    without_card.payment_method = None
    without_card.save()
    [auto_renew_off] = partners(offer, 1, first=1)
    auto_renew_off.auto_renew = False
    auto_renew_off.save()
    clock.set_now(moment(ANNIVERSARY))

    results = subscriptions_renew_automatically(
        subscription_ids=[renewing.pk, declined.pk, without_card.pk, auto_renew_off.pk, 999_999]
    )

    assert [(result.subscription_id, result.outcome) for result in results] == [
        (renewing.pk, RenewalOutcome.RENEWED),
        (declined.pk, RenewalOutcome.FAILED),
        (without_card.pk, RenewalOutcome.FAILED),
        (auto_renew_off.pk, RenewalOutcome.SKIPPED),
        (999_999, RenewalOutcome.SKIPPED),
    ]
    for subscription in (renewing, declined, without_card, auto_renew_off):
        subscription.refresh_from_db()
    assert (renewing.status, renewing.term_number) == ("active", 2)
    assert (declined.status, declined.term_number) == ("past_due", 1)
    assert (without_card.status, without_card.term_number) == ("past_due", 1)
    assert (auto_renew_off.status, auto_renew_off.term_number) == ("active", 1)
    assert len(succeeded_payments(localstripe, contoso.stripe_customer_id)) == 1
    assert succeeded_payments(localstripe, fabrikam.stripe_customer_id) == []
    renewal = Order.objects.get(subscription=without_card, kind="renewal")
    assert renewal.failure_code == "payment_method_missing"
    # One email to each organization's buyer: a receipt, two failure notices, nothing else.
    assert sorted((message.to[0], message.subject) for message in mailoutbox) == [
        ("alice@contoso.example", "Your Microsoft Action Pack subscription has been renewed"),
        (
            "billing@partner000.example",
            "We could not renew your Microsoft Action Pack subscription",
        ),
        ("charlie@fabrikam.example", "We could not renew your Microsoft Action Pack subscription"),
    ]


def test_a_batch_run_twice_charges_and_tells_once(localstripe, offer, mailoutbox):
    subscriptions = partners(offer, 4)
    ids = [subscription.pk for subscription in subscriptions]
    clock.set_now(moment(ANNIVERSARY))

    first = subscriptions_renew_automatically(subscription_ids=ids)
    again = subscriptions_renew_automatically(subscription_ids=ids)

    assert {result.outcome for result in first} == {RenewalOutcome.RENEWED}
    assert {result.outcome for result in again} == {RenewalOutcome.SKIPPED}
    for subscription in subscriptions:
        customer = subscription.organization.stripe_customer_id
        assert len(succeeded_payments(localstripe, customer)) == 1
        grants = BenefitGrant.objects.filter(subscription=subscription, term_number=2)
        assert grants.count() == offer.benefits.count()
    assert ReminderSent.objects.filter(kind=ReminderKind.RENEWAL_RECEIPT).count() == 4
    assert len(mailoutbox) == 4


def test_a_batch_costs_the_same_queries_with_3_and_with_30_renewals(localstripe, offer):
    small = [subscription.pk for subscription in partners(offer, 3)]
    large = [subscription.pk for subscription in partners(offer, 30, first=3)]
    clock.set_now(moment(ANNIVERSARY))

    with CaptureQueriesContext(connection) as three:
        subscriptions_renew_automatically(subscription_ids=small)
    with CaptureQueriesContext(connection) as thirty:
        results = subscriptions_renew_automatically(subscription_ids=large)

    assert {result.outcome for result in results} == {RenewalOutcome.RENEWED}
    assert len(steps(thirty)) == len(steps(three))
    assert len(thirty) / 30 < 2  # the budget is 10 queries per renewal


def steps(queries: CaptureQueriesContext) -> list[str]:
    """The statements of a batch, one per step: a bulk INSERT the database driver splits into
    chunks (SQLite takes at most 999 parameters per statement, so 30 renewals' 240 benefit
    grants need two) counts once, as the one ``bulk_create`` it is."""
    collapsed: list[str] = []
    for query in queries.captured_queries:
        sql = query["sql"]
        # "INSERT OR IGNORE INTO" is SQLite's bulk_create(ignore_conflicts=True).
        insert = sql.startswith(("INSERT INTO", "INSERT OR IGNORE INTO")) and sql.split(" (", 1)[0]
        if insert and collapsed and collapsed[-1] == insert:
            continue
        collapsed.append(insert or sql)
    return collapsed


def test_the_cycle_splits_due_subscriptions_into_batches(settings):
    size = settings.RENEWAL_BATCH_SIZE
    ids = list(range(1, 2 * size + 2))

    batches = renewal_batches(ids)

    assert [len(batch) for batch in batches] == [size, size, 1]
    assert [pk for batch in batches for pk in batch] == ids


def test_a_batch_past_its_deadline_charges_nothing_and_releases_its_orders_at_once(
    localstripe, offer, monkeypatch, mailoutbox
):
    subscriptions = partners(offer, 3)
    ids = [subscription.pk for subscription in subscriptions]
    clock.set_now(moment(ANNIVERSARY))
    # As if Stripe had been so slow that the batch ran out of time before its first call.
    monkeypatch.setattr(payments, "batch_deadline", lambda: dt.timedelta(seconds=-1))

    results = subscriptions_renew_automatically(subscription_ids=ids)

    # Nothing was sent to Stripe, so nothing stays claimed: interrupted (not the partner's
    # problem: no email), due again at the next run.
    assert {result.outcome for result in results} == {RenewalOutcome.PENDING}
    renewals = Order.objects.filter(kind="renewal")
    assert set(renewals.values_list("status", "failure_code", "next_retry_on")) == {
        (OrderStatus.FAILED, "interrupted", ANNIVERSARY)
    }
    for subscription in subscriptions:
        customer = subscription.organization.stripe_customer_id
        assert localstripe.payment_intents(customer=customer) == []
    assert mailoutbox == []

    monkeypatch.undo()
    again = subscriptions_renew_automatically(subscription_ids=ids)

    assert {result.outcome for result in again} == {RenewalOutcome.RENEWED}
    for subscription in subscriptions:
        customer = subscription.organization.stripe_customer_id
        assert len(succeeded_payments(localstripe, customer)) == 1
