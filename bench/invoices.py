"""Invoices: the time to issue one and to render one, and the size of its PDF.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pp_bench .venv/bin/python bench/invoices.py
        [--count 200]

Prints, over ``--count`` invoices (200 by default) of partners in the four tax cases (Irish,
Spanish with and without a VAT id, US; half of them in Spanish):

- **issue**: ``invoices_issue`` for one paid order, in its own committed transaction: the series'
  counter locked and moved on, the invoice, its line and its tax line written (what
  ``orders_mark_paid`` adds to a payment), and the whole ``orders_mark_paid`` of one order
  (paid, subscription started, benefits, audit, invoice) for comparison;
- **render**: ``invoice_pdf_render`` (WeasyPrint, PDF/A-3a) of each invoice, and the first
  download (``invoice_pdf``: render and store);
- the PDF's size.

Median and p95 of each. The database is a fresh test database (``test_<name>`` of
DATABASE_URL, or an in-memory SQLite without it), created and dropped here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

TODAY = dt.datetime(2027, 3, 14, 10, 0, tzinfo=dt.UTC)
# (country, currency, VAT id, invoice language): the issue's four tax cases.
BUYERS = [
    ("IE", "EUR", "IE1234567T", "en"),
    ("ES", "EUR", "ESA12345674", "es"),
    ("ES", "EUR", "", "es"),
    ("US", "USD", "", "en"),
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def line(name: str, values: list[float], unit: str = "ms", scale: float = 1000.0) -> str:
    median = statistics.median(values) * scale
    p95 = percentile(values, 0.95) * scale
    return f"  {name:<44}{median:>10.1f}{p95:>10.1f}  {unit}"


_partner_ids = iter(range(4_000_000, 9_999_999))


def orders_create(offer, count: int) -> list:
    """``count`` organizations, each with a purchase being paid, priced with its tax."""
    from billing.models import Order, OrderKind, OrderStatus
    from billing.tax import organization_tax_quote, tax_rates_in_force
    from membership.models import Organization

    rates = tax_rates_in_force()
    organizations = Organization.objects.bulk_create(
        Organization(
            name=f"Bench partner {number}",
            partner_id=str(next(_partner_ids)),
            country=country,
            currency=currency,
            vat_id=vat_id,
            invoice_language=language,
            address_line1=f"{number} Bench Street",
            city="Dublin" if country == "IE" else "Madrid" if country == "ES" else "Redmond",
            postal_code="D02 X576" if country == "IE" else "28014" if country == "ES" else "98052",
            network_member_since=dt.date(2024, 1, 1),
        )
        for number, (country, currency, vat_id, language) in (
            (number, BUYERS[number % len(BUYERS)]) for number in range(count)
        )
    )
    orders = []
    for organization in organizations:
        price = offer.prices.get(currency=organization.currency)
        quote = organization_tax_quote(organization=organization, net=price.amount, rates=rates)
        orders.append(
            Order(
                organization=organization,
                offer=offer,
                kind=OrderKind.PURCHASE,
                term_number=1,
                currency=price.currency,
                status=OrderStatus.PROCESSING,
                card_brand="visa",
                card_last4="4242",
                paid_at=TODAY,
                **quote.order_fields,
            )
        )
    created = Order.objects.bulk_create(orders)
    for order, organization in zip(created, organizations, strict=True):
        order.organization, order.offer = organization, offer
    return created


def intent_for(order):
    from billing.stripe_gateway import PaymentIntentResult

    return PaymentIntentResult(
        id=f"pi_bench_{order.pk}",
        status="succeeded",
        amount=order.amount,
        currency=order.currency.lower(),
        client_secret="",
        customer=None,
        payment_method=None,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="invoices to measure")
    args = parser.parse_args()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "partnerportal.settings",
            "EMAIL_URL": "memorymail://",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    # The test settings (no secrets needed, fast hasher): tests/plugins/in_test_run.py.
    import tests.plugins.in_test_run  # noqa: F401

    django.setup()
    from django.db import connection, transaction

    from billing.selectors.invoices import invoices_for_rendering
    from billing.services.invoice_pdfs import invoice_pdf, invoice_pdf_render
    from billing.services.invoices import invoices_issue
    from billing.services.payment_outcomes import orders_mark_paid
    from core import clock
    from partnerportal.demo import action_pack_offer

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        clock.set_now(TODAY)
        offer = action_pack_offer()
        # Warm up: templates, fonts, the first series row.
        for order in orders_create(offer, 3):
            with transaction.atomic():
                invoices_issue(orders=[order], issued_at=TODAY)
                order.save(update_fields=["invoice_number"])

        issue_times = []
        for order in orders_create(offer, args.count):
            started = time.perf_counter()
            with transaction.atomic():
                invoices_issue(orders=[order], issued_at=TODAY)
                order.save(update_fields=["invoice_number"])
            issue_times.append(time.perf_counter() - started)

        paid_times = []
        for order in orders_create(offer, args.count):
            started = time.perf_counter()
            orders_mark_paid(payments=[(order, None, intent_for(order))])
            paid_times.append(time.perf_counter() - started)

        invoices = list(invoices_for_rendering().order_by("pk")[3 : 3 + args.count])
        invoice_pdf_render(invoices[0])  # warm WeasyPrint's caches
        render_times, sizes = [], []
        for invoice in invoices:
            started = time.perf_counter()
            pdf = invoice_pdf_render(invoice)
            render_times.append(time.perf_counter() - started)
            sizes.append(len(pdf))
        download_times = []
        for invoice in invoices:
            started = time.perf_counter()
            invoice_pdf(invoice)  # the first download: render and store
            download_times.append(time.perf_counter() - started)
        stored_times = []
        for invoice in invoices:
            started = time.perf_counter()
            invoice_pdf(invoice)  # every download after: the stored bytes
            stored_times.append(time.perf_counter() - started)
        vendor = connection.vendor
    finally:
        clock.set_now(None)
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"Invoices on {vendor}, {args.count} of each, {os.cpu_count()} CPUs")
    print(f"  {'':<44}{'median':>10}{'p95':>10}")
    print(line("issue one invoice (invoices_issue)", issue_times))
    print(line("mark one order paid, invoice included", paid_times))
    print(line("render one PDF (WeasyPrint, PDF/A-3a)", render_times))
    print(line("first download (render and store)", download_times))
    print(line("later downloads (stored bytes)", stored_times))
    print(
        f"  PDF size: median {statistics.median(sizes) / 1024:.1f} KiB, "
        f"p95 {percentile(sizes, 0.95) / 1024:.1f} KiB, "
        f"largest {max(sizes) / 1024:.1f} KiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
