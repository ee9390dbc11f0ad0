"""Benefits follow the subscription through billing's own services: granted when a purchase or a
renewal is paid, revoked when the subscription expires or is canceled."""

from __future__ import annotations

import datetime as dt

from billing.models import BenefitGrant, Order, OrderKind, OrderStatus, SubscriptionStatus
from billing.selectors.benefits import benefits_overview
from billing.services.benefits import benefit_activate
from billing.services.cancellations import subscription_cancel
from billing.services.expiry import subscription_expire
from billing.services.payment_outcomes import order_mark_paid
from billing.stripe_gateway import PaymentIntentResult
from core import clock
from tests.billing.benefits_setup import grant_of
from tests.billing.factories import make_subscription

BOUGHT = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


def _paid(order: Order) -> Order:
    intent = PaymentIntentResult(
        id=f"pi_test_{order.pk}",
        status="succeeded",
        amount=order.amount,
        currency=order.currency.lower(),
        client_secret="",
        customer=None,
        payment_method=None,
    )
    order_mark_paid(order=order, attempt=None, intent=intent)
    order.refresh_from_db()
    return order


def _order(organization, offer, **fields) -> Order:
    return Order.objects.create(
        organization=organization,
        offer=offer,
        amount=47500,
        currency="USD",
        status=OrderStatus.PROCESSING,
        **fields,
    )


def _live_grants(subscription) -> list[tuple[str, int]]:
    return sorted(
        BenefitGrant.objects.filter(subscription=subscription, revoked_at__isnull=True).values_list(
            "benefit__code", "term_number"
        )
    )


def test_a_paid_purchase_grants_the_benefits(contoso, offer, bob):
    order = _order(contoso, offer, kind=OrderKind.PURCHASE, term_number=1, placed_by=bob)

    with clock.frozen_at(BOUGHT):
        subscription = _paid(order).subscription

    assert len(_live_grants(subscription)) == 8
    assert {term for _code, term in _live_grants(subscription)} == {1}


def test_a_paid_renewal_grants_the_next_term(contoso, offer, bob):
    with clock.frozen_at(BOUGHT):
        subscription = _paid(
            _order(contoso, offer, kind=OrderKind.PURCHASE, term_number=1)
        ).subscription
    renewal = _order(
        contoso, offer, kind=OrderKind.RENEWAL, term_number=2, subscription=subscription
    )

    with clock.frozen_at(BOUGHT + dt.timedelta(days=360)):
        _paid(renewal)

    assert len(_live_grants(subscription)) == 8
    assert {term for _code, term in _live_grants(subscription)} == {2}


def test_expiry_at_the_end_of_grace_revokes_the_benefits(contoso, offer, bob):
    subscription = make_subscription(contoso, offer, started_on=dt.date(2025, 3, 10), benefits=True)
    subscription.status = SubscriptionStatus.PAST_DUE
    subscription.save()
    benefit_activate(grant=grant_of(subscription, "office-365-e3"), actor=bob)

    assert subscription_expire(subscription=subscription, today=dt.date(2026, 4, 10))

    assert _live_grants(subscription) == []
    assert benefits_overview(organization=contoso) is None


def test_cancellation_revokes_the_benefits(contoso, offer, root):
    subscription = make_subscription(contoso, offer, benefits=True)

    subscription_cancel(
        subscription=subscription, actor=root, at_term_end=False, refund_amount=0, reason="test"
    )

    assert _live_grants(subscription) == []
    assert benefits_overview(organization=contoso) is None
