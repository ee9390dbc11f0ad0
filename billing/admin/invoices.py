"""Invoices, credit notes and VAT rates in the admin.

Documents are read-only (nothing edits an issued invoice: a mistake is corrected by a credit
note, which a refund issues). Staff search them by number, organization or Partner ID, open
their PDF, and export a period as CSV for accounting ("Export CSV", written by a worker while
the page shows its progress: ``billing.admin.background_jobs``). VAT rates are data staff
keep: a change of rate is a new row with the date it takes effect.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.admin.read_only import ReadOnlyAdminMixin, ReadOnlyInline
from billing.models import Invoice, InvoiceLine, InvoiceTaxLine, TaxRate
from billing.selectors.invoices import invoices_for_rendering
from billing.services.background_jobs import invoices_export_start
from billing.services.invoice_pdfs import invoice_pdf
from core import clock
from core.money import format_money


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ("description", "detail", "term_start", "term_end", "net_amount", "tax_rate")
    readonly_fields = fields


class InvoiceTaxLineInline(ReadOnlyInline):
    model = InvoiceTaxLine
    fields = ("rate", "taxable_amount", "tax_amount")
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "kind",
        "issued_at",
        "buyer_name",
        "buyer_partner_id",
        "buyer_country",
        "tax_treatment",
        "total_display",
        "pdf_link",
    )
    list_filter = ("kind", "year", "tax_treatment", "currency", "buyer_country")
    search_fields = (
        "number",
        "buyer_name",
        "buyer_partner_id",
        "organization__name",
        "organization__partner_id",
        "credited_invoice__number",
    )
    date_hierarchy = "issued_at"
    exclude = ("pdf",)
    readonly_fields = [
        *(field.name for field in Invoice._meta.fields if field.name != "pdf"),
        "pdf_link",
    ]
    inlines = [InvoiceLineInline, InvoiceTaxLineInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).defer("pdf")

    @admin.display(description=gettext_lazy("total"), ordering="total_amount")
    def total_display(self, obj: Invoice) -> str:
        return format_money(obj.total_amount, obj.currency)

    @admin.display(description=gettext_lazy("PDF"))
    def pdf_link(self, obj: Invoice) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:billing_invoice_pdf", args=[obj.pk]), obj.filename
        )

    def get_urls(self) -> list[URLPattern]:
        return invoice_admin_urls(self) + super().get_urls()


class InvoiceExportForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=gettext_lazy("To (included)"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            raise forms.ValidationError(_("The period ends before it starts."))
        return cleaned


def invoice_export_view(request: HttpRequest, model_admin: InvoiceAdmin) -> HttpResponse:
    """ "Export CSV": every document issued in a period, for accounting. A worker writes the
    file (``billing.services.invoice_exports``); the page follows its progress."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    today = clock.today()
    form = InvoiceExportForm(
        request.POST if request.method == "POST" else None,
        initial={"start": today.replace(day=1), "end": today},
    )
    if request.method == "POST" and form.is_valid():
        job = invoices_export_start(
            start=form.cleaned_data["start"], end=form.cleaned_data["end"], created_by=request.user
        )
        return HttpResponseRedirect(reverse("admin:billing_backgroundjob_progress", args=[job.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Export invoices and credit notes"),
        "form": form,
    }
    return TemplateResponse(request, "admin/billing/invoice/export.html", context)


def invoice_pdf_view(request: HttpRequest, model_admin: InvoiceAdmin, invoice_id: int):
    document = get_object_or_404(invoices_for_rendering(), pk=invoice_id)
    if not model_admin.has_view_permission(request, document):
        raise PermissionDenied
    response = HttpResponse(invoice_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def invoice_admin_urls(model_admin: InvoiceAdmin) -> list[URLPattern]:
    site = model_admin.admin_site
    return [
        path(
            "export/",
            site.admin_view(lambda request: invoice_export_view(request, model_admin)),
            name="billing_invoice_export",
        ),
        path(
            "<int:invoice_id>/pdf/",
            site.admin_view(
                lambda request, invoice_id: invoice_pdf_view(request, model_admin, invoice_id)
            ),
            name="billing_invoice_pdf",
        ),
    ]


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ("country", "rate", "valid_from")
    list_filter = ("country",)
    search_fields = ("country",)
    ordering = ("country", "-valid_from")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs.setdefault(
            "help_texts",
            {
                "valid_from": _(
                    "The day the rate takes effect. For a change of rate, add a row: invoices "
                    "already issued keep the rate they applied."
                )
            },
        )
        return super().get_form(request, obj, change, **kwargs)
