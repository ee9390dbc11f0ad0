"""Billing's writes, one module per subject: subscriptions, payments, renewals, cancellations,
payment methods, benefits. Import from the module (``billing.services.renewals``)."""
