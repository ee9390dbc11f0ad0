"""An invoice's PDF (billing/services/invoice_pdfs.py), read back with pypdf as a reader
would: the number, both parties and their VAT ids, the tax lines, the totals, the legal wording,
in the buyer's invoice language; PDF/A; the same bytes for good."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from pypdf import PdfReader

from billing.models import Invoice
from billing.selectors.invoices import invoices_for_rendering
from billing.services.invoice_pdfs import invoice_pdf, invoice_pdf_render
from membership.models import Organization
from tests.billing.factories import make_card, make_subscription

pytestmark = pytest.mark.django_db

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def invoice_of(organization, offer) -> Invoice:
    subscription = make_subscription(
        organization, offer, started_on=dt.date(2027, 3, 14), payment_method=make_card(organization)
    )
    order = subscription.orders.get()
    return invoices_for_rendering().get(order=order)


@pytest.fixture
def fabrikam_invoice(fabrikam, offer) -> Invoice:
    """Fabrikam SA with its Spanish VAT id: reverse charge, invoices in Spanish."""
    Organization.objects.filter(pk=fabrikam.pk).update(
        vat_id="ESA12345674",
        invoice_language="es",
        address_line1="Calle de Alcalá 1",
        postal_code="28014",
    )
    fabrikam.refresh_from_db()
    return invoice_of(fabrikam, offer)


def test_it_shows_the_number_both_parties_the_tax_and_the_totals_in_spanish(fabrikam_invoice):
    pdf = invoice_pdf(fabrikam_invoice)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "invoice-fabrikam.pdf").write_bytes(pdf)

    text = pdf_text(pdf)
    for expected in (
        "Factura",
        fabrikam_invoice.number,
        "Fecha de emisión",
        # The seller, established in Ireland, with its VAT id.
        "Partner Portal Ireland Limited",
        "1 Grand Canal Quay",
        "NIF-IVA IE9876543H",
        # The buyer as it was at issue.
        "Fabrikam SA",
        "Calle de Alcalá 1",
        "28014 Madrid",
        "España",
        "NIF-IVA ESA12345674",
        "Partner ID 1000002",
        # The line, the tax line and the totals.
        "Suscripción a Microsoft Action Pack",
        "Base imponible",
        "0 %",
        "Total neto 440,00 €",
        "Total (EUR) 440,00 €",
        # The reverse-charge wording, in Spanish.
        "Inversión del sujeto pasivo",
        "artículo 196 de la Directiva 2006/112/CE",
        "Pagado con Visa •••• 4242",
    ):
        assert expected in text, expected


def test_an_irish_buyers_invoice_has_irish_vat_in_english(offer):
    dublin = Organization.objects.create(
        name="Northwind Traders Ltd",
        partner_id="1000009",
        country="IE",
        currency="EUR",
        address_line1="2 Harbour Road",
        city="Dublin",
        vat_id="IE1234567T",
        network_member_since=dt.date(2024, 3, 1),
    )
    text = pdf_text(invoice_pdf(invoice_of(dublin, offer)))

    for expected in (
        "Invoice",
        "VAT ID IE1234567T",
        "VAT rate",
        "Taxable base",
        "23 %",
        "€440.00",
        "€101.20",
        "Net total €440.00",
        "Total (EUR) €541.20",
    ):
        assert expected in text, expected
    assert "Reverse charge" not in text


def test_a_us_buyers_invoice_is_outside_the_scope_of_eu_vat(contoso, offer):
    text = pdf_text(invoice_pdf(invoice_of(contoso, offer)))

    assert "Outside the scope of EU VAT" in text
    assert "Total (USD) $475.00" in text
    assert "Contoso Ltd" in text and "United States" in text


def test_it_is_archival_pdf_a(fabrikam_invoice):
    reader = PdfReader(io.BytesIO(invoice_pdf(fabrikam_invoice)))

    metadata = reader.xmp_metadata
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp
    assert re.search(r'pdfaid:conformance="[AB]"', xmp)
    assert metadata is not None
    assert reader.trailer["/Root"]["/OutputIntents"]  # sRGB, as PDF/A asks
    assert reader.metadata.title == f"Factura {fabrikam_invoice.number}"


def test_the_same_record_renders_the_same_bytes(fabrikam_invoice):
    assert invoice_pdf_render(fabrikam_invoice) == invoice_pdf_render(fabrikam_invoice)


def test_the_bytes_are_stored_at_first_rendering_and_never_change(fabrikam_invoice, fabrikam):
    first = invoice_pdf(fabrikam_invoice)

    # The organization moves and changes its name; the template changes in a later release.
    Organization.objects.filter(pk=fabrikam.pk).update(name="Fabrikam Iberia SL", city="Sevilla")
    again = invoice_pdf(invoices_for_rendering().get(pk=fabrikam_invoice.pk))

    assert again == first
    stored = Invoice.objects.get(pk=fabrikam_invoice.pk)
    assert bytes(stored.pdf) == first
    assert "Fabrikam Iberia" not in pdf_text(again)
