"""Issuing invoices (billing/services/invoices.py) with the payment that pays them
(``orders_mark_paid``): frozen copies, gapless series, nothing edits an issued one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceSeries,
    IssuedInvoiceIsFinal,
    Order,
    OrderKind,
    OrderStatus,
)
from billing.services import payment_outcomes
from billing.services.payment_outcomes import order_mark_paid, orders_mark_paid
from billing.stripe_gateway import PaymentIntentResult
from core import clock
from membership.models import Organization

pytestmark = pytest.mark.django_db

PAID_AT = dt.datetime(2027, 3, 14, 15, 0, tzinfo=dt.UTC)


def intent_for(order: Order) -> PaymentIntentResult:
    return PaymentIntentResult(
        id=f"pi_test_{order.pk}",
        status="succeeded",
        amount=order.amount,
        currency=order.currency.lower(),
        client_secret="",
        customer=None,
        payment_method=None,
    )


def purchase_order(organization: Organization, offer, **fields) -> Order:
    """A purchase being paid, priced as ``order_open_purchase`` prices it."""
    from billing.tax import organization_tax_quote

    price = offer.prices.get(currency=organization.currency)
    quote = organization_tax_quote(organization=organization, net=price.amount)
    return Order.objects.create(
        organization=organization,
        offer=offer,
        kind=OrderKind.PURCHASE,
        term_number=1,
        currency=price.currency,
        status=OrderStatus.PROCESSING,
        card_brand="visa",
        card_last4="4242",
        **quote.order_fields,
        **fields,
    )


def paid(order: Order, at: dt.datetime = PAID_AT) -> Invoice:
    with clock.frozen_at(at):
        order_mark_paid(order=order, attempt=None, intent=intent_for(order))
    return Invoice.objects.get(order=order, kind=InvoiceKind.INVOICE)


@pytest.fixture
def spanish_buyer(fabrikam) -> Organization:
    Organization.objects.filter(pk=fabrikam.pk).update(
        address_line1="Calle de Alcalá 1", postal_code="28014", invoice_language="es"
    )
    fabrikam.refresh_from_db()
    return fabrikam


def test_a_paid_order_gets_its_invoice_in_the_same_transaction(spanish_buyer, offer):
    order = purchase_order(spanish_buyer, offer)

    invoice = paid(order)

    order.refresh_from_db()
    assert (order.status, order.invoice_number) == (OrderStatus.PAID, "INV-2027-000001")
    assert (invoice.number, invoice.year, invoice.sequence) == ("INV-2027-000001", 2027, 1)
    assert invoice.issued_at == invoice.paid_at == PAID_AT
    # Frozen: the seller from settings, the buyer from its profile, in its invoice language.
    assert (invoice.seller_name, invoice.seller_country, invoice.seller_vat_id) == (
        "Partner Portal Ireland Limited",
        "IE",
        "IE9876543H",
    )
    assert invoice.seller_address == "1 Grand Canal Quay\nDublin 2, D02 X576\nIreland"
    assert (invoice.buyer_name, invoice.buyer_partner_id, invoice.buyer_country) == (
        "Fabrikam SA",
        "1000002",
        "ES",
    )
    assert invoice.buyer_address == "Calle de Alcalá 1\n28014 Madrid\nEspaña"
    assert invoice.language == "es"
    # No VAT id: Spain's VAT, as the order was charged.
    assert (invoice.net_amount, invoice.tax_amount, invoice.total_amount) == (44000, 9240, 53240)
    assert invoice.tax_treatment == "eu_destination"
    [line] = invoice.lines.all()
    assert (line.net_amount, line.tax_rate) == (44000, Decimal("21.00"))
    assert (line.term_start, line.term_end) == (dt.date(2027, 3, 14), dt.date(2028, 3, 14))
    [tax] = invoice.tax_lines.all()
    assert (tax.rate, tax.taxable_amount, tax.tax_amount) == (Decimal("21.00"), 44000, 9240)
    assert (invoice.card_brand, invoice.card_last4) == ("visa", "4242")


def test_the_invoice_is_unchanged_after_the_organization_changes(spanish_buyer, offer):
    invoice = paid(purchase_order(spanish_buyer, offer))
    before = Invoice.objects.values().get(pk=invoice.pk)

    Organization.objects.filter(pk=spanish_buyer.pk).update(
        name="Fabrikam Iberia SL",
        address_line1="Avenida de la Constitución 2",
        city="Sevilla",
        postal_code="41001",
        vat_id="ESA12345674",
        invoice_language="en",
    )

    assert Invoice.objects.values().get(pk=invoice.pk) == before


def test_nothing_edits_an_issued_invoice(contoso, offer):
    invoice = paid(purchase_order(contoso, offer))
    invoice.buyer_name = "Someone else"

    with pytest.raises(IssuedInvoiceIsFinal):
        invoice.save()
    assert Invoice.objects.get(pk=invoice.pk).buyer_name == "Contoso Ltd"


def test_a_payment_reported_twice_issues_one_invoice(contoso, offer):
    order = purchase_order(contoso, offer)
    paid(order)

    paid(Order.objects.get(pk=order.pk))  # the webhook after the browser

    assert Invoice.objects.filter(order=order).count() == 1
    assert InvoiceSeries.objects.get(kind="invoice", year=2027).last_number == 1


def test_a_batch_is_numbered_in_order_of_its_orders(contoso, fabrikam, offer):
    orders = [purchase_order(contoso, offer), purchase_order(fabrikam, offer)]

    with clock.frozen_at(PAID_AT):
        orders_mark_paid(payments=[(order, None, intent_for(order)) for order in orders])

    numbers = [Invoice.objects.get(order=order).number for order in orders]
    assert numbers == ["INV-2027-000001", "INV-2027-000002"]


def test_each_year_has_its_own_series(contoso, fabrikam, offer):
    last_of_2027 = paid(
        purchase_order(contoso, offer), dt.datetime(2027, 12, 31, 23, 59, tzinfo=dt.UTC)
    )
    first_of_2028 = paid(
        purchase_order(fabrikam, offer), dt.datetime(2028, 1, 1, 0, 1, tzinfo=dt.UTC)
    )

    assert (last_of_2027.number, first_of_2028.number) == ("INV-2027-000001", "INV-2028-000001")


def test_a_payment_rolled_back_gives_its_number_back(contoso, fabrikam, offer, monkeypatch):
    failing = purchase_order(contoso, offer)

    def broken(**kwargs):
        raise RuntimeError("the database went away mid-payment")

    # The audit is written after the invoice took its number, in the same transaction.
    monkeypatch.setattr(payment_outcomes, "audit_event", broken)
    with pytest.raises(RuntimeError):
        paid(failing)
    monkeypatch.undo()

    assert not Invoice.objects.exists()
    assert Order.objects.get(pk=failing.pk).status == OrderStatus.PROCESSING
    assert paid(purchase_order(fabrikam, offer)).number == "INV-2027-000001"


def test_an_order_priced_before_invoices_had_tax_is_split_as_charged(fabrikam, offer):
    """Opened before the upgrade, charged after: its total was the net catalog price."""
    order = Order.objects.create(
        organization=fabrikam,
        offer=offer,
        kind=OrderKind.PURCHASE,
        term_number=1,
        amount=44000,
        currency="EUR",
        status=OrderStatus.PROCESSING,
    )

    invoice = paid(order)

    # €440.00 charged, Spanish VAT included in it: net 363.64, VAT 76.36.
    assert (invoice.total_amount, invoice.net_amount, invoice.tax_amount) == (44000, 36364, 7636)
