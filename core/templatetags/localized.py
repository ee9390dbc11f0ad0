from __future__ import annotations

from django import template
from django.utils import translation

register = template.Library()


@register.filter
def localized(obj, field: str) -> str:
    """Catalog text in the reader's language: ``{{ offer|localized:"name" }}`` reads ``name_es``
    in Spanish when staff filled it in, else ``name``."""
    language = (translation.get_language() or "en")[:2]
    if language != "en":
        value = getattr(obj, f"{field}_{language}", "")
        if value:
            return value
    return getattr(obj, field, "")
