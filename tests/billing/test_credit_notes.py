"""A refund issues a credit note (billing/services/invoices.py, from the cancellation's
transaction): its own series, the invoice it corrects, negative amounts with the invoice's tax
split; exactly one, even on a double click; the partner sees, downloads and is emailed it."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader

from billing.models import Invoice, InvoiceKind, Refund
from billing.services.cancellations import subscription_cancel
from core import clock
from membership.models import Organization
from tests.billing.cancellation_setup import purchase_order, subscription_bought
from tests.support.admin_forms import form_data
from tests.support.staff import billing_specialist_create

pytestmark = pytest.mark.django_db

BOUGHT = dt.datetime(2027, 3, 14, 10, 0, tzinfo=dt.UTC)
REFUNDED = dt.datetime(2027, 3, 20, 16, 0, tzinfo=dt.UTC)


@pytest.fixture
def billing_specialist(db):
    return billing_specialist_create()


@pytest.fixture
def irish(contoso):
    """Contoso, moved to Dublin for these tests: Irish VAT (23 %) on its invoices."""
    Organization.objects.filter(pk=contoso.pk).update(
        country="IE", currency="EUR", city="Dublin", region="", postal_code="D02 X576"
    )
    contoso.refresh_from_db()
    return contoso


@pytest.fixture
def bought(localstripe, irish, offer, bob):
    with clock.frozen_at(BOUGHT):
        return subscription_bought(localstripe, irish, offer, bob)


def cancel_page(subscription) -> str:
    return f"/admin/billing/subscription/{subscription.pk}/cancel/"


def refund_in_the_admin(client, subscription, **choices) -> None:
    url = cancel_page(subscription)
    data = form_data(client.get(url).content.decode(), "cancel-subscription-form")
    data.update({"reason": "Bought by mistake", **choices})
    return data


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_a_full_refund_issues_a_credit_note_of_the_whole_invoice(
    login, billing_specialist, bought, localstripe
):
    invoice = Invoice.objects.get(order=purchase_order(bought))
    client = login(billing_specialist)
    data = refund_in_the_admin(client, bought)

    with clock.frozen_at(REFUNDED):
        client.post(cancel_page(bought), data)

    credit_note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert credit_note.number == "CN-2027-000001"
    assert credit_note.credited_invoice == invoice
    assert credit_note.refund == Refund.objects.get(order=invoice.order)
    assert credit_note.issued_at == REFUNDED
    assert (credit_note.net_amount, credit_note.tax_amount, credit_note.total_amount) == (
        -invoice.net_amount,
        -invoice.tax_amount,
        -invoice.total_amount,
    )
    assert (credit_note.net_amount, credit_note.tax_amount) == (-44000, -10120)
    [tax] = credit_note.tax_lines.all()
    assert (tax.rate, tax.taxable_amount, tax.tax_amount) == (23, -44000, -10120)
    [line] = credit_note.lines.all()
    assert line.detail == f"Refund of invoice {invoice.number}"
    # The buyer is the invoice's; the invoice series goes on without it.
    assert credit_note.buyer_name == invoice.buyer_name
    assert Invoice.objects.filter(kind=InvoiceKind.INVOICE).count() == 1
    refunds = localstripe.refunds(payment_intent=invoice.order.stripe_payment_intent_id)
    assert [refund["amount"] for refund in refunds] == [54120]


def test_a_double_click_issues_one_credit_note_and_refunds_once(
    login, billing_specialist, bought, localstripe
):
    client = login(billing_specialist)
    data = refund_in_the_admin(client, bought)

    first = client.post(cancel_page(bought), data)
    second = client.post(cancel_page(bought), data)  # the same form, submitted again

    assert first.status_code == 302
    assert second.status_code in (200, 302)
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1
    order = purchase_order(bought)
    assert len(localstripe.refunds(payment_intent=order.stripe_payment_intent_id)) == 1


def test_a_partial_refund_credits_its_share_of_net_and_tax(bought, billing_specialist):
    with clock.frozen_at(REFUNDED):
        subscription_cancel(
            subscription=bought,
            actor=billing_specialist,
            at_term_end=True,
            refund_amount=10000,  # €100.00 of the €541.20 paid
            reason="Goodwill",
        )

    credit_note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    # €100.00 with 23 % VAT in it: €81.30 net, €18.70 VAT.
    assert (credit_note.net_amount, credit_note.tax_amount, credit_note.total_amount) == (
        -8130,
        -1870,
        -10000,
    )
    [tax] = credit_note.tax_lines.all()
    assert (tax.taxable_amount, tax.tax_amount) == (-8130, -1870)


def test_no_refund_no_credit_note(bought, billing_specialist):
    subscription_cancel(
        subscription=bought,
        actor=billing_specialist,
        at_term_end=False,
        refund_amount=0,
        reason="Partner asked",
    )

    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()


def test_the_partner_sees_downloads_and_is_emailed_the_credit_note(
    login, bob, bea, bought, billing_specialist, django_capture_on_commit_callbacks
):
    mail.outbox = []
    with clock.frozen_at(REFUNDED), django_capture_on_commit_callbacks(execute=True):
        subscription_cancel(
            subscription=bought,
            actor=billing_specialist,
            at_term_end=False,
            refund_amount=None,
            reason="Bought by mistake",
        )
    credit_note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)

    invoices_page = login(bea).get(reverse("billing:invoices")).content.decode()
    assert credit_note.number in invoices_page
    assert f"corrects {credit_note.credited_invoice.number}" in invoices_page
    invoice_page = login(bea).get(
        reverse("billing:invoice", args=[credit_note.credited_invoice.pk])
    )
    assert credit_note.number in invoice_page.content.decode()  # beside the invoice
    download = login(bea).get(reverse("billing:invoice_pdf", args=[credit_note.pk]))
    assert download["Content-Disposition"] == 'attachment; filename="CN-2027-000001.pdf"'
    text = pdf_text(download.content)
    for expected in (
        "Credit note",
        "CN-2027-000001",
        f"Corrects invoice {credit_note.credited_invoice.number}",
        "-€440.00",
        "-€101.20",
        "Total credited (EUR) -€541.20",
        "Refunded to Visa •••• 4242",
    ):
        assert expected in text, expected

    [email] = [message for message in mail.outbox if message.to == [bob.email]]
    assert email.subject == "Your Microsoft Action Pack subscription has been canceled"
    assert "Credit note CN-2027-000001" in email.body
    [(filename, content, mimetype)] = email.attachments
    assert (filename, mimetype) == ("CN-2027-000001.pdf", "application/pdf")
    assert content == download.content  # the same bytes as the download
