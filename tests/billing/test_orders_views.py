"""Billing > Order history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Order, OrderKind, OrderStatus
from tests.billing.factories import make_card, make_subscription

pytestmark = pytest.mark.django_db

URL = reverse("billing:orders")


def open_order(organization, offer, *, status: str, attempts: int = 1, **fields) -> Order:
    return Order.objects.create(
        organization=organization,
        offer=offer,
        kind=OrderKind.PURCHASE,
        term_number=1,
        amount=47500,
        currency="USD",
        status=status,
        attempt_count=attempts,
        **fields,
    )


def test_it_lists_orders_with_status_amount_and_invoice(login, contoso, offer, bea):
    card = make_card(contoso)
    subscription = make_subscription(
        contoso, offer, started_on=dt.date(2024, 5, 10), term_number=2, payment_method=card
    )
    paid_purchase, paid_renewal = subscription.orders.order_by("term_number")

    response = login(bea).get(URL)

    assert response.status_code == 200
    assert list(response.context["orders"]) == [paid_renewal, paid_purchase]
    page = response.content.decode()
    table = page[page.index('data-testid="orders"') :]  # below the next charge
    assert table.count("$475.00") == 2
    assert table.count(">Paid<") == 2
    for order in (paid_purchase, paid_renewal):
        assert reverse("billing:invoice_pdf", args=[order.invoices.get().pk]) in page
    assert "May 10, 2025 – May 10, 2026" in page  # the renewal's term
    assert "Visa •••• 4242" in page


def test_a_failed_order_shows_why_and_has_no_invoice(login, contoso, offer, bea):
    order = open_order(
        contoso,
        offer,
        status=OrderStatus.FAILED,
        failure_message="Your card was declined.",
        card_brand="visa",
        card_last4="0341",
    )

    response = login(bea).get(URL)

    page = response.content.decode()
    assert "Payment failed" in page
    assert "Your card was declined." in page
    assert not order.invoices.exists()
    assert "/billing/invoices/" not in page.replace(reverse("billing:invoices"), "")


def test_a_checkout_nobody_paid_is_not_an_order_yet(login, contoso, offer, bea):
    open_order(contoso, offer, status=OrderStatus.PENDING, attempts=0)

    response = login(bea).get(URL)

    assert list(response.context["orders"]) == []
    assert "Your organization has no orders yet." in response.content.decode()


def test_it_shows_only_the_organizations_orders(login, contoso, fabrikam, offer, bea):
    make_subscription(fabrikam, offer, started_on=dt.date(2025, 1, 1))

    response = login(bea).get(URL)

    assert list(response.context["orders"]) == []
    assert "440" not in response.content.decode()


def test_its_queries_do_not_grow_with_the_orders(login, contoso, offer, bea):
    client = login(bea)
    make_subscription(contoso, offer, started_on=dt.date(2025, 1, 1))
    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    for _n in range(49):
        open_order(contoso, offer, status=OrderStatus.CANCELED)
    with CaptureQueriesContext(connection) as fifty:
        response = client.get(URL)

    assert len(response.context["orders"]) == 50
    assert len(fifty) == len(one)


def test_the_buyer_sees_orders_too(login, bob):
    assert login(bob).get(URL).status_code == 200


def test_it_rejects_post(login, bea):
    assert login(bea).post(URL).status_code == 405


def test_it_requires_a_role_that_sees_orders(login, axel, victor):
    for person in (axel, victor):
        assert login(person).get(URL).status_code == 403


def test_it_requires_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
