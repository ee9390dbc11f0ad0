"""An invoice's PDF: rendered once by WeasyPrint from the invoice's template, then stored.

The bytes of an issued document never change: the first rendering is stored in the invoice
row (``Invoice.pdf``, written once, by a conditional UPDATE) and every download and email
after it sends those bytes. Rendering is deterministic as well (the same frozen record gives
the same bytes: its dates are the issue date, its file id a hash of its content), but it
depends on the template, the translations, the fonts and WeasyPrint's version, any of which
may change in a year; storing is what makes the document final (docs/invoices.md).

The PDF is archival PDF/A-3a (tagged, so screen readers can follow it), in the invoice's
language, from ``templates/billing/invoice_pdf.html``, which includes the same document
template as the HTML page (``templates/billing/_invoice_document.html``), laid out on A4 by
``templates/billing/invoice_pdf.css``.
"""

from __future__ import annotations

import hashlib
import logging

from django.template.loader import render_to_string
from django.utils import translation

from billing.models import Invoice

logger = logging.getLogger(__name__)

PDF_VARIANT = "pdf/a-3a"


class _NoFetching(Exception):
    pass


def _refuse_fetch(url: str, *args, **kwargs):
    """The template needs nothing from outside (styles are inline, fonts are the system's):
    a document never makes the server fetch a URL."""
    raise _NoFetching(f"invoice PDFs fetch nothing: {url}")


def invoice_document_context(invoice: Invoice) -> dict:
    """What the document template needs: the invoice with its lines and tax lines."""
    return {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "tax_lines": list(invoice.tax_lines.all()),
        "credited_number": invoice.credited_invoice.number if invoice.credited_invoice_id else "",
    }


def invoice_pdf_html(invoice: Invoice) -> str:
    """The HTML WeasyPrint lays out: the document template in the invoice's language."""
    with translation.override(invoice.language):
        return render_to_string("billing/invoice_pdf.html", invoice_document_context(invoice))


def invoice_pdf_render(invoice: Invoice) -> bytes:
    """Lay the invoice out as a PDF/A document. Pure: the same record gives the same bytes."""
    # WeasyPrint (and its Pango/fontTools stack) is heavy to import: only where PDFs are made.
    from weasyprint import CSS, HTML

    html = HTML(string=invoice_pdf_html(invoice), url_fetcher=_refuse_fetch)
    layout = CSS(string=render_to_string("billing/invoice_pdf.css"), url_fetcher=_refuse_fetch)
    return html.write_pdf(stylesheets=[layout], pdf_variant=PDF_VARIANT)


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice's PDF: the stored bytes, or the first rendering, stored now.

    Two first downloads at once may both render; the conditional UPDATE keeps the first
    stored, and both send what is stored.
    """
    stored = _stored_pdf(invoice)
    if stored is not None:
        return stored
    pdf = invoice_pdf_render(invoice)
    Invoice.objects.filter(pk=invoice.pk, pdf__isnull=True).update(
        pdf=pdf, pdf_sha256=hashlib.sha256(pdf).hexdigest()
    )
    stored = _stored_pdf(invoice, reload=True)
    return stored if stored is not None else pdf


def invoices_pdfs(invoices: list[Invoice]) -> dict[int, bytes]:
    """``invoice_pdf`` for many documents (a batch's receipts), by invoice id, in a fixed
    number of statements: those without a PDF are rendered and stored with one UPDATE (which
    leaves alone any stored meanwhile), then every PDF is read back in one query."""
    if not invoices:
        return {}
    stored = dict(
        Invoice.objects.filter(
            pk__in=[invoice.pk for invoice in invoices], pdf__isnull=False
        ).values_list("pk", "pdf")
    )
    missing = [invoice for invoice in invoices if invoice.pk not in stored]
    for invoice in missing:
        invoice.pdf = invoice_pdf_render(invoice)
        invoice.pdf_sha256 = hashlib.sha256(invoice.pdf).hexdigest()
    if missing:
        # bulk_update runs on this queryset: only rows still without a PDF are written.
        Invoice.objects.filter(pdf__isnull=True).bulk_update(missing, ["pdf", "pdf_sha256"])
        stored = dict(
            Invoice.objects.filter(pk__in=[invoice.pk for invoice in invoices]).values_list(
                "pk", "pdf"
            )
        )
    return {pk: bytes(pdf) for pk, pdf in stored.items() if pdf is not None}


def _stored_pdf(invoice: Invoice, *, reload: bool = False) -> bytes | None:
    if not reload and "pdf" in invoice.__dict__ and invoice.pdf is not None:
        return bytes(invoice.pdf)
    pdf = Invoice.objects.filter(pk=invoice.pk).values_list("pdf", flat=True).first()
    return bytes(pdf) if pdf is not None else None
