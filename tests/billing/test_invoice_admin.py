"""Invoices, credit notes and VAT rates in the admin (billing/admin/invoices.py): read-only
documents, searched by number, organization or Partner ID, their PDF, a period as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from billing.models import BackgroundJob, Invoice, TaxRate
from tests.billing.factories import make_card, make_subscription
from tests.support.staff import billing_specialist_create

pytestmark = pytest.mark.django_db

LIST = "/admin/billing/invoice/"
EXPORT = "/admin/billing/invoice/export/"


@pytest.fixture
def billing_specialist(db):
    return billing_specialist_create()


@pytest.fixture
def documents(contoso, fabrikam, offer) -> dict[str, Invoice]:
    """Contoso's invoices of March 2025 and March 2026, Fabrikam's of March 2026."""
    make_subscription(
        contoso,
        offer,
        started_on=dt.date(2025, 3, 14),
        term_number=2,
        payment_method=make_card(contoso),
    )
    make_subscription(fabrikam, offer, started_on=dt.date(2026, 3, 20))
    return {invoice.number: invoice for invoice in Invoice.objects.select_related("organization")}


def test_staff_search_by_number_organization_and_partner_id(login, billing_specialist, documents):
    client = login(billing_specialist)

    for query, expected in [
        ("INV-2025-000001", {"INV-2025-000001"}),
        ("Fabrikam", {"INV-2026-000002"}),
        ("1000001", {"INV-2025-000001", "INV-2026-000001"}),
    ]:
        response = client.get(LIST, {"q": query})
        assert response.status_code == 200
        shown = {invoice.number for invoice in response.context["cl"].result_list}
        assert shown == expected, query


def test_a_document_is_read_only_with_its_pdf(login, billing_specialist, documents):
    client = login(billing_specialist)
    invoice = documents["INV-2025-000001"]

    page = client.get(f"{LIST}{invoice.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="buyer_name"' not in html  # nothing to edit
    assert "INV-2025-000001.pdf" in html
    assert client.get(f"{LIST}add/").status_code == 403
    assert client.post(f"{LIST}{invoice.pk}/delete/", {"post": "yes"}).status_code == 403
    pdf = client.get(f"{LIST}{invoice.pk}/pdf/")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")


def test_a_period_exports_as_csv_for_accounting(login, billing_specialist, documents):
    client = login(billing_specialist)
    progress = client.post(EXPORT, {"start": "2026-03-01", "end": "2026-03-31"}, follow=True)
    job = BackgroundJob.objects.get()

    assert progress.redirect_chain == [(f"/admin/billing/backgroundjob/{job.pk}/progress/", 302)]
    response = client.get(f"/admin/billing/backgroundjob/{job.pk}/download/")

    assert response["Content-Type"] == "text/csv"
    assert 'filename="invoices-2026-03-01-2026-03-31.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["number"] for row in rows] == ["INV-2026-000001", "INV-2026-000002"]
    contoso_row, fabrikam_row = rows
    assert (contoso_row["partner_id"], contoso_row["tax_treatment"]) == ("1000001", "outside_eu")
    assert (contoso_row["net"], contoso_row["tax"], contoso_row["total"]) == (
        "475.00",
        "0.00",
        "475.00",
    )
    # Fabrikam of the fixtures has no VAT id: Spain's 21 %.
    assert (fabrikam_row["buyer_country"], fabrikam_row["tax_rate"]) == ("ES", "21.00")
    assert (fabrikam_row["net"], fabrikam_row["tax"], fabrikam_row["total"]) == (
        "440.00",
        "92.40",
        "532.40",
    )


def test_the_export_refuses_a_period_that_ends_before_it_starts(login, billing_specialist):
    response = login(billing_specialist).post(EXPORT, {"start": "2026-03-31", "end": "2026-03-01"})

    assert response.status_code == 200
    assert "The period ends before it starts." in response.content.decode()
    assert not BackgroundJob.objects.exists()


def test_staff_without_the_permission_see_no_invoices(login, agent, documents):
    client = login(agent)  # staff, in no group

    assert client.get(LIST).status_code == 403
    assert client.get(EXPORT).status_code == 403


def test_the_billing_specialist_keeps_the_vat_rates(login, billing_specialist):
    client = login(billing_specialist)

    response = client.post(
        "/admin/billing/taxrate/add/",
        {"country": "IE", "rate": "21.00", "valid_from": "2030-01-01"},
    )

    assert response.status_code == 302
    assert TaxRate.objects.filter(country="IE", valid_from=dt.date(2030, 1, 1)).exists()
    assert TaxRate.objects.filter(country="ES").count() == 1  # seeded by the data migration
