"""A database error in a billing batch (a killed connection) affects the order it hit, not fifty.

On PostgreSQL: the batch's own database connection is terminated by the server
(``pg_terminate_backend``, as a failover or an operator would) in the middle of the batch, right
after Stripe answered one order's confirm. The batch goes on with a new connection; what Stripe
did for that order is read back from Stripe. localstripe's records show one charge per renewal.
"""

from __future__ import annotations

import datetime as dt
import threading

import psycopg
import pytest
from django.db import connection

from billing import stripe_gateway
from billing.models import Order, OrderStatus
from billing.services.renewals import RenewalOutcome, subscriptions_renew_automatically
from core import clock
from tests.billing.renewal_helpers import (
    CARD_CHARGES_DECLINED,
    CARD_OK,
    moment,
    partners_due_on,
    succeeded_payments,
)
from tests.plugins.services import service_missing

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("frozen_clock")]

ANNIVERSARY = dt.date(2026, 5, 4)


@pytest.fixture(autouse=True)
def postgresql():
    if connection.vendor != "postgresql":
        service_missing("killing a database connection needs PostgreSQL (set DATABASE_URL)")


def partners(offer, cards: list[str]) -> list:
    subscriptions = partners_due_on(offer, ANNIVERSARY, cards)
    clock.set_now(moment(ANNIVERSARY))
    return subscriptions


def kill_the_connection_during_confirm(monkeypatch, *, call: int) -> list[int]:
    """After Stripe answers the ``call``-th confirm, the server drops our database connection."""
    confirm = stripe_gateway.payment_intent_confirm
    calls: list[int] = []
    lock = threading.Lock()
    settings_dict = connection.settings_dict
    # The batch's own connection (the confirms themselves may run in other threads).
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid

    def confirm_then_lose_the_database(*args, **kwargs):
        with lock:  # the batch may make its confirms in several threads
            calls.append(1)
            number = len(calls)
        try:
            return confirm(*args, **kwargs)
        finally:
            if number == call:
                with psycopg.connect(
                    host=settings_dict["HOST"] or "127.0.0.1",
                    port=settings_dict["PORT"] or 5432,
                    user=settings_dict["USER"],
                    dbname=settings_dict["NAME"],
                    autocommit=True,
                ) as other:
                    other.execute("SELECT pg_terminate_backend(%s)", [pid])

    monkeypatch.setattr(stripe_gateway, "payment_intent_confirm", confirm_then_lose_the_database)
    return calls


def test_a_killed_connection_while_a_decline_is_recorded_affects_that_order_only(
    localstripe, offer, monkeypatch, caplog
):
    cards = [CARD_OK, CARD_OK, CARD_CHARGES_DECLINED, CARD_OK, CARD_OK]
    subscriptions = partners(offer, cards)
    kill_the_connection_during_confirm(monkeypatch, call=3)

    results = subscriptions_renew_automatically(
        subscription_ids=[subscription.pk for subscription in subscriptions]
    )

    assert [result.outcome for result in results] == [
        RenewalOutcome.RENEWED,
        RenewalOutcome.RENEWED,
        RenewalOutcome.FAILED,
        RenewalOutcome.RENEWED,
        RenewalOutcome.RENEWED,
    ]
    # The error hit the declined order's write; it was read back from Stripe on a new connection.
    assert f"database error on order {results[2].order_id}" in caplog.text
    declined = Order.objects.get(subscription=subscriptions[2], kind="renewal")
    assert (declined.status, declined.failure_code) == (OrderStatus.FAILED, "card_declined")
    assert not Order.objects.filter(status=OrderStatus.PROCESSING).exists()
    for subscription, card in zip(subscriptions, cards, strict=True):
        paid = succeeded_payments(localstripe, subscription.organization.stripe_customer_id)
        assert len(paid) == (1 if card == CARD_OK else 0)


def test_a_killed_connection_before_the_batch_is_marked_paid_loses_no_renewal(
    localstripe, offer, monkeypatch, caplog
):
    subscriptions = partners(offer, [CARD_OK] * 4)
    kill_the_connection_during_confirm(monkeypatch, call=4)  # the batch's last confirm

    results = subscriptions_renew_automatically(
        subscription_ids=[subscription.pk for subscription in subscriptions]
    )

    assert "marking a batch of orders paid failed; one by one now" in caplog.text
    assert {result.outcome for result in results} == {RenewalOutcome.RENEWED}
    assert set(Order.objects.filter(kind="renewal").values_list("status", flat=True)) == {
        OrderStatus.PAID
    }
    for subscription in subscriptions:
        subscription.refresh_from_db()
        assert subscription.term_number == 2
        paid = succeeded_payments(localstripe, subscription.organization.stripe_customer_id)
        assert len(paid) == 1
