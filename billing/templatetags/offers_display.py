"""Showing offers and cards the way people read them: term lengths and card brands.

Catalog text in the reader's language is ``{% load localized %}`` (``core.templatetags``)."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


@register.filter
def term_label(months: int) -> str:
    """``12`` → "1 year"; other lengths in months."""
    if months and months % 12 == 0:
        years = months // 12
        return ngettext("%(count)d year", "%(count)d years", years) % {"count": years}
    return ngettext("%(count)d month", "%(count)d months", months) % {"count": months}


@register.filter
def card_label(brand: str) -> str:
    """A card brand as people write it: "visa" → "Visa", "amex" → "American Express"."""
    names = {"amex": "American Express", "mastercard": "Mastercard", "visa": "Visa"}
    return names.get((brand or "").lower(), (brand or _("Card")).title())
