"""Reads about orders: Billing > Order history and invoices."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from billing.models import Order, OrderStatus
from billing.selectors.invoices import order_documents
from membership.models import Organization

INVOICED_STATUSES = (OrderStatus.PAID, OrderStatus.REFUNDED)


def order_history(*, organization: Organization) -> QuerySet[Order]:
    """The organization's orders, newest first.

    A pending order nobody tried to pay yet is only a checkout someone opened (the wizard opens
    its order on the first step), so it is left out until a payment was attempted.
    """
    return (
        Order.objects.filter(organization=organization)
        .exclude(Q(status=OrderStatus.PENDING) & Q(attempt_count=0))
        .select_related("offer")
        .prefetch_related(order_documents())
        .order_by("-created_at", "-id")
    )


def invoiced_orders(*, organization: Organization) -> QuerySet[Order]:
    """The organization's orders that have an invoice (paid ones, and paid ones refunded since),
    newest first: the invoices, and the orders a support request may be about."""
    return (
        Order.objects.filter(
            organization=organization, status__in=INVOICED_STATUSES, invoice_number__isnull=False
        )
        .select_related("offer", "organization")
        .order_by("-created_at", "-id")
    )
