"""Shared by the billing-cycle tests: cards on file in localstripe, due subscriptions, moments.

Cards are created the way the demo and the bench create them (``stripe_gateway.demo_card_create``,
localstripe only) and attached to the organization's own Stripe customer, so renewals are real
PaymentIntents in localstripe, and what counts is what localstripe recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from billing import stripe_gateway
from billing.models import Order, PaymentMethod, Subscription
from billing.services.orders import order_open_purchase
from billing.services.payment_methods import stripe_customer_ensure
from billing.services.payments import order_charge
from membership.models import Organization, User
from offers.models import Offer
from tests.billing.factories import make_subscription
from tests.plugins.services import LocalStripe

CARD_OK = "4242424242424242"
CARD_CHARGES_DECLINED = "4000000000000341"  # attaches fine, every charge is declined
CARD_3DS = "4000002500003155"  # every payment asks for 3-D Secure

# The hourly beat entry runs at minute 5 (partnerportal/celery.py).
CYCLE_TIME = dt.time(0, 5)


def moment(day: dt.date, at: dt.time = CYCLE_TIME) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=dt.UTC)


def card_on_file(
    organization: Organization,
    number: str = CARD_OK,
    *,
    exp_month: int = 12,
    exp_year: int = 2034,
    default: bool = True,
) -> PaymentMethod:
    """A card of ``number`` attached to the organization's Stripe customer and saved."""
    customer_id = stripe_customer_ensure(organization=organization)
    payment_method_id = stripe_gateway.demo_card_create(
        number=number, exp_month=exp_month, exp_year=exp_year
    )
    stripe_gateway.payment_method_attach(
        payment_method_id=payment_method_id, customer_id=customer_id
    )
    if default:
        PaymentMethod.objects.filter(organization=organization, is_default=True).update(
            is_default=False
        )
    return PaymentMethod.objects.create(
        organization=organization,
        stripe_payment_method_id=payment_method_id,
        brand="visa",
        last4=number[-4:],
        exp_month=exp_month,
        exp_year=exp_year,
        is_default=default,
    )


def subscription_due_on(
    organization: Organization,
    offer: Offer,
    anniversary: dt.date,
    *,
    card: PaymentMethod | None,
    **fields,
) -> Subscription:
    """``make_subscription`` as the billing-cycle tests say it: in its first term, renewing on
    ``anniversary`` with ``card``."""
    return make_subscription(
        organization, offer, anniversary=anniversary, payment_method=card, **fields
    )


def partners_due_on(
    offer: Offer, anniversary: dt.date, cards: Sequence[str], *, first: int = 0
) -> list[Subscription]:
    """One partner organization per card number in ``cards``, each with its own Stripe
    customer, that card on file and a subscription renewing on ``anniversary``."""
    subscriptions = []
    for number, card_number in enumerate(cards, start=first):
        organization = Organization.objects.create(
            name=f"Partner {number:03d}",
            partner_id=f"{2000000 + number}",
            country="US",
            currency="USD",
            network_member_since=dt.date(2024, 1, 1),
            contact_email=f"billing@partner{number:03d}.example",
        )
        card = card_on_file(organization, card_number)
        subscriptions.append(subscription_due_on(organization, offer, anniversary, card=card))
    return subscriptions


def every_13th_declined(count: int) -> list[str]:
    """``count`` card numbers: one in 13 (the first included) declines every charge."""
    return [CARD_CHARGES_DECLINED if number % 13 == 0 else CARD_OK for number in range(count)]


def purchase(organization: Organization, offer: Offer, buyer: User, card: PaymentMethod) -> Order:
    """Buy the offer today (by the clock) the way the Purchase button does: charged at once."""
    order = order_open_purchase(
        organization=organization, offer=offer, placed_by=buyer, payment_method=card
    )
    outcome = order_charge(order=order, off_session=False, actor=buyer)
    assert outcome.paid, outcome
    return outcome.order


def succeeded_payments(localstripe: LocalStripe, customer_id: str) -> list[dict]:
    """The customer's PaymentIntents that took money, oldest first (localstripe's records)."""
    return [
        intent
        for intent in localstripe.payment_intents(customer=customer_id)
        if intent["status"] == "succeeded"
    ]


def renewal_orders(subscription: Subscription) -> list[Order]:
    return list(subscription.orders.filter(kind="renewal").order_by("term_number"))


def failed_attempt_count(order: Order) -> int:
    return order.attempts.filter(status="failed").count()


def renewal_order_status(subscription: Subscription) -> str | None:
    order = subscription.orders.filter(
        kind="renewal", term_number=subscription.term_number + 1
    ).first()
    return order.status if order else None
