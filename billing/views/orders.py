"""Billing > Order history, and the printable invoice of each paid order."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from billing.selectors.orders import INVOICED_STATUSES, invoiced_orders, order_history
from membership.access import member_required
from membership.permissions import Action


def seller() -> dict[str, object]:
    """The seller printed on invoices (``SELLER_NAME``, ``SELLER_ADDRESS``)."""
    return {
        "name": settings.SELLER_NAME,
        "address_lines": [line for line in settings.SELLER_ADDRESS.splitlines() if line.strip()],
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
    # Scoped to the request's organization, and only paid (or since refunded) orders have an
    # invoice: another organization's order, or any other order id, is a 404.
    order = get_object_or_404(invoiced_orders(organization=request.organization), pk=order_id)
    context = {
        "order": order,
        "organization": order.organization,
        "seller": seller(),
        "tax_amount": 0,
    }
    return render(request, "billing/invoice.html", context)
