"""Building subscriptions and orders directly, for tests that are not about buying them."""

from __future__ import annotations

import datetime as dt

from billing.models import Order, OrderKind, OrderStatus, PaymentMethod, Subscription
from billing.terms import term_dates
from membership.models import Organization
from offers.models import Offer


def make_card(
    organization: Organization, *, last4: str = "4242", stripe_id: str | None = None, **extra
) -> PaymentMethod:
    return PaymentMethod.objects.create(
        organization=organization,
        stripe_payment_method_id=stripe_id
        or f"pm_test_{organization.pk}_{last4}_{PaymentMethod.objects.count()}",
        brand="visa",
        last4=last4,
        exp_month=extra.pop("exp_month", 12),
        exp_year=extra.pop("exp_year", 2034),
        is_default=extra.pop("is_default", True),
        **extra,
    )


def make_subscription(
    organization: Organization,
    offer: Offer,
    *,
    started_on: dt.date,
    term_number: int = 1,
    payment_method: PaymentMethod | None = None,
    **fields,
) -> Subscription:
    """A live subscription bought on ``started_on``, now in term ``term_number``, with its paid orders."""
    start, end = term_dates(started_on=started_on, term_number=term_number)
    subscription = Subscription.objects.create(
        organization=organization,
        offer=offer,
        started_on=started_on,
        term_number=term_number,
        current_term_start=start,
        current_term_end=end,
        payment_method=payment_method,
        **fields,
    )
    price = offer.prices.get(currency=organization.currency)
    for number in range(1, term_number + 1):
        term_start, term_end = term_dates(started_on=started_on, term_number=number)
        Order.objects.create(
            organization=organization,
            offer=offer,
            subscription=subscription,
            kind=OrderKind.PURCHASE if number == 1 else OrderKind.RENEWAL,
            term_number=number,
            term_start=term_start,
            term_end=term_end,
            amount=price.amount,
            currency=price.currency,
            status=OrderStatus.PAID,
            payment_method=payment_method,
            card_brand=payment_method.brand if payment_method else "",
            card_last4=payment_method.last4 if payment_method else "",
            invoice_number=f"INV-TEST-{subscription.pk}-{number}",
            paid_at=dt.datetime.combine(term_start, dt.time(12), tzinfo=dt.UTC),
        )
    return subscription
