from __future__ import annotations

from django import template

from core.money import format_money

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    """``{{ order.amount|money:order.currency }}``"""
    return format_money(amount, currency)
