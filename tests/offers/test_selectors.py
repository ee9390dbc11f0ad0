"""The catalog's reads: what is on sale, its price in a currency, and the terms in force now."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from offers.models import Benefit, BenefitKind, Offer, OfferPrice, TermsVersion
from offers.selectors import offer_price, offers_on_sale, terms_current

pytestmark = pytest.mark.django_db


def _offer(code: str, *, position: int = 0, is_active: bool = True, **prices: int) -> Offer:
    offer = Offer.objects.create(
        code=code, name=code.title(), position=position, is_active=is_active
    )
    for currency, amount in prices.items():
        OfferPrice.objects.create(offer=offer, currency=currency, amount=amount)
    return offer


def _terms(offer: Offer, version: str, published_at: dt.datetime) -> TermsVersion:
    return TermsVersion.objects.create(
        offer=offer, version=version, title="Terms", body="…", published_at=published_at
    )


def test_only_offers_on_sale_are_listed_in_their_position(offer):
    second = _offer("second", position=2, USD=1000)
    _offer("retired", position=3, is_active=False, USD=1000)
    first = _offer("first", position=0, USD=1000)

    assert list(offers_on_sale()) == [first, offer, second]


def test_offers_on_sale_come_with_their_prices_and_benefits_in_three_queries(offer):
    for number in range(5):
        extra = _offer(f"extra-{number}", position=10 + number, USD=1000, EUR=900)
        Benefit.objects.create(
            offer=extra,
            code="incidents",
            name="Incidents",
            kind=BenefitKind.SUPPORT_INCIDENTS,
            quantity=2,
        )

    with CaptureQueriesContext(connection) as queries:
        listed = [
            (
                listed_offer,
                offer_price(offer=listed_offer, currency="EUR"),
                list(listed_offer.benefits.all()),
            )
            for listed_offer in offers_on_sale()
        ]

    assert len(listed) == 6
    assert len(queries) == 3  # offers, their prices, their benefits


def test_benefits_come_in_their_position(offer):
    listed = next(iter(offers_on_sale()))

    positions = [benefit.position for benefit in listed.benefits.all()]
    assert positions == sorted(positions)
    assert listed.benefits.all()[0].code == "windows-enterprise"


def test_the_price_is_the_one_in_the_currency_asked(offer):
    assert offer_price(offer=offer, currency="USD").amount == 47500
    assert offer_price(offer=offer, currency="EUR").amount == 44000


def test_an_offer_not_sold_in_a_currency_has_no_price_in_it(offer):
    assert offer_price(offer=offer, currency="GBP") is None


def test_the_terms_in_force_are_the_latest_published(offer):
    newer = _terms(offer, "2026-06", dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    _terms(offer, "2025-01", dt.datetime(2025, 1, 1, tzinfo=dt.UTC))

    assert terms_current(offer=offer) == newer


def test_terms_published_at_the_same_moment_go_to_the_later_version(offer):
    moment = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    _terms(offer, "2026-06-a", moment)
    later = _terms(offer, "2026-06-b", moment)

    assert terms_current(offer=offer) == later


def test_an_offer_without_terms_has_none_to_accept():
    assert terms_current(offer=_offer("no-terms", USD=1000)) is None
