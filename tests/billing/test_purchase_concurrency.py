"""The same purchase submitted from several threads at once charges once and subscribes once.

Each thread is a browser tab with its own session and its own database connection; a barrier
starts them together. It needs a database with real concurrent transactions: PostgreSQL from
DATABASE_URL (CI). On SQLite it is skipped, unless REQUIRE_SERVICES says nothing may be.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from billing.models import Order, OrderKind, OrderStatus, Subscription
from billing.selectors.checkout import purchase_order_open
from offers.selectors import terms_current
from tests.billing.stripe_helpers import card_save, succeeded_charges
from tests.plugins.people import client_for
from tests.plugins.services import service_missing

THREADS = 8


@pytest.fixture(autouse=True)
def postgresql(transactional_db):
    if connection.vendor != "postgresql":
        service_missing("the concurrency test needs PostgreSQL (DATABASE_URL=postgres://…)")


def run_together(work: Callable[[Client], str], clients: list[Client]) -> list[str]:
    """Run ``work(client)`` in one thread per client, all released at once; re-raise errors."""
    barrier = threading.Barrier(len(clients))
    results: list[str] = []
    errors: list[BaseException] = []

    def tab(client: Client) -> None:
        try:
            barrier.wait(timeout=30)
            results.append(work(client))
        except BaseException as error:  # noqa: BLE001 - reported to the test thread below
            errors.append(error)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=tab, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a tab never finished"
    if errors:
        raise errors[0]
    return results


def assert_bought_once(localstripe, contoso) -> None:
    assert Subscription.objects.filter(organization=contoso).count() == 1
    paid = Order.objects.filter(organization=contoso, kind=OrderKind.PURCHASE, status="paid")
    assert paid.count() == 1
    customer = contoso.stripe_customer_id
    assert len(localstripe.payment_intents(customer=customer)) == 1
    assert succeeded_charges(localstripe, customer) == [(47500, "usd")]
    assert len(localstripe.charges(customer=customer)) == 1


def test_many_purchase_clicks_at_once_charge_once(localstripe, contoso, bob, offer):
    card = card_save(localstripe, contoso, bob)
    first_tab = client_for(bob)
    first_tab.post(
        reverse("billing:subscribe_terms", args=[offer.pk]),
        {"terms_version": terms_current(offer=offer).pk, "accept": "on"},
    )
    first_tab.post(
        reverse("billing:subscribe_payment", args=[offer.pk]), {"payment_method": card.pk}
    )
    order = purchase_order_open(organization=contoso, offer=offer)
    purchase = reverse("billing:order_purchase", args=[order.pk])

    locations = run_together(
        lambda client: client.post(purchase)["Location"],
        [client_for(bob) for _ in range(THREADS)],
    )

    contoso.refresh_from_db()
    assert_bought_once(localstripe, contoso)
    confirmed = reverse("billing:order_confirmed", args=[order.pk])
    status = reverse("billing:order_status", args=[order.pk])
    # Every tab lands on the confirmation, or on "being processed" if it came mid-charge.
    assert set(locations) <= {confirmed, status}
    assert confirmed in locations


def test_the_whole_wizard_in_many_tabs_at_once_buys_once(localstripe, contoso, alice, bob, offer):
    card = card_save(localstripe, contoso, bob)
    terms = terms_current(offer=offer)

    def buy(client: Client) -> str:
        client.post(
            reverse("billing:subscribe_terms", args=[offer.pk]),
            {"terms_version": terms.pk, "accept": "on"},
        )
        client.post(
            reverse("billing:subscribe_payment", args=[offer.pk]), {"payment_method": card.pk}
        )
        order = purchase_order_open(organization=contoso, offer=offer) or Order.objects.get(
            organization=contoso, kind=OrderKind.PURCHASE, status=OrderStatus.PAID
        )
        return client.post(reverse("billing:order_purchase", args=[order.pk]))["Location"]

    people = [alice, bob] * (THREADS // 2)
    run_together(buy, [client_for(person) for person in people])

    contoso.refresh_from_db()
    assert_bought_once(localstripe, contoso)
