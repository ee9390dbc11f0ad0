"""Partnership > Offers and a purchased-offer page cost the same number of queries with 1 and
with 50 offers, subscriptions and orders: nothing is loaded row by row."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Subscription
from membership.models import Organization
from offers.models import Benefit, BenefitKind, Offer, OfferPrice
from tests.billing.factories import make_card, make_subscription


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context)


def add_offers(organization: Organization, count: int) -> None:
    """``count`` more offers, each with two prices, three benefits and a subscription."""
    card = make_card(organization, last4="0001", is_default=False)
    for n in range(count):
        offer = Offer.objects.create(code=f"offer-{n}", name=f"Offer {n}", position=10 + n)
        OfferPrice.objects.create(offer=offer, currency="USD", amount=1000 + n)
        OfferPrice.objects.create(offer=offer, currency="EUR", amount=900 + n)
        for position in range(3):
            Benefit.objects.create(
                offer=offer,
                code=f"benefit-{position}",
                name=f"Benefit {position}",
                kind=BenefitKind.ONLINE_SERVICE,
                quantity=5,
                position=position,
            )
        make_subscription(organization, offer, started_on=dt.date(2026, 3, 10), payment_method=card)


def test_the_offers_page_costs_the_same_with_1_and_with_50_offers(login, bob, contoso, offer):
    make_subscription(
        contoso, offer, started_on=dt.date(2026, 3, 10), payment_method=make_card(contoso)
    )
    client = login(bob)
    url = reverse("billing:offers")
    client.get(url)  # warm caches (content types, sessions) outside the counts

    with_one = queries_for(client, url)
    add_offers(contoso, 49)
    with_fifty = queries_for(client, url)

    assert Offer.objects.count() == 50
    assert Subscription.objects.filter(organization=contoso).count() == 50
    assert with_fifty == with_one


def test_a_purchased_offer_page_costs_the_same_with_1_and_with_50_orders(
    login, bob, contoso, offer
):
    card = make_card(contoso)
    one_term = make_subscription(
        contoso, offer, started_on=dt.date(2026, 3, 10), payment_method=card
    )
    client = login(bob)
    client.get(reverse("billing:subscription", args=[one_term.pk]))

    with_one = queries_for(client, reverse("billing:subscription", args=[one_term.pk]))
    # Invoices are kept for good (nothing deletes a subscription that has them): ended instead.
    Subscription.objects.filter(pk=one_term.pk).update(status="expired")
    # Bought 49 years ago and renewed every year since: 50 paid orders.
    fifty_terms = make_subscription(
        contoso, offer, started_on=dt.date(1977, 3, 10), term_number=50, payment_method=card
    )
    with_fifty = queries_for(client, reverse("billing:subscription", args=[fifty_terms.pk]))

    assert fifty_terms.orders.count() == 50
    assert with_fifty == with_one
