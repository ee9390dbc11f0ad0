"""Billing in the admin: the staff's view of cards, subscriptions, orders, payments and benefits.

Money records (orders, payment attempts, refunds, Stripe events, reminders sent) are read-only:
they change only through services. ``subscriptions``: a subscription's page with its history and
renewal attempts, "Retry renewal charge"; ``cancellations``: cancelling one (also from a support
case); ``orders``: orders, payment attempts, refunds, Stripe events; ``payment_methods``: cards;
``benefits``: grants, seats and product keys ("Load keys"); ``invoices``: invoices, credit notes
(read-only, their PDFs, "Export CSV") and VAT rates; ``background_jobs``: long work (loading
keys, exporting invoices) with its progress.
"""

from billing.admin import (  # noqa: F401 (registers the ModelAdmins)
    background_jobs,
    benefits,
    invoices,
    orders,
    payment_methods,
    subscriptions,
)
