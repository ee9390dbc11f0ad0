"""The exactly-once charge protocol (billing.services.payments), against localstripe.

Every test reads localstripe's own records: what counts is how many charges took money, and for
how much, not what our tables say.
"""

from __future__ import annotations

import datetime as dt

import pytest

from billing import stripe_gateway
from billing.models import Order, OrderStatus, PaymentAttempt, Subscription
from billing.services.orders import order_change_card, order_open_purchase
from billing.services.payments import order_charge
from billing.services.reconciliation import order_settle_payment_intent
from billing.services.renewals import payments_reconcile_all
from core import clock
from membership.models import AuditEvent
from tests.billing.stripe_helpers import (
    CARD_3DS,
    CARD_CHARGES_DECLINED,
    CARD_OK,
    card_save,
    payment_intent_authenticate,
    succeeded_charges,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def purchase(localstripe, contoso, offer, bob):
    """``purchase(number)``: Contoso's open Action Pack order, paid with a card saved from ``number``."""

    def open_order(number: str = CARD_OK) -> Order:
        card = card_save(localstripe, contoso, bob, number)
        return order_open_purchase(
            organization=contoso, offer=offer, placed_by=bob, payment_method=card
        )

    return open_order


def test_it_charges_the_exact_amount_and_starts_the_subscription(localstripe, purchase, bob):
    order = purchase(CARD_OK)

    outcome = order_charge(order=order, off_session=False, actor=bob)

    assert outcome.paid
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.invoice_number.startswith("INV-")
    subscription = Subscription.objects.get(organization=order.organization)
    assert (subscription.status, subscription.auto_renew, order.subscription) == (
        "active",
        True,
        subscription,
    )
    assert succeeded_charges(localstripe, order.organization.stripe_customer_id) == [(47500, "usd")]


def test_a_declined_card_leaves_no_subscription_and_says_why(localstripe, purchase, bob):
    order = purchase(CARD_CHARGES_DECLINED)

    outcome = order_charge(order=order, off_session=False, actor=bob)

    assert outcome.status == OrderStatus.FAILED
    assert outcome.message == "Your card was declined."
    assert not Subscription.objects.exists()
    assert succeeded_charges(localstripe, order.organization.stripe_customer_id) == []


def test_after_a_decline_another_card_pays_the_same_order_once(localstripe, purchase, contoso, bob):
    order = purchase(CARD_CHARGES_DECLINED)
    order_charge(order=order, off_session=False, actor=bob)
    good_card = card_save(localstripe, contoso, bob, CARD_OK)
    order_change_card(order=order, payment_method=good_card, placed_by=bob)
    order.refresh_from_db()

    outcome = order_charge(order=order, off_session=False, actor=bob)

    assert outcome.paid
    assert order.attempts.count() == 2
    assert Subscription.objects.count() == 1
    assert succeeded_charges(localstripe, contoso.stripe_customer_id) == [(47500, "usd")]


def test_3d_secure_waits_for_the_card_holder_then_settles_once(localstripe, purchase, bob):
    order = purchase(CARD_3DS)

    outcome = order_charge(order=order, off_session=False, actor=bob)

    assert outcome.status == OrderStatus.REQUIRES_ACTION
    assert outcome.client_secret.startswith(f"{outcome.order.stripe_payment_intent_id}_secret_")
    customer = order.organization.stripe_customer_id
    assert succeeded_charges(localstripe, customer) == []
    assert not Subscription.objects.exists()

    payment_intent_authenticate(localstripe, client_secret=outcome.client_secret)
    settled = order_settle_payment_intent(
        payment_intent_id=outcome.order.stripe_payment_intent_id, actor_label="browser"
    )

    assert settled.paid
    assert Subscription.objects.count() == 1
    assert succeeded_charges(localstripe, customer) == [(47500, "usd")]


def test_failed_3d_secure_fails_the_order(localstripe, purchase, bob):
    order = purchase(CARD_3DS)
    outcome = order_charge(order=order, off_session=False, actor=bob)

    payment_intent_authenticate(localstripe, client_secret=outcome.client_secret, success=False)
    settled = order_settle_payment_intent(payment_intent_id=outcome.order.stripe_payment_intent_id)

    assert settled.status == OrderStatus.FAILED
    assert "authentication" in settled.order.failure_message
    assert not Subscription.objects.exists()
    assert succeeded_charges(localstripe, order.organization.stripe_customer_id) == []


def test_charging_a_paid_order_again_charges_nothing(localstripe, purchase, bob):
    order = purchase(CARD_OK)
    order_charge(order=order, off_session=False, actor=bob)

    # A reload, a double click, a second tab: each calls order_charge with its own copy.
    again = order_charge(order=Order.objects.get(pk=order.pk), off_session=False, actor=bob)
    stale_copy = order_charge(order=order, off_session=False, actor=bob)

    assert again.paid and stale_copy.paid
    assert PaymentAttempt.objects.filter(order=order).count() == 1
    assert len(localstripe.payment_intents(customer=order.organization.stripe_customer_id)) == 1
    assert succeeded_charges(localstripe, order.organization.stripe_customer_id) == [(47500, "usd")]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PURCHASE).count() == 1


def test_charging_an_order_waiting_for_3d_secure_returns_the_same_challenge(
    localstripe, purchase, bob
):
    order = purchase(CARD_3DS)
    first = order_charge(order=order, off_session=False, actor=bob)

    second = order_charge(order=Order.objects.get(pk=order.pk), off_session=False, actor=bob)

    assert second.status == OrderStatus.REQUIRES_ACTION
    assert second.client_secret == first.client_secret
    assert len(localstripe.payment_intents(customer=order.organization.stripe_customer_id)) == 1


def test_an_unknown_outcome_is_reconciled_to_paid_with_one_charge(
    localstripe, purchase, bob, monkeypatch
):
    # Simulated, because localstripe cannot be made to lose an answer: the confirm really
    # reaches localstripe and charges the card, then the connection "drops" before we read the
    # answer. That is the one case where we cannot know whether money moved.
    confirm = stripe_gateway.payment_intent_confirm

    def confirm_then_lose_the_answer(*args, **kwargs):
        confirm(*args, **kwargs)
        raise stripe_gateway.StripeUnavailable("read timed out")

    monkeypatch.setattr(stripe_gateway, "payment_intent_confirm", confirm_then_lose_the_answer)
    order = purchase(CARD_OK)

    outcome = order_charge(order=order, off_session=False, actor=bob)

    assert outcome.paid
    assert Subscription.objects.count() == 1
    assert succeeded_charges(localstripe, order.organization.stripe_customer_id) == [(47500, "usd")]


def test_an_order_abandoned_mid_charge_is_reconciled_later_without_charging_again(
    localstripe, purchase, bob, monkeypatch
):
    # Simulated: the web process dies right after Stripe charged the card (the exception stands
    # for the crash), leaving the order claimed. The stale-order job settles it from Stripe.
    confirm = stripe_gateway.payment_intent_confirm

    def confirm_then_crash(*args, **kwargs):
        confirm(*args, **kwargs)
        raise SystemExit("worker killed")

    monkeypatch.setattr(stripe_gateway, "payment_intent_confirm", confirm_then_crash)
    order = purchase(CARD_OK)
    with pytest.raises(SystemExit):
        order_charge(order=order, off_session=False, actor=bob)
    monkeypatch.undo()
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING

    # Another tab meanwhile charges nothing: the order is claimed.
    assert order_charge(order=order, off_session=False, actor=bob).status == OrderStatus.PROCESSING
    with clock.frozen_at(clock.now() + dt.timedelta(minutes=11)):
        settled = payments_reconcile_all()

    order.refresh_from_db()
    assert (settled, order.status) == (1, OrderStatus.PAID)
    assert succeeded_charges(localstripe, order.organization.stripe_customer_id) == [(47500, "usd")]


def test_a_late_answer_for_a_declined_attempt_does_not_free_the_order_being_charged(
    localstripe, purchase, contoso, bob, monkeypatch
):
    # Attempt 1 is declined; the partner picks another card and clicks Purchase. While attempt 2
    # is being charged, the webhook for attempt 1 arrives (localstripe sends it a second later).
    # It must not mark the order failed: a failed order may be claimed and charged again by a
    # second tab, which would charge the card twice.
    order = purchase(CARD_CHARGES_DECLINED)
    declined = order_charge(order=order, off_session=False, actor=bob)
    first_payment_intent = declined.order.stripe_payment_intent_id
    card = card_save(localstripe, contoso, bob, CARD_OK)
    order_change_card(order=order, payment_method=card, placed_by=bob)
    create = stripe_gateway.payment_intent_create
    second_tab = []

    def late_webhook_then_create(**kwargs):
        if not second_tab:
            order_settle_payment_intent(payment_intent_id=first_payment_intent)
            second_tab.append(
                order_charge(order=Order.objects.get(pk=order.pk), off_session=False, actor=bob)
            )
        return create(**kwargs)

    monkeypatch.setattr(stripe_gateway, "payment_intent_create", late_webhook_then_create)
    outcome = order_charge(order=Order.objects.get(pk=order.pk), off_session=False, actor=bob)

    assert second_tab[0].status == OrderStatus.PROCESSING
    assert outcome.paid
    assert succeeded_charges(localstripe, contoso.stripe_customer_id) == [(47500, "usd")]
