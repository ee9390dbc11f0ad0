"""The invoice of a paid order: /billing/orders/<id>/invoice/."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from billing.models import Order, OrderKind, OrderStatus
from tests.billing.factories import make_card, make_subscription

pytestmark = pytest.mark.django_db


def invoice_url(order: Order) -> str:
    return reverse("billing:invoice", args=[order.pk])


@pytest.fixture
def paid_order(contoso, offer) -> Order:
    contoso.vat_id = "US123456789"
    contoso.save()
    card = make_card(contoso, last4="4242")
    subscription = make_subscription(
        contoso, offer, started_on=dt.date(2025, 3, 14), payment_method=card
    )
    return subscription.orders.get()


def test_it_shows_the_invoice_of_a_paid_order(login, bea, paid_order):
    response = login(bea).get(invoice_url(paid_order))

    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("billing:invoice", args=[paid_order.pk]) == (
        f"/billing/orders/{paid_order.pk}/invoice/"
    )
    for text in (
        paid_order.invoice_number,
        "Partner Portal",  # the seller
        "One Microsoft Way",
        "Contoso Ltd",  # billed to, from the organization profile
        "1 Microsoft Way",
        "98052 Redmond",
        "VAT ID US123456789",
        "Partner ID 1000001",
        "Microsoft Action Pack subscription",
        "March 14, 2025 – March 14, 2026",  # the term
        "Visa •••• 4242",
    ):
        assert text in page, text
    assert response.context["seller"]["name"] == "Partner Portal"
    assert page.count("$475.00") == 3  # line, subtotal, total
    assert '<td class="number" data-testid="tax">$0.00</td>' in page


def test_it_prints_the_seller_from_settings(login, bea, paid_order, settings):
    settings.SELLER_NAME = "Partner Portal Europe S.L."
    settings.SELLER_ADDRESS = "Calle Mayor 1\n28013 Madrid\nSpain"

    page = login(bea).get(invoice_url(paid_order)).content.decode()

    assert "Partner Portal Europe S.L." in page
    assert "Calle Mayor 1<br>" in page and "28013 Madrid<br>" in page


def test_it_shows_the_refund_of_a_refunded_order(login, bea, paid_order):
    Order.objects.filter(pk=paid_order.pk).update(
        status=OrderStatus.REFUNDED, refunded_amount=47500
    )

    response = login(bea).get(invoice_url(paid_order))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Refunded" in page
    assert '<td class="number" data-testid="refunded">-$475.00</td>' in page


@pytest.mark.parametrize(
    "status",
    [OrderStatus.PENDING, OrderStatus.PROCESSING, OrderStatus.FAILED, OrderStatus.CANCELED],
)
def test_an_unpaid_order_has_no_invoice(login, bea, contoso, offer, status):
    order = Order.objects.create(
        organization=contoso,
        offer=offer,
        kind=OrderKind.PURCHASE,
        term_number=1,
        amount=47500,
        currency="USD",
        status=status,
    )

    assert login(bea).get(invoice_url(order)).status_code == 404


def test_it_is_printable_without_the_portal_around_it(login, bea, paid_order):
    page = login(bea).get(invoice_url(paid_order)).content.decode()

    # portal.css hides .topbar, .footer and .no-print when printing; invoice.css lays it out.
    assert 'class="actions no-print"' in page
    assert "css/invoice.css" in page


def test_the_buyer_may_download_invoices(login, bob, paid_order):
    assert login(bob).get(invoice_url(paid_order)).status_code == 200


def test_it_rejects_post(login, bea, paid_order):
    assert login(bea).post(invoice_url(paid_order)).status_code == 405


def test_it_404s_for_another_organizations_invoice(login, bea, fabrikam, offer):
    theirs = make_subscription(fabrikam, offer, started_on=dt.date(2025, 3, 14)).orders.get()

    assert login(bea).get(invoice_url(theirs)).status_code == 404


def test_it_404s_for_an_unknown_order(login, bea):
    assert login(bea).get(reverse("billing:invoice", args=[999999])).status_code == 404


def test_it_requires_a_role_that_sees_invoices(login, axel, victor, paid_order):
    for person in (axel, victor):
        assert login(person).get(invoice_url(paid_order)).status_code == 403
