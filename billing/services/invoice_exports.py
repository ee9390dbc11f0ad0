"""The accounting export: every invoice and credit note issued in a period, as CSV.

One row per document. A credit note is a row of its own with ``type`` ``credit_note``, the
invoice it corrects in ``corrects``, and negative amounts (as it is issued: docs/invoices.md),
so the column sums of a period are what was invoiced net of what was credited.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal

from billing.selectors.invoices import invoices_for_export

EXPORT_COLUMNS = [
    "number",
    "type",
    "issued_on",
    "corrects",
    "order",
    "organization",
    "partner_id",
    "buyer_country",
    "buyer_vat_id",
    "tax_treatment",
    "tax_rate",
    "currency",
    "net",
    "tax",
    "total",
]

# Rows written between two progress updates.
ROWS_PER_PROGRESS = 500


def decimal_amount(minor_units: int) -> str:
    """Minor units as the decimal amount accounting software reads: -440.00."""
    return f"{Decimal(minor_units) / 100:.2f}"


def spreadsheet_safe(text: str) -> str:
    """A leading =, +, - or @ would be a formula in a spreadsheet."""
    return text.lstrip("=+-@")


def invoices_export_csv(
    *, start: dt.date, end: dt.date, progress: Callable[[int, int], None] | None = None
) -> tuple[bytes, int]:
    """The CSV (UTF-8) of the documents issued from ``start`` to ``end`` (both included), and
    how many rows it has. ``progress(done, total)`` is called as rows are written."""
    documents = invoices_for_export(start=start, end=end).select_related("organization")
    total = documents.count()
    if progress:
        progress(0, total)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    done = 0
    for document in documents.iterator(chunk_size=ROWS_PER_PROGRESS):
        rates = sorted({f"{line.rate:.2f}" for line in document.tax_lines.all()})
        writer.writerow(
            [
                document.number,
                document.kind,
                document.issued_at.date().isoformat(),
                document.credited_invoice.number if document.credited_invoice_id else "",
                document.order_id,
                spreadsheet_safe(document.buyer_name),
                document.buyer_partner_id,
                document.buyer_country,
                spreadsheet_safe(document.buyer_vat_id),
                document.tax_treatment,
                " ".join(rates),
                document.currency,
                decimal_amount(document.net_amount),
                decimal_amount(document.tax_amount),
                decimal_amount(document.total_amount),
            ]
        )
        done += 1
        if progress and (done % ROWS_PER_PROGRESS == 0 or done == total):
            progress(done, total)
    return buffer.getvalue().encode(), done
