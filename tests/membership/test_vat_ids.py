"""VAT ids checked per country with python-stdnum (membership/vat_ids.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from membership import vat_ids
from membership.vat_ids import vat_id_check_online, vat_id_clean, vat_id_is_valid_eu


@pytest.mark.parametrize(
    ("country", "typed", "saved"),
    [
        ("ES", "ESA12345674", "ESA12345674"),
        ("ES", "es a-1234567-4", "ESA12345674"),  # spaces, dashes, lower case
        ("ES", "A12345674", "ESA12345674"),  # the prefix is added
        ("IE", "IE 1234567T", "IE1234567T"),
        ("GR", "094259216", "EL094259216"),  # Greece's VAT ids start with EL
        ("GB", "GB 980 7806 84", "980780684"),
        ("US", "US-12.345.678", "US12345678"),  # no VAT in the US: a tax id as given
        ("ES", "", ""),
    ],
)
def test_it_keeps_the_compact_form(country, typed, saved):
    assert vat_id_clean(country=country, vat_id=typed) == saved


@pytest.mark.parametrize(
    ("country", "typed", "message"),
    [
        ("ES", "ESA12345678", "ESA12345678 is not a valid VAT ID for Spain"),
        ("IE", "IE1234567X", "IE1234567X is not a valid VAT ID for Ireland"),
        ("ES", "IE1234567T", "This is a VAT ID of another EU country (IE)"),
        ("GB", "GB123", "GB123 is not a valid VAT ID for United Kingdom"),
    ],
)
def test_it_says_what_is_wrong(country, typed, message):
    with pytest.raises(ValidationError) as error:
        vat_id_clean(country=country, vat_id=typed)

    assert message in error.value.messages[0]


def test_the_tax_rule_asks_whether_it_is_a_valid_id_of_that_eu_country():
    assert vat_id_is_valid_eu(country="ES", vat_id="ESA12345674")
    assert not vat_id_is_valid_eu(country="ES", vat_id="ESA12345678")
    assert not vat_id_is_valid_eu(country="ES", vat_id="")
    assert not vat_id_is_valid_eu(country="US", vat_id="US12345678")


def test_vies_is_not_asked_by_default(monkeypatch):
    def vies(*args, **kwargs):
        raise AssertionError("VIES must not be called")

    monkeypatch.setattr(vat_ids.eu_vat, "check_vies", vies)

    vat_id_check_online(country="ES", vat_id="ESA12345674")


# VIES is a service on the internet, which tests cannot reach: its answers are stood in for.


def test_with_vies_on_an_unregistered_id_is_refused(settings, monkeypatch):
    settings.VAT_ID_VIES_CHECK = True
    monkeypatch.setattr(vat_ids.eu_vat, "check_vies", lambda number, timeout: {"valid": False})

    with pytest.raises(ValidationError, match="not a registered VAT ID"):
        vat_id_check_online(country="ES", vat_id="ESA12345674")


def test_with_vies_on_and_unreachable_the_offline_check_decides(settings, monkeypatch):
    settings.VAT_ID_VIES_CHECK = True

    def unreachable(number, timeout):
        raise OSError("VIES is down")

    monkeypatch.setattr(vat_ids.eu_vat, "check_vies", unreachable)

    vat_id_check_online(country="ES", vat_id="ESA12345674")  # accepted
