"""Money is formatted for the reader's language from minor units and a currency."""

from __future__ import annotations

import pytest
from django.utils import translation

from core.money import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        (47500, "USD", "en", "$475.00"),
        (47500, "USD", "es", "475,00\u00a0US$"),
        (44000, "EUR", "es", "440,00\u00a0€"),
        (44000, "EUR", "en", "€440.00"),
        (123456789, "USD", "en", "$1,234,567.89"),
        (123456789, "EUR", "es", "1.234.567,89\u00a0€"),
        (5, "USD", "en", "$0.05"),
        (-47500, "USD", "en", "-$475.00"),
    ],
)
def test_it_formats_for_the_language(amount, currency, language, expected):
    assert format_money(amount, currency, language) == expected


def test_it_follows_the_active_language():
    with translation.override("es"):
        assert format_money(10000, "USD") == "100,00\u00a0US$"


def test_nothing_to_format_is_empty():
    assert format_money(None, "USD") == ""
