from __future__ import annotations

from django import template

from billing.selectors.payments import payment_failure_reason

register = template.Library()


@register.filter
def failure_reason(order) -> str:
    """``{{ order|failure_reason }}``: why its last charge failed, in the reader's language."""
    return payment_failure_reason(code=order.failure_code, message=order.failure_message)
