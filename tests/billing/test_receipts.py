"""Receipts (billing/services/receipts.py): every paid order's email, with its invoice's PDF
attached, once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from billing.models import Invoice, ReminderKind, ReminderSent
from billing.services.renewals import subscription_renew_automatically
from core import clock
from tests.billing.renewal_helpers import card_on_file, moment, purchase, subscription_due_on

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

ANNIVERSARY = dt.date(2027, 3, 10)


def test_a_purchase_sends_its_receipt_with_the_invoice_attached(
    localstripe, contoso, alice, bob, bea, offer, django_capture_on_commit_callbacks
):
    clock.set_now(dt.datetime(2027, 3, 14, 10, 0, tzinfo=dt.UTC))
    card = card_on_file(contoso)
    mail.outbox = []

    with django_capture_on_commit_callbacks(execute=True):
        order = purchase(contoso, offer, bob, card)

    invoice = Invoice.objects.get(order=order)
    # The people who may buy get it (as every billing email): alice and bob.
    assert sorted(message.to[0] for message in mail.outbox) == [alice.email, bob.email]
    message = mail.outbox[0]
    assert message.subject == (
        f"Your Microsoft Action Pack subscription purchase: invoice {invoice.number}"
    )
    assert "Amount: $475.00" in message.body
    assert f"Your invoice {invoice.number} is attached as a PDF." in message.body
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert content == bytes(Invoice.objects.get(pk=invoice.pk).pdf)  # the stored document
    assert ReminderSent.objects.filter(kind=ReminderKind.PURCHASE_RECEIPT).count() == 1


def test_an_automatic_renewal_sends_its_receipt_with_the_invoice_attached(
    localstripe, fabrikam, charlie, offer
):
    subscription = subscription_due_on(fabrikam, offer, ANNIVERSARY, card=card_on_file(fabrikam))
    clock.set_now(moment(ANNIVERSARY))
    mail.outbox = []

    subscription_renew_automatically(subscription_id=subscription.pk)

    invoice = Invoice.objects.get(order__subscription=subscription, order__term_number=2)
    [message] = mail.outbox
    assert message.to == [charlie.email]
    # Fabrikam (no VAT id in the fixture) pays Spain's VAT on top of the price.
    assert "Amount: €532.40 (including €92.40 VAT)" in message.body
    [(filename, content, _mimetype)] = message.attachments
    assert filename == f"{invoice.number}.pdf"
    assert content.startswith(b"%PDF-")


def test_a_receipt_whose_pdf_cannot_be_made_still_goes_out(
    localstripe, contoso, alice, bob, offer, monkeypatch, django_capture_on_commit_callbacks
):
    from billing.services import invoice_pdfs

    def broken(invoice):
        raise RuntimeError("no fonts on this server")

    monkeypatch.setattr(invoice_pdfs, "invoice_pdf_render", broken)
    clock.set_now(dt.datetime(2027, 3, 14, 10, 0, tzinfo=dt.UTC))
    mail.outbox = []

    with django_capture_on_commit_callbacks(execute=True):
        order = purchase(contoso, offer, bob, card_on_file(contoso))

    assert len(mail.outbox) == 2
    assert mail.outbox[0].attachments == []
    assert "Billing > Invoices" in mail.outbox[0].body
    assert Invoice.objects.get(order=order).pdf is None  # rendered at the first download
