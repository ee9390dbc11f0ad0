"""Shared by the billing-cycle tests: cards on file in localstripe, due subscriptions, the clock.

Cards are created the way the demo and the bench create them (``stripe_gateway.demo_card_create``,
localstripe only) and attached to the organization's own Stripe customer, so renewals are real
PaymentIntents in localstripe, and what counts is what localstripe recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django.core import mail

from billing import stripe_gateway
from billing.models import Order, OrderStatus, PaymentMethod, Subscription
from billing.services.payment_methods import stripe_customer_ensure
from billing.services.payments import order_charge, order_open_purchase
from billing.terms import anniversary_date
from core import clock
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
    """A live subscription in its first term whose anniversary is ``anniversary``."""
    started_on = anniversary_date(anniversary, -1)
    subscription = make_subscription(
        organization, offer, started_on=started_on, payment_method=card, **fields
    )
    assert subscription.current_term_end == anniversary
    return subscription


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


@dataclass
class Inbox:
    """The emails sent so far, as (recipient, subject) pairs, read once each."""

    seen: int = 0
    log: list[tuple[str, str, str]] = field(default_factory=list)

    def new(self) -> list[tuple[str, str]]:
        messages = mail.outbox[self.seen :]
        self.seen = len(mail.outbox)
        return [(message.to[0], message.subject) for message in messages]

    def subjects(self) -> list[str]:
        return sorted({subject for _to, subject in self.new()})


@pytest.fixture
def inbox(mailoutbox) -> Inbox:
    return Inbox()


@pytest.fixture
def frozen_clock() -> Iterator[None]:
    """Tests move the clock with ``clock.set_now``; it is unfrozen afterwards whatever happens."""
    try:
        yield
    finally:
        clock.set_now(None)


def renewal_order_status(subscription: Subscription) -> str | None:
    order = subscription.orders.filter(
        kind="renewal", term_number=subscription.term_number + 1
    ).first()
    return order.status if order else None


__all__ = [
    "CARD_3DS",
    "CARD_CHARGES_DECLINED",
    "CARD_OK",
    "OrderStatus",
    "card_on_file",
    "frozen_clock",
    "inbox",
    "moment",
    "purchase",
    "subscription_due_on",
    "succeeded_payments",
]
