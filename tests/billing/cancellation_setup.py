"""A subscription bought for real (a PaymentIntent in localstripe), for cancellation tests."""

from __future__ import annotations

from billing.models import Order, Subscription
from billing.services.orders import order_open_purchase
from billing.services.payments import order_charge
from membership.models import Organization, User
from offers.models import Offer
from tests.billing.stripe_helpers import card_save
from tests.plugins.services import LocalStripe


def subscription_bought(
    localstripe: LocalStripe, organization: Organization, offer: Offer, buyer: User
) -> Subscription:
    """``buyer`` subscribes ``organization`` to ``offer`` with a good card; the charge is real."""
    card = card_save(localstripe, organization, buyer)
    order = order_open_purchase(
        organization=organization, offer=offer, placed_by=buyer, payment_method=card
    )
    outcome = order_charge(order=order, off_session=False, actor=buyer)
    assert outcome.paid, outcome.message
    return Subscription.objects.get(orders=order)


def purchase_order(subscription: Subscription) -> Order:
    return subscription.orders.get(kind="purchase")
