"""Receipts: the email that goes with every paid order, with its invoice's PDF attached.

A purchase's receipt and a renewal's receipt are each sent once per subscription and term
(``billing.services.reminders``' claim). Who asks for which: the job that charged an automatic
renewal follows it up (``billing.services.renewals``); a payment made in the browser (a
purchase, a renewal by hand) is followed up by ``orders_record_paid`` once it is on record,
whoever reports it (the browser, a webhook, the reconciliation).

Either way the receipts are *queued* (``receipts_send_later``) and a worker of the default queue
renders the invoices' PDFs and sends them (``billing.tasks.billing_receipts_send``): laying out a
PDF costs a good part of a CPU second, which must not hold up a renewals worker waiting on Stripe
on an anniversary day (bench/renewal_burst.py), nor the partner's Purchase page.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from billing import emails
from billing.models import (
    Invoice,
    InvoiceKind,
    Order,
    OrderKind,
    OrderStatus,
    ReminderKind,
    Subscription,
)
from billing.selectors.invoices import invoices_for_rendering
from billing.services.invoice_pdfs import invoices_pdfs
from billing.services.reminders import Notice, notify_once_each
from core.emails import Attachment
from core.tasks import task_queue_after_commit

logger = logging.getLogger(__name__)


class _InvoicePdfs:
    """The PDFs of a batch's invoices, rendered together the first time one is needed (a
    receipt whose claim was lost needs none)."""

    def __init__(self, orders: Sequence[Order]):
        self._order_ids = [order.pk for order in orders]
        self._invoices: dict[int, Invoice] | None = None
        self._pdfs: dict[int, bytes] = {}

    def _load(self) -> dict[int, Invoice]:
        if self._invoices is None:
            invoices = list(
                invoices_for_rendering().filter(
                    order_id__in=self._order_ids, kind=InvoiceKind.INVOICE
                )
            )
            self._invoices = {invoice.order_id: invoice for invoice in invoices}
            try:
                self._pdfs = invoices_pdfs(invoices)
            except Exception:
                # The payment is done: its receipt goes without the PDF, which the partner
                # downloads in Billing > Invoices.
                logger.exception("rendering the invoices of orders %s failed", self._order_ids)
        return self._invoices

    def invoice(self, order: Order) -> Invoice | None:
        return self._load().get(order.pk)

    def attachments(self, order: Order) -> list[Attachment]:
        invoice = self.invoice(order)
        if invoice is None or invoice.pk not in self._pdfs:
            return []
        return [(invoice.filename, self._pdfs[invoice.pk], "application/pdf")]


def receipt_notices(*, paid: Sequence[tuple[Order, Subscription]]) -> list[Notice]:
    """The receipt of each paid order (and the subscription it started or renewed)."""
    pdfs = _InvoicePdfs([order for order, _subscription in paid])

    def notice(order: Order, subscription: Subscription) -> Notice:
        if order.kind == OrderKind.PURCHASE:
            return Notice(
                subscription=subscription,
                term_number=order.term_number,
                kind=ReminderKind.PURCHASE_RECEIPT,
                send=lambda people: emails.email_purchase_receipt(
                    order=order,
                    subscription=subscription,
                    invoice=pdfs.invoice(order),
                    attachments=pdfs.attachments(order),
                    recipients=people,
                ),
            )
        return Notice(
            subscription=subscription,
            term_number=order.term_number,
            kind=ReminderKind.RENEWAL_RECEIPT,
            send=lambda people: emails.email_renewal_receipt(
                order=order,
                subscription=subscription,
                invoice=pdfs.invoice(order),
                attachments=pdfs.attachments(order),
                recipients=people,
            ),
        )

    return [notice(order, subscription) for order, subscription in paid]


def receipts_send(*, orders: Sequence[Order]) -> int:
    """Send the receipt of each paid order (``subscription`` loaded), once. Returns how many."""
    paid = [(order, order.subscription) for order in orders if order.subscription is not None]
    return notify_once_each(notices=receipt_notices(paid=paid))


def receipts_send_later(*, orders: Sequence[Order]) -> None:
    """Queue the receipts of these paid orders for a worker, once this transaction commits."""
    if orders:
        task_queue_after_commit(
            "billing.tasks.billing_receipts_send", order_ids=[order.pk for order in orders]
        )


def receipts_send_for(*, order_ids: Sequence[int]) -> int:
    """The worker's side of ``receipts_send_later``: the receipts of those orders still paid."""
    orders = Order.objects.filter(pk__in=order_ids, status=OrderStatus.PAID).select_related(
        "offer",
        "payment_method",
        "subscription__organization",
        "subscription__offer",
        "subscription__payment_method",
    )
    return receipts_send(orders=list(orders))
