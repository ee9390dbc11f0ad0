"""Data the benches make: partners with a Stripe customer and a card in localstripe, and
subscriptions renewing on a given day. Run from a bench, after ``django.setup()``."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor


def parallel(function, items, workers: int = 8) -> list:
    """Setup calls to localstripe, several at a time (setup is not what is measured)."""
    from django.db import connection

    def call(item):
        try:
            return function(item)
        finally:
            connection.close()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(call, items))


def cards_create(count: int) -> list[tuple[str, str]]:
    """``count`` (Stripe customer, attached card) pairs in localstripe."""
    from billing import stripe_gateway

    def one(number: int) -> tuple[str, str]:
        customer = stripe_gateway.customer_create(
            name=f"Bench {number}", email="", organization_id=number
        )
        card = stripe_gateway.demo_card_create(number="4242424242424242")
        stripe_gateway.payment_method_attach(payment_method_id=card, customer_id=customer)
        return customer, card

    return parallel(one, range(count))


_partner_ids = iter(range(3_000_000, 9_999_999))


def due_subscriptions(offer, count: int, today: dt.date) -> list[int]:
    """``count`` organizations, each with a Stripe customer, a card and a subscription renewing
    on ``today``. Returns the subscriptions' ids."""
    from billing.models import PaymentMethod, Subscription
    from membership.models import Organization

    cards = cards_create(count)
    organizations = Organization.objects.bulk_create(
        Organization(
            name=f"Bench partner {partner_id}",
            partner_id=str(partner_id),
            country="US",
            currency="USD",
            network_member_since=dt.date(2024, 1, 1),
            contact_email=f"billing@{partner_id}.example",
            stripe_customer_id=customer,
        )
        for partner_id, (customer, _card) in zip(_partner_ids, cards, strict=False)
    )
    methods = PaymentMethod.objects.bulk_create(
        PaymentMethod(
            organization=organization,
            stripe_payment_method_id=card,
            brand="visa",
            last4="4242",
            exp_month=12,
            exp_year=2034,
            is_default=True,
        )
        for organization, (_customer, card) in zip(organizations, cards, strict=True)
    )
    started = today.replace(year=today.year - 1)
    subscriptions = Subscription.objects.bulk_create(
        Subscription(
            organization=organization,
            offer=offer,
            started_on=started,
            term_number=1,
            current_term_start=started,
            current_term_end=today,
            payment_method=method,
        )
        for organization, method in zip(organizations, methods, strict=True)
    )
    return [subscription.pk for subscription in subscriptions]
