"""Billing > Order history, and the printable invoice of each paid order."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from billing.selectors.orders import INVOICED_STATUSES, invoiced_orders, order_history
from membership.access import get_for_organization_or_404, member_required
from membership.permissions import Action

# Until the lead adds SELLER_NAME / SELLER_ADDRESS to settings (the seller printed on invoices).
DEFAULT_SELLER_NAME = "Partner Portal"
DEFAULT_SELLER_ADDRESS = "One Microsoft Way\nRedmond, WA 98052\nUnited States"


def seller() -> dict[str, object]:
    address = getattr(settings, "SELLER_ADDRESS", DEFAULT_SELLER_ADDRESS)
    return {
        "name": getattr(settings, "SELLER_NAME", DEFAULT_SELLER_NAME),
        "address_lines": [line for line in address.splitlines() if line.strip()],
    }


@require_safe
@member_required(Action.VIEW_ORDERS)
def orders(request: HttpRequest) -> HttpResponse:
    history = order_history(organization=request.organization)
    context = {"orders": history, "invoiced_statuses": INVOICED_STATUSES}
    return render(request, "billing/orders.html", context)


@require_safe
@member_required(Action.VIEW_ORDERS)
def invoice(request: HttpRequest, order_id: int) -> HttpResponse:
    # Only paid (or since refunded) orders have an invoice; any other order id is a 404.
    order = get_for_organization_or_404(invoiced_orders(), request, pk=order_id)
    context = {
        "order": order,
        "organization": order.organization,
        "seller": seller(),
        "tax_amount": 0,
    }
    return render(request, "billing/invoice.html", context)
