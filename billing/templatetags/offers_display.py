"""Showing catalog rows in the reader's language: ``{{ offer|localized:"name" }}``, terms."""

from __future__ import annotations

from django import template
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


@register.filter
def localized(obj: object, field: str) -> str:
    """The Spanish text (``<field>_es``) when the page is in Spanish and it is filled in."""
    if (translation.get_language() or "en")[:2] == "es":
        spanish = getattr(obj, f"{field}_es", "")
        if spanish:
            return spanish
    return getattr(obj, field, "")


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
