"""Eight partners pay at the same moment: their invoices are numbered 1 to 8 of the year's
series, no number twice, none skipped (the counter row is locked in each payment's
transaction).

Each thread is a partner's browser with its own database connection; a barrier releases them
together. Real concurrent transactions need PostgreSQL (DATABASE_URL, as CI has it); on SQLite
the test is skipped unless REQUIRE_SERVICES says nothing may be.
"""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from billing.models import Invoice, InvoiceSeries, Order
from billing.selectors.checkout import purchase_order_open
from membership.models import Organization, Role
from membership.services import membership_add
from offers.selectors import terms_current
from tests.billing.stripe_helpers import card_save
from tests.billing.test_purchase_concurrency import THREADS, postgresql, run_together  # noqa: F401
from tests.plugins.people import _person, client_for


def test_eight_concurrent_payers_get_consecutive_numbers_without_gaps(localstripe, offer):
    clients, orders = [], []
    for n in range(THREADS):
        organization = Organization.objects.create(
            name=f"Payer {n}",
            partner_id=f"30000{n:02d}",
            country=["IE", "ES", "US", "DE"][n % 4],
            currency="USD" if n % 4 == 2 else "EUR",
            network_member_since=dt.date(2024, 3, 1),
        )
        buyer = _person(f"buyer{n}@payer.example", f"Buyer {n}")
        membership_add(organization=organization, user=buyer, roles={Role.MPN_PARTNER_ADMIN})
        card = card_save(localstripe, organization, buyer)
        client = client_for(buyer)
        client.post(
            reverse("billing:subscribe_terms", args=[offer.pk]),
            {"terms_version": terms_current(offer=offer).pk, "accept": "on"},
        )
        client.post(
            reverse("billing:subscribe_payment", args=[offer.pk]), {"payment_method": card.pk}
        )
        order = purchase_order_open(organization=organization, offer=offer)
        clients.append(client)
        orders.append(order)
    urls = {
        id(client): reverse("billing:order_purchase", args=[order.pk])
        for client, order in zip(clients, orders, strict=True)
    }

    locations = run_together(lambda client: client.post(urls[id(client)])["Location"], clients)

    assert all("/confirmed/" in location for location in locations)
    invoices = list(Invoice.objects.order_by("sequence"))
    year = invoices[0].year
    assert [invoice.number for invoice in invoices] == [
        f"INV-{year}-{n:06d}" for n in range(1, THREADS + 1)
    ]
    assert {invoice.order_id for invoice in invoices} == {order.pk for order in orders}
    assert InvoiceSeries.objects.get(kind="invoice", year=year).last_number == THREADS
    for invoice in invoices:
        order = Order.objects.get(pk=invoice.order_id)
        assert (order.status, order.invoice_number) == ("paid", invoice.number)
        assert invoice.total_amount == order.amount
