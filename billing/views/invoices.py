"""Billing > Invoices: the organization's invoices and credit notes, each one's page, and its
PDF (**Download invoice**)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from billing.forms import InvoiceYearForm
from billing.models import Invoice
from billing.selectors.invoices import (
    credit_notes_of,
    invoice_years,
    invoices_for_organization,
    invoices_for_rendering,
)
from billing.services.invoice_pdfs import invoice_document_context, invoice_pdf
from membership.access import get_for_organization_or_404, member_required
from membership.permissions import Action


def _invoice_or_404(request: HttpRequest, invoice_id: int) -> Invoice:
    # Another organization's document, or any unknown id, is a 404 that reveals nothing.
    return get_for_organization_or_404(invoices_for_rendering(), request, pk=invoice_id)


@require_safe
@member_required(Action.VIEW_ORDERS)
def invoices(request: HttpRequest) -> HttpResponse:
    years = invoice_years(organization=request.organization)
    form = InvoiceYearForm(request.GET or None, years=years)
    year = form.cleaned_data["year"] if form.is_valid() else None
    context = {
        "form": form,
        "year": year,
        "documents": invoices_for_organization(organization=request.organization, year=year),
    }
    return render(request, "billing/invoices.html", context)


@require_safe
@member_required(Action.VIEW_ORDERS)
def invoice(request: HttpRequest, invoice_id: int) -> HttpResponse:
    document = _invoice_or_404(request, invoice_id)
    context = {
        **invoice_document_context(document),
        "credit_notes": [] if document.is_credit_note else credit_notes_of(invoice=document),
    }
    return render(request, "billing/invoice.html", context)


@require_safe
@member_required(Action.VIEW_ORDERS)
def invoice_pdf_download(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """**Download invoice**: the document's PDF, the same bytes every time."""
    document = _invoice_or_404(request, invoice_id)
    response = HttpResponse(invoice_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    # A legal document of the organization: never in a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response
