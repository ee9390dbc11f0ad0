"""The catalog's own rules: one price per currency, prices in minor units and above zero, one code
per benefit and one label per terms version of an offer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from offers.models import Benefit, BenefitKind, Offer, OfferPrice, TermsVersion

pytestmark = pytest.mark.django_db


def test_an_offer_has_one_price_per_currency(offer):
    with pytest.raises(IntegrityError), transaction.atomic():
        OfferPrice.objects.create(offer=offer, currency="USD", amount=1)

    assert offer.prices.get(currency="USD").amount == 47500


def test_a_price_is_at_least_one_minor_unit(offer):
    price = OfferPrice(offer=offer, currency="MXN", amount=0)

    with pytest.raises(ValidationError) as error:
        price.full_clean()

    assert "amount" in error.value.message_dict


def test_a_price_reads_as_money_in_the_readers_language(offer):
    usd = offer.prices.get(currency="USD")
    eur = offer.prices.get(currency="EUR")

    with translation.override("en"):
        assert (str(usd), str(eur)) == ("$475.00", "€440.00")
    with translation.override("es"):
        assert (str(usd), str(eur)) == ("475,00\u00a0US$", "440,00\u00a0€")


def test_a_benefit_code_is_used_once_per_offer(offer):
    with pytest.raises(IntegrityError), transaction.atomic():
        Benefit.objects.create(
            offer=offer,
            code="windows-enterprise",
            name="Again",
            kind=BenefitKind.SOFTWARE_LICENSE,
            quantity=1,
        )


def test_a_terms_version_is_published_once_per_offer(offer):
    with pytest.raises(IntegrityError), transaction.atomic():
        TermsVersion.objects.create(
            offer=offer,
            version="2026-01",
            title="Again",
            body="…",
            published_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        )


def test_a_new_offer_is_yearly_one_per_organization_and_on_sale():
    offer = Offer.objects.create(code="new", name="New")

    assert (offer.term_months, offer.one_per_organization, offer.is_active) == (12, True, True)
