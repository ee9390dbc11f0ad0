"""Billing > Order history: every purchase and renewal, its payment, and its documents."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from billing.selectors.orders import next_charge, order_history
from membership.access import member_required
from membership.permissions import Action


@require_safe
@member_required(Action.VIEW_ORDERS)
def orders(request: HttpRequest) -> HttpResponse:
    context = {
        "next_charge": next_charge(organization=request.organization),
        "orders": order_history(organization=request.organization),
    }
    return render(request, "billing/orders.html", context)
