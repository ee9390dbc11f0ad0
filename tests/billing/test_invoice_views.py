"""Billing > Invoices (billing/views/invoices.py): the list with its year filter, a document's
page, and **Download invoice** (the PDF)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from billing.models import Invoice
from membership.models import Organization
from tests.billing.factories import make_card, make_subscription

pytestmark = pytest.mark.django_db

LIST = reverse("billing:invoices")


def page_url(invoice: Invoice) -> str:
    return reverse("billing:invoice", args=[invoice.pk])


def pdf_url(invoice: Invoice) -> str:
    return reverse("billing:invoice_pdf", args=[invoice.pk])


@pytest.fixture
def invoices(contoso, offer) -> list[Invoice]:
    """Contoso's purchase (2025) and first renewal (2026), newest first."""
    contoso.vat_id = "US123456789"
    contoso.save()
    subscription = make_subscription(
        contoso,
        offer,
        started_on=dt.date(2025, 3, 14),
        term_number=2,
        payment_method=make_card(contoso, last4="4242"),
    )
    return list(Invoice.objects.filter(order__subscription=subscription).order_by("-issued_at"))


def test_it_lists_the_organizations_invoices_newest_first(login, bea, invoices):
    response = login(bea).get(LIST)

    assert response.status_code == 200
    assert list(response.context["documents"]) == invoices
    page = response.content.decode()
    assert [invoice.number for invoice in invoices] == ["INV-2026-000001", "INV-2025-000001"]
    for invoice in invoices:
        assert invoice.number in page
        assert pdf_url(invoice) in page
    assert page.count("$475.00") == 4  # net and total of each: outside the EU, no VAT


def test_it_filters_by_year(login, bea, invoices):
    response = login(bea).get(LIST, {"year": "2025"})

    assert list(response.context["documents"]) == [invoices[1]]
    page = response.content.decode()
    assert 'href="?year=2026"' in page and 'href="?"' in page
    assert 'aria-current="page">2025<' in page


def test_an_unknown_year_shows_every_year(login, bea, invoices):
    for year in ("1999x", "2031"):
        assert list(login(bea).get(LIST, {"year": year}).context["documents"]) == invoices


def test_it_says_when_there_is_no_invoice_yet(login, bea):
    page = login(bea).get(LIST).content.decode()

    assert "Your organization has no invoices yet." in page


def test_it_shows_an_invoice_as_it_was_issued(login, bea, invoices):
    invoice = invoices[1]

    response = login(bea).get(page_url(invoice))

    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "INV-2025-000001",
        "Partner Portal Ireland Limited",  # the seller, from settings at issue
        "1 Grand Canal Quay",
        "VAT ID IE9876543H",
        "Contoso Ltd",  # billed to, from the organization profile at issue
        "1 Microsoft Way",
        "98052 Redmond",
        "VAT ID US123456789",
        "Partner ID 1000001",
        "Microsoft Action Pack subscription",
        "Subscription purchase",
        "March 14, 2025 – March 14, 2026",  # the term
        "Outside the scope of EU VAT",
        "Visa •••• 4242",
    ):
        assert text in page, text
    assert '<td class="number" data-testid="tax">$0.00</td>' in page
    assert '<td class="number" data-testid="total">$475.00</td>' in page
    assert pdf_url(invoice) in page


def test_the_invoice_keeps_the_details_it_was_issued_with(login, bea, contoso, invoices):
    invoice = invoices[1]
    login(bea).get(pdf_url(invoice))  # downloaded once

    Organization.objects.filter(pk=contoso.pk).update(
        name="Contoso Corporation", address_line1="9 New Street", vat_id="US999"
    )

    page = login(bea).get(page_url(invoice)).content.decode()
    document = page.split('data-testid="invoice"', 1)[1].split("</article>", 1)[0]
    assert "Contoso Ltd" in document and "1 Microsoft Way" in document
    assert "US123456789" in document
    assert "Contoso Corporation" not in document and "9 New Street" not in document
    pdf = login(bea).get(pdf_url(invoice)).content
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Contoso Ltd" in text and "US999" not in text


def test_download_gives_the_pdf_with_the_number_in_its_name(login, bea, invoices):
    invoice = invoices[0]

    response = login(bea).get(pdf_url(invoice))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="INV-2026-000001.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert response.content.startswith(b"%PDF-")
    assert login(bea).get(pdf_url(invoice)).content == response.content


@pytest.mark.parametrize("person", ["alice", "bob", "bea"])
def test_the_roles_that_see_invoices_may_download_them(request, login, person, invoices):
    client = login(request.getfixturevalue(person))

    assert client.get(LIST).status_code == 200
    assert client.get(pdf_url(invoices[0])).status_code == 200


@pytest.mark.parametrize("name", ["billing:invoices", "billing:invoice", "billing:invoice_pdf"])
def test_it_rejects_post(login, bea, invoices, name):
    args = [] if name == "billing:invoices" else [invoices[0].pk]

    assert login(bea).post(reverse(name, args=args)).status_code == 405


def test_it_404s_for_another_organizations_invoice(login, bea, fabrikam, offer):
    theirs = make_subscription(fabrikam, offer, started_on=dt.date(2025, 3, 14))
    invoice = Invoice.objects.get(order__subscription=theirs)

    assert login(bea).get(page_url(invoice)).status_code == 404
    assert login(bea).get(pdf_url(invoice)).status_code == 404
    assert invoice.number not in login(bea).get(LIST).content.decode()


def test_it_404s_for_an_unknown_invoice(login, bea):
    assert login(bea).get(reverse("billing:invoice_pdf", args=[999999])).status_code == 404


def test_it_requires_a_role_that_sees_invoices(login, axel, victor, invoices):
    for person in (axel, victor):
        client = login(person)
        assert client.get(LIST).status_code == 403
        assert client.get(page_url(invoices[0])).status_code == 403
        assert client.get(pdf_url(invoices[0])).status_code == 403
