"""``{{ organization.name|unlinked }}``: a name in an email, never a link (``core.text``)."""

from __future__ import annotations

from django import template

from core.text import unlinked as _unlinked

register = template.Library()


@register.filter
def unlinked(value: object) -> str:
    return _unlinked(value)
