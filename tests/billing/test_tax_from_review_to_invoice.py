"""The issue's four tax cases, each from the review step to the charge (localstripe's own
PaymentIntent amount) to the invoice: an Irish buyer, a Spanish buyer with a VAT id, a Spanish
buyer without one, a US buyer. The seller is established in Ireland (settings)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.urls import reverse

from billing.models import Invoice, Order
from core import clock
from membership.models import Organization, Role
from membership.services import membership_add
from tests.billing.stripe_helpers import card_save
from tests.billing.test_subscribe_views import ready_to_buy, review_url
from tests.plugins.people import _person

NOW = dt.datetime(2027, 3, 14, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def today():
    with clock.frozen_at(NOW):
        yield


@dataclass(frozen=True)
class Case:
    country: str
    currency: str
    vat_id: str
    net: str  # as the review page and the invoice print them
    tax: str
    total: str
    gross: int  # what Stripe charges, in minor units
    rate: str
    note: str


CASES = {
    "irish buyer": Case("IE", "EUR", "", "€440.00", "€101.20", "€541.20", 54120, "23", ""),
    "spanish buyer with a VAT id": Case(
        "ES",
        "EUR",
        "ESA12345674",
        "€440.00",
        "€0.00",
        "€440.00",
        44000,
        "0",
        "Reverse charge — VAT to be accounted for by the recipient "
        "(Article 196, Directive 2006/112/EC)",
    ),
    "spanish buyer without a VAT id": Case(
        "ES", "EUR", "", "€440.00", "€92.40", "€532.40", 53240, "21", ""
    ),
    "us buyer": Case(
        "US", "USD", "", "$475.00", "$0.00", "$475.00", 47500, "0", "Outside the scope of EU VAT"
    ),
}


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("name", CASES)
def test_the_review_shows_the_tax_the_card_is_charged_it_and_the_invoice_says_it(
    name, localstripe, login, offer
):
    case = CASES[name]
    buyer_org = Organization.objects.create(
        name=f"Buyer {case.country}",
        partner_id=f"20000{list(CASES).index(name):02d}",
        country=case.country,
        currency=case.currency,
        address_line1="1 Main Street",
        city="Capital",
        vat_id=case.vat_id,
        network_member_since=dt.date(2024, 3, 1),
    )
    buyer = _person(f"buyer@{case.country.lower()}{len(case.vat_id)}.example", "Bo Buyer")
    membership_add(organization=buyer_org, user=buyer, roles={Role.MPN_PARTNER_ADMIN})
    card = card_save(localstripe, buyer_org, buyer)
    client = login(buyer)
    order = ready_to_buy(client, buyer_org, offer, card)

    review = text(client.get(review_url(offer)).content.decode())

    assert f"Price {case.net} excl. VAT" in review
    assert f"VAT {case.tax} ({case.rate} %)" in review
    assert f"Total {case.total} {case.currency}" in review
    assert f"Total to be charged: {case.total}." in review
    assert case.note in review

    shown = re.search(
        r'name="amount" value="(\d+)"', client.get(review_url(offer)).content.decode()
    )
    response = client.post(
        reverse("billing:order_purchase", args=[order.pk]), {"amount": shown.group(1)}
    )

    assert response["Location"] == reverse("billing:order_confirmed", args=[order.pk])
    [intent] = localstripe.payment_intents(customer=buyer_org.stripe_customer_id)
    assert (intent["amount"], intent["currency"], intent["status"]) == (
        case.gross,
        case.currency.lower(),
        "succeeded",
    )
    order = Order.objects.get(pk=order.pk)
    invoice = Invoice.objects.get(order=order)
    assert (invoice.total_amount, order.amount) == (case.gross, case.gross)
    assert invoice.net_amount + invoice.tax_amount == case.gross
    [tax_line] = invoice.tax_lines.all()
    assert str(tax_line.rate.normalize()) == case.rate
    assert tax_line.tax_amount == invoice.tax_amount
    assert invoice.tax_note == case.note
    assert (invoice.seller_country, invoice.seller_vat_id) == ("IE", "IE9876543H")
    assert (invoice.buyer_country, invoice.buyer_vat_id) == (case.country, case.vat_id)
    page = text(client.get(reverse("billing:invoice", args=[invoice.pk])).content.decode())
    assert f"Net total {case.net}" in page
    assert f"VAT {case.tax}" in page
    assert f"Total ({case.currency}) {case.total}" in page


def test_purchase_stops_when_the_tax_changed_since_the_review(localstripe, login, offer, fabrikam):
    buyer = _person("pablo@fabrikam.example", "Pablo Comprador")
    membership_add(organization=fabrikam, user=buyer, roles={Role.MPN_PARTNER_ADMIN})
    card = card_save(localstripe, fabrikam, buyer)
    client = login(buyer)
    order = ready_to_buy(client, fabrikam, offer, card)
    client.get(review_url(offer))  # €532.40: Spanish VAT, no VAT id
    # Meanwhile, in another tab, the VAT id is entered: reverse charge, €440.00.
    Organization.objects.filter(pk=fabrikam.pk).update(vat_id="ESA12345674")

    response = client.post(
        reverse("billing:order_purchase", args=[order.pk]), {"amount": "53240"}, follow=True
    )

    page = text(response.content.decode())
    assert "The total changed to €440.00 since you reviewed the order" in page
    assert "Total €440.00 EUR" in page  # the review again, with the new total
    assert localstripe.payment_intents(customer=fabrikam.stripe_customer_id) == []
    assert Order.objects.get(pk=order.pk).amount == 44000
