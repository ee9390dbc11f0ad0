"""Applying a paid renewal: the new term starts at the anniversary and the lock is lifted."""

from __future__ import annotations

import datetime as dt

from billing.models import Order, OrderKind, OrderStatus, SubscriptionStatus
from billing.services.subscriptions import (
    subscription_apply_renewal,
    subscription_turn_off_auto_renew,
)
from tests.billing.factories import make_subscription


def _renewal_order(subscription):
    return Order.objects.create(
        organization=subscription.organization,
        offer=subscription.offer,
        subscription=subscription,
        kind=OrderKind.RENEWAL,
        term_number=subscription.term_number + 1,
        amount=47500,
        currency="USD",
        status=OrderStatus.PAID,
    )


def test_renewing_early_never_loses_days(contoso, offer, bob):
    subscription = make_subscription(contoso, offer, started_on=dt.date(2026, 3, 10))

    subscription = subscription_apply_renewal(
        subscription=subscription, order=_renewal_order(subscription), actor=bob
    )

    assert subscription.current_term_start == dt.date(2027, 3, 10)
    assert subscription.current_term_end == dt.date(2028, 3, 10)
    assert subscription.term_number == 2


def test_a_renewal_turns_auto_renew_back_on_and_lifts_the_lock(contoso, offer, bob):
    subscription = make_subscription(contoso, offer, started_on=dt.date(2026, 3, 10))
    subscription_turn_off_auto_renew(subscription=subscription, actor=bob)

    subscription = subscription_apply_renewal(
        subscription=subscription, order=_renewal_order(subscription), actor=bob
    )

    assert subscription.auto_renew is True
    assert subscription.auto_renew_locked is False


def test_a_past_due_subscription_is_active_again_after_renewal(contoso, offer, bob):
    subscription = make_subscription(
        contoso, offer, started_on=dt.date(2026, 3, 10), status=SubscriptionStatus.PAST_DUE
    )
    subscription = subscription_apply_renewal(
        subscription=subscription, order=_renewal_order(subscription), actor=None
    )
    assert subscription.status == SubscriptionStatus.ACTIVE


def test_applying_the_same_renewal_twice_moves_the_term_once(contoso, offer, bob):
    subscription = make_subscription(contoso, offer, started_on=dt.date(2026, 3, 10))
    order = _renewal_order(subscription)

    subscription_apply_renewal(subscription=subscription, order=order, actor=bob)
    subscription = subscription_apply_renewal(subscription=subscription, order=order, actor=bob)

    assert subscription.term_number == 2
    assert subscription.current_term_end == dt.date(2028, 3, 10)
