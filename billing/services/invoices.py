"""Issuing invoices and credit notes: legal documents, numbered without gaps, frozen at issue
(docs/invoices.md).

- **Invoices** are issued by ``orders_mark_paid`` (``billing.services.payment_outcomes``), in
  the transaction that marks their orders paid, a whole batch at once: a fixed number of
  statements whatever its size (the series' counter, the documents, their lines, their tax).
- **Credit notes** are issued in the transaction that records a refund
  (``billing.services.cancellations``), once per refund (``Invoice.refund`` is one-to-one).

**Numbers**: a series per document type and year (``INV-2027-000001``, ``CN-2027-000001``).
Numbers are taken from the series' counter row, locked (``SELECT … FOR UPDATE``) in the
issuing transaction: two payers never get the same number, and a rolled-back payment gives
its number back with everything else, so the series has no gaps. Never ``MAX() + 1``.

**Frozen**: the seller (settings), the buyer (its organization's name, billing address,
country, VAT id and Partner ID), the lines in the buyer's invoice language, the tax as the
order was charged, and how it was paid are copied in. Nothing edits an issued document
(``Invoice.save`` refuses); its PDF is stored on first rendering (``billing.services.
invoice_pdfs``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from billing.models import (
    INVOICE_PREFIXES,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSeries,
    InvoiceTaxLine,
    Order,
    OrderKind,
    Refund,
)
from billing.tax import (
    Rates,
    TaxQuote,
    organization_tax_quote,
    tax_note,
    tax_rates_in_force,
    tax_split,
)
from billing.terms import term_dates
from membership.models import Country, Organization

logger = logging.getLogger(__name__)


def invoice_number(kind: str, year: int, sequence: int) -> str:
    return f"{INVOICE_PREFIXES[kind]}-{year}-{sequence:06d}"


def _numbers_take(*, kind: str, year: int, count: int) -> int:
    """Take ``count`` consecutive numbers of a series; returns the first. Call inside the
    transaction that issues the documents: the counter row stays locked until it commits."""
    # The row exists from the year's first document on (a concurrent first one loses the unique
    # constraint quietly); always asking keeps a batch at the same statements every time.
    InvoiceSeries.objects.bulk_create([InvoiceSeries(kind=kind, year=year)], ignore_conflicts=True)
    series = InvoiceSeries.objects.select_for_update().get(kind=kind, year=year)
    InvoiceSeries.objects.filter(pk=series.pk).update(last_number=series.last_number + count)
    return series.last_number + 1


def seller_snapshot() -> dict[str, str]:
    """The seller as settings have it now: what an invoice issued now freezes."""
    return {
        "seller_name": settings.SELLER_NAME,
        "seller_address": "\n".join(
            line.strip() for line in settings.SELLER_ADDRESS.splitlines() if line.strip()
        ),
        "seller_country": settings.SELLER_COUNTRY,
        "seller_vat_id": settings.SELLER_VAT_ID,
    }


def buyer_snapshot(organization: Organization) -> dict[str, str]:
    """The buyer as its billing profile stands now, in its invoice language."""
    with translation.override(organization.invoice_language):
        address = "\n".join(organization.billing_address_lines)
    return {
        "buyer_name": organization.name,
        "buyer_address": address,
        "buyer_country": organization.country,
        "buyer_vat_id": organization.vat_id,
        "buyer_partner_id": organization.partner_id,
    }


def _line_texts(order: Order, language: str) -> tuple[str, str]:
    """The line's description (the offer, in the invoice's language) and what it is for."""
    offer = order.offer
    with translation.override(language):
        description = (offer.name_es if language == "es" and offer.name_es else "") or offer.name
        if order.kind == OrderKind.RENEWAL:
            detail = _("Renewal, term %(number)s") % {"number": order.term_number}
        else:
            detail = _("Subscription purchase")
    return description, detail


def _order_term(order: Order) -> tuple[dt.date | None, dt.date | None]:
    if order.term_start and order.term_end:
        return order.term_start, order.term_end
    if order.subscription is not None:
        return term_dates(started_on=order.subscription.started_on, term_number=order.term_number)
    return None, None


def _orders_tax(orders: Sequence[Order]) -> dict[int, TaxQuote]:
    """The tax each order was charged, by order id: the one it was priced with.

    An order never priced with tax (opened before invoices had tax, and charged after) was
    charged its catalog price with nothing on top: that price is taken to include the VAT the
    rules ask for (as the EU Court of Justice reads a price agreed without mention of VAT,
    C-249/12), so the invoice splits it into net and tax rather than asking for more.
    """
    taxes: dict[int, TaxQuote] = {}
    rates: Rates | None = None
    for order in orders:
        if order.tax_treatment:
            taxes[order.pk] = TaxQuote(
                net=order.amount - order.tax_amount,
                rate=order.tax_rate,
                tax=order.tax_amount,
                treatment=order.tax_treatment,
                country=order.tax_country,
            )
            continue
        rates = tax_rates_in_force() if rates is None else rates
        quote = organization_tax_quote(organization=order.organization, net=0, rates=rates)
        net, tax = tax_split(order.amount, quote.rate)
        taxes[order.pk] = TaxQuote(
            net=net, rate=quote.rate, tax=tax, treatment=quote.treatment, country=quote.country
        )
    return taxes


def invoices_issue(*, orders: Sequence[Order], issued_at: dt.datetime) -> dict[int, Invoice]:
    """Issue the invoice of each order, by order id. For ``orders_mark_paid`` (and the test
    builders): call inside the transaction that marks them paid.

    The orders carry their tax (``billing.services.orders``) and card, with ``organization``,
    ``offer`` and (for renewals) ``subscription`` loaded. Numbers follow order ids within a
    batch. Sets each order's ``invoice_number``; the caller writes it.
    """
    if not orders:
        return {}
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Invoices are issued inside the transaction that marks orders paid.")
    ordered = sorted(orders, key=lambda order: order.pk)
    taxes = _orders_tax(ordered)
    year = issued_at.year
    first = _numbers_take(kind=InvoiceKind.INVOICE, year=year, count=len(ordered))
    seller = seller_snapshot()
    invoices: list[Invoice] = []
    for offset, order in enumerate(ordered):
        organization = order.organization
        sequence = first + offset
        invoice = Invoice(
            kind=InvoiceKind.INVOICE,
            number=invoice_number(InvoiceKind.INVOICE, year, sequence),
            year=year,
            sequence=sequence,
            order=order,
            organization=organization,
            issued_at=issued_at,
            language=organization.invoice_language,
            **seller,
            **buyer_snapshot(organization),
            currency=order.currency,
            net_amount=taxes[order.pk].net,
            tax_amount=taxes[order.pk].tax,
            total_amount=order.amount,
            tax_treatment=taxes[order.pk].treatment,
            card_brand=order.card_brand,
            card_last4=order.card_last4,
            paid_at=order.paid_at or issued_at,
        )
        with translation.override(invoice.language):
            invoice.tax_note = tax_note(invoice.tax_treatment)
        order.invoice_number = invoice.number
        invoices.append(invoice)
    Invoice.objects.bulk_create(invoices)
    lines, tax_lines = [], []
    for invoice in invoices:
        order = invoice.order
        description, detail = _line_texts(order, invoice.language)
        term_start, term_end = _order_term(order)
        lines.append(
            InvoiceLine(
                invoice=invoice,
                description=description,
                detail=detail,
                term_start=term_start,
                term_end=term_end,
                net_amount=invoice.net_amount,
                tax_rate=taxes[order.pk].rate,
            )
        )
        tax_lines.append(
            InvoiceTaxLine(
                invoice=invoice,
                rate=taxes[order.pk].rate,
                taxable_amount=invoice.net_amount,
                tax_amount=invoice.tax_amount,
            )
        )
    InvoiceLine.objects.bulk_create(lines)
    InvoiceTaxLine.objects.bulk_create(tax_lines)
    return {invoice.order_id: invoice for invoice in invoices}


def credit_note_issue(*, refund: Refund, issued_at: dt.datetime) -> Invoice | None:
    """Issue the credit note of a refund just recorded, once: call inside the transaction that
    records it (``billing.services.cancellations``).

    It corrects the refunded order's invoice: its lines and tax split again, as negative
    amounts: all of them for a full refund, the refunded share of each (net and tax in the
    invoice's proportion) for a partial one. Its buyer is the invoice's; its seller and
    language are today's. ``None`` (and an error logged) if the order has no invoice: only data
    made outside the services can be so, and a refund Stripe made must be recorded anyway.
    """
    existing = Invoice.objects.filter(refund=refund).first()
    if existing is not None:
        return existing
    invoice = (
        Invoice.objects.filter(order_id=refund.order_id, kind=InvoiceKind.INVOICE)
        .prefetch_related("lines", "tax_lines")
        .select_related("organization")
        .first()
    )
    if invoice is None:
        logger.error("refund %s: order %s has no invoice to credit", refund.pk, refund.order_id)
        return None
    if refund.amount >= invoice.total_amount:
        shares = [
            (line.tax_rate, line.net_amount, _line_tax(invoice, line.tax_rate))
            for line in invoice.lines.all()
        ]
    else:
        # One line per invoice (one order, one term): its share of the refund.
        line = invoice.lines.all()[0]
        net, tax = tax_split(refund.amount, line.tax_rate)
        shares = [(line.tax_rate, net, tax)]
    year = issued_at.year
    sequence = _numbers_take(kind=InvoiceKind.CREDIT_NOTE, year=year, count=1)
    language = invoice.organization.invoice_language
    credit_note = Invoice(
        kind=InvoiceKind.CREDIT_NOTE,
        number=invoice_number(InvoiceKind.CREDIT_NOTE, year, sequence),
        year=year,
        sequence=sequence,
        order_id=invoice.order_id,
        organization=invoice.organization,
        credited_invoice=invoice,
        refund=refund,
        issued_at=issued_at,
        language=language,
        **seller_snapshot(),
        buyer_name=invoice.buyer_name,
        buyer_address=invoice.buyer_address,
        buyer_country=invoice.buyer_country,
        buyer_vat_id=invoice.buyer_vat_id,
        buyer_partner_id=invoice.buyer_partner_id,
        currency=invoice.currency,
        net_amount=-sum(net for _rate, net, _tax in shares),
        tax_amount=-sum(tax for _rate, _net, tax in shares),
        total_amount=-sum(net + tax for _rate, net, tax in shares),
        tax_treatment=invoice.tax_treatment,
        card_brand=invoice.card_brand,
        card_last4=invoice.card_last4,
        paid_at=issued_at,
    )
    with translation.override(language):
        credit_note.tax_note = tax_note(invoice.tax_treatment)
        detail = _("Refund of invoice %(number)s") % {"number": invoice.number}
    credit_note.save(force_insert=True)
    source_lines = list(invoice.lines.all())
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=credit_note,
            position=source.position,
            description=source.description,
            detail=detail,
            term_start=source.term_start,
            term_end=source.term_end,
            quantity=source.quantity,
            net_amount=-net,
            tax_rate=rate,
        )
        for source, (rate, net, _tax) in zip(source_lines, shares, strict=False)
    )
    InvoiceTaxLine.objects.bulk_create(
        InvoiceTaxLine(invoice=credit_note, rate=rate, taxable_amount=-net, tax_amount=-tax)
        for rate, net, tax in shares
    )
    return credit_note


def _line_tax(invoice: Invoice, rate: Decimal) -> int:
    return sum(line.tax_amount for line in invoice.tax_lines.all() if line.rate == rate)


def country_name(code: str, language: str) -> str:
    """A country's name in ``language`` (documents print the parties' countries)."""
    with translation.override(language):
        try:
            return str(Country(code).label)
        except ValueError:
            return code
