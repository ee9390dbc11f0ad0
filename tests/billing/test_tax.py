"""The VAT rules (billing/tax.py): seller in Ireland, rates from the admin's table."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import TaxRate, TaxTreatment
from billing.tax import TaxRateMissing, tax_note, tax_on, tax_quote, tax_rates_in_force, tax_split

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("country", "vat_id", "treatment", "rate", "tax"),
    [
        # The four cases, on a net price of €440.00.
        ("IE", "", TaxTreatment.DOMESTIC, "23.00", 10120),
        ("IE", "IE1234567T", TaxTreatment.DOMESTIC, "23.00", 10120),  # a VAT id changes nothing
        ("ES", "ESA12345674", TaxTreatment.REVERSE_CHARGE, "0.00", 0),
        ("ES", "", TaxTreatment.EU_DESTINATION, "21.00", 9240),
        ("US", "", TaxTreatment.OUTSIDE_EU, "0.00", 0),
        # An EU buyer whose VAT id does not pass its check digits pays its country's VAT.
        ("ES", "ESA12345678", TaxTreatment.EU_DESTINATION, "21.00", 9240),
        ("DE", "", TaxTreatment.EU_DESTINATION, "19.00", 8360),
        ("GB", "GB980780684", TaxTreatment.OUTSIDE_EU, "0.00", 0),
    ],
)
def test_it_applies_the_rule_for_the_buyer(country, vat_id, treatment, rate, tax):
    quote = tax_quote(net=44000, buyer_country=country, buyer_vat_id=vat_id)

    assert (quote.treatment, quote.rate, quote.tax) == (treatment, Decimal(rate), tax)
    assert quote.gross == 44000 + tax


def test_the_legal_wording_goes_with_reverse_charge_and_outside_the_eu():
    assert tax_note(TaxTreatment.REVERSE_CHARGE) == (
        "Reverse charge — VAT to be accounted for by the recipient "
        "(Article 196, Directive 2006/112/EC)"
    )
    assert tax_note(TaxTreatment.OUTSIDE_EU) == "Outside the scope of EU VAT"
    assert tax_note(TaxTreatment.DOMESTIC) == ""


def test_the_rate_in_force_on_the_day_applies():
    # Seeded: Estonia 22 % from 2024-01-01, 24 % from 2025-07-01.
    assert tax_rates_in_force(on=dt.date(2025, 6, 30))["EE"] == Decimal("22.00")
    assert tax_rates_in_force(on=dt.date(2025, 7, 1))["EE"] == Decimal("24.00")


def test_a_rate_staff_add_applies_from_its_day():
    TaxRate.objects.create(country="IE", rate=Decimal("21.00"), valid_from=dt.date(2030, 1, 1))

    before = tax_rates_in_force(on=dt.date(2029, 12, 31))
    after = tax_rates_in_force(on=dt.date(2030, 1, 1))

    assert (before["IE"], after["IE"]) == (Decimal("23.00"), Decimal("21.00"))
    assert tax_quote(net=10000, buyer_country="IE", buyer_vat_id="", rates=after).tax == 2100


def test_a_country_without_a_rate_is_a_clear_configuration_error():
    TaxRate.objects.filter(country="ES").delete()

    with pytest.raises(TaxRateMissing, match="No VAT rate is in force for ES"):
        tax_quote(net=44000, buyer_country="ES", buyer_vat_id="")


@pytest.mark.parametrize(
    ("net", "rate", "tax"),
    [
        (1, "23", 0),
        (2, "23", 0),
        (3, "23", 1),
        (50, "25.5", 13),
        (10001, "21", 2100),
        (-3, "23", -1),
    ],
)
def test_tax_is_rounded_half_up_to_the_minor_unit(net, rate, tax):
    assert tax_on(net, Decimal(rate)) == tax


@pytest.mark.parametrize(("gross", "rate"), [(54120, "23"), (100, "21"), (-27060, "23"), (1, "19")])
def test_an_amount_with_tax_splits_back_into_net_and_tax(gross, rate):
    net, tax = tax_split(gross, Decimal(rate))

    assert net + tax == gross
    assert abs(tax - tax_on(net, Decimal(rate))) <= 1
