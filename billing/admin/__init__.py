"""Billing in the admin: the staff's view of cards, subscriptions, orders, payments and benefits.

Money records (orders, payment attempts, refunds, Stripe events, reminders sent) are read-only:
they change only through services. ``subscriptions``: a subscription's page with its history and
renewal attempts, "Retry renewal charge"; ``cancellations``: cancelling one (also from a support
case); ``orders``: orders, payment attempts, refunds, Stripe events; ``payment_methods``: cards;
``benefits``: grants, seats and product keys ("Load keys").
"""

from billing.admin import (  # noqa: F401 (registers the ModelAdmins)
    benefits,
    orders,
    payment_methods,
    subscriptions,
)
