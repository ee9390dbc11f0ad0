"""The data migration that gives the orders paid before invoices were records their invoice
(billing/migrations/0006_invoices_data.py), run on orders as they were then."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps

from billing.models import Invoice, InvoiceKind, InvoiceSeries, Order, OrderKind, Refund

pytestmark = pytest.mark.django_db

migration = importlib.import_module("billing.migrations.0006_invoices_data")


def legacy_order(organization, offer, *, paid_at=None, status="paid", **fields) -> Order:
    """An order as the portal wrote it before: its total the net catalog price, no tax."""
    price = offer.prices.get(currency=organization.currency)
    return Order.objects.create(
        organization=organization,
        offer=offer,
        kind=OrderKind.PURCHASE,
        term_number=1,
        amount=price.amount,
        currency=price.currency,
        status=status,
        paid_at=paid_at,
        stripe_payment_intent_id="pi_legacy" if paid_at else "",
        invoice_number=f"INV-{paid_at:%Y}-{Order.objects.count() + 1:06d}" if paid_at else None,
        card_brand="visa",
        card_last4="4242",
        **fields,
    )


def test_paid_orders_get_invoices_numbered_in_the_order_they_were_paid(contoso, fabrikam, offer):
    later = legacy_order(contoso, offer, paid_at=dt.datetime(2026, 5, 2, tzinfo=dt.UTC))
    earlier = legacy_order(fabrikam, offer, paid_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    older = legacy_order(fabrikam, offer, paid_at=dt.datetime(2025, 7, 1, tzinfo=dt.UTC))
    pending = legacy_order(contoso, offer, status="pending")

    migration.invoices_issue(apps, None)

    numbers = {order.pk: order.invoices.get().number for order in (later, earlier, older)}
    assert numbers == {
        older.pk: "INV-2025-000001",
        earlier.pk: "INV-2026-000001",
        later.pk: "INV-2026-000002",
    }
    assert Order.objects.get(pk=later.pk).invoice_number == "INV-2026-000002"
    assert InvoiceSeries.objects.get(kind="invoice", year=2026).last_number == 2
    # The pending order's total was its net price: it is priced with tax before any charge.
    pending.refresh_from_db()
    assert (pending.net_amount, pending.tax_treatment) == (47500, "")


def test_what_was_charged_includes_the_vat_the_rules_ask_for(fabrikam, offer):
    order = legacy_order(fabrikam, offer, paid_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))

    migration.invoices_issue(apps, None)

    invoice = Invoice.objects.get(order=order)
    # Fabrikam (no VAT id) was charged €440.00 with nothing on top: Spain's 21 % is in it.
    assert (invoice.total_amount, invoice.net_amount, invoice.tax_amount) == (44000, 36364, 7636)
    assert invoice.tax_treatment == "eu_destination"
    order.refresh_from_db()
    assert (order.amount, order.net_amount, order.tax_amount) == (44000, 36364, 7636)


def test_a_refund_made_before_gets_its_credit_note(contoso, offer):
    order = legacy_order(
        contoso,
        offer,
        paid_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        status="refunded",
        refunded_amount=47500,
    )
    refund = Refund.objects.create(
        order=order,
        amount=47500,
        currency="USD",
        stripe_refund_id="re_legacy",
        created_at=dt.datetime(2026, 2, 10, tzinfo=dt.UTC),
    )

    migration.invoices_issue(apps, None)

    credit_note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert (credit_note.number, credit_note.refund, credit_note.total_amount) == (
        "CN-2026-000001",
        refund,
        -47500,
    )
    assert credit_note.credited_invoice == Invoice.objects.get(kind=InvoiceKind.INVOICE)
