"""Billing's reads, one module per subject.

Import from the module: ``billing.selectors.subscriptions``.
"""
