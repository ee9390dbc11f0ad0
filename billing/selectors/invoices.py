"""Reads about invoices and credit notes: Billing > Invoices, a document's page, the staff's
export for accounting."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet

from billing.models import Invoice, Order
from membership.models import Organization


def invoices_listed() -> QuerySet[Invoice]:
    """Documents without their PDF bytes: lists never load them."""
    return Invoice.objects.defer("pdf")


def invoices_for_organization(
    *, organization: Organization, year: int | None = None
) -> QuerySet[Invoice]:
    """The organization's invoices and credit notes, newest first; one year's, or all."""
    documents = (
        invoices_listed().filter(organization=organization).select_related("credited_invoice")
    )
    if year is not None:
        documents = documents.filter(year=year)
    return documents.order_by("-issued_at", "-id")


def invoice_years(*, organization: Organization) -> list[int]:
    """The years the organization has documents of, newest first (the year filter)."""
    return list(
        Invoice.objects.filter(organization=organization)
        .order_by("-year")
        .values_list("year", flat=True)
        .distinct()
    )


def invoices_for_rendering() -> QuerySet[Invoice]:
    """A document as its page and its PDF render it: lines and tax in two more queries."""
    return (
        invoices_listed().select_related("credited_invoice").prefetch_related("lines", "tax_lines")
    )


def credit_notes_of(*, invoice: Invoice) -> list[Invoice]:
    return list(invoices_listed().filter(credited_invoice=invoice).order_by("issued_at", "id"))


def order_documents() -> Prefetch:
    """``prefetch_related`` for orders: their invoice and credit note as ``order.documents``
    (invoice first), without PDF bytes."""
    return Prefetch(
        "invoices", queryset=invoices_listed().order_by("kind", "id"), to_attr="documents"
    )


def order_invoice(order: Order) -> Invoice | None:
    """The invoice of an order loaded with ``order_documents``."""
    return next((doc for doc in order.documents if not doc.is_credit_note), None)


def invoices_for_export(*, start: dt.date, end: dt.date) -> QuerySet[Invoice]:
    """Every document issued from ``start`` to ``end`` (both included), in number order within
    each series: the staff's export for accounting."""
    return (
        invoices_listed()
        .filter(issued_at__date__gte=start, issued_at__date__lte=end)
        .select_related("credited_invoice")
        .prefetch_related("tax_lines")
        .order_by("kind", "year", "sequence")
    )
