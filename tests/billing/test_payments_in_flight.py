"""A PaymentIntent whose confirm may have been sent is in flight until Stripe says how it ended.

Against localstripe behind ``scripts/stripe_proxy.py``, which holds chosen confirms and forwards
them *after* our client gave up (Stripe finishes a confirm it received), drops connections after
Stripe did the work, and answers 404. What counts is localstripe's own record of the money.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.core import mail

from billing import stripe_gateway
from billing.models import Order, OrderStatus, PaymentAttempt, SubscriptionEvent
from billing.selectors.payments import claim_timeout
from billing.services.orders import renewal_order_for_next_term
from billing.services.reconciliation import order_settle_payment_intent
from billing.services.renewals import (
    RenewalOutcome,
    payments_reconcile_all,
    subscription_renew_automatically,
)
from core import clock
from tests.billing.renewal_helpers import (
    card_on_file,
    moment,
    purchase,
    subscription_due_on,
    succeeded_payments,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

ANNIVERSARY = dt.date(2026, 3, 2)
CONFIRM = "/v1/payment_intents/*/confirm"
RECEIPT = "Your Microsoft Action Pack subscription has been renewed"


@pytest.fixture
def due(contoso, offer, alice):
    """Contoso's subscription, due today, with a good card; the clock at the cycle's hour."""
    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=card_on_file(contoso))
    clock.set_now(moment(ANNIVERSARY))
    return subscription


@pytest.fixture
def slow_gateway(settings):
    # Our side gives up on a Stripe call after 5 s (20 in production); the proxy holds the
    # confirm for 60. Shorter would also cut off the calls that are not held on a busy machine.
    settings.STRIPE_TIMEOUT_SECONDS = 5


def renewal_order() -> Order:
    return Order.objects.get(kind="renewal")


def after_the_claim_timeout() -> None:
    clock.set_now(moment(ANNIVERSARY) + claim_timeout() + dt.timedelta(seconds=1))


def intents(localstripe, organization) -> list[tuple[str, int]]:
    """(status, amount) of the organization's PaymentIntents in localstripe, oldest first."""
    return [
        (intent["status"], intent["amount"])
        for intent in localstripe.payment_intents(customer=organization.stripe_customer_id)
    ]


def test_a_confirm_answered_after_our_timeout_is_in_flight_not_a_failure(
    localstripe, stripe_proxy, slow_gateway, due, contoso
):
    stripe_proxy.faults([{"action": "hold", "path": CONFIRM, "seconds": 60, "times": 1}])

    result = subscription_renew_automatically(subscription_id=due.pk)

    # Our client gave up; Stripe has not finished: nothing is known, so nothing is decided.
    order = renewal_order()
    assert (result.outcome, order.status) == (RenewalOutcome.PENDING, OrderStatus.PROCESSING)
    assert order.attempts.get().status == PaymentAttempt.Status.UNKNOWN
    # Running the cycle again, even settling right away, starts no second PaymentIntent.
    assert subscription_renew_automatically(subscription_id=due.pk).outcome == "skipped"
    assert payments_reconcile_all() == 0
    assert intents(localstripe, contoso) == [("requires_confirmation", 47500)]
    assert mail.outbox == []

    # Stripe finishes the confirm it received; past the claim timeout the reconciliation sees it.
    stripe_proxy.release()
    stripe_proxy.wait_forwarded(order.stripe_payment_intent_id, count=1)
    after_the_claim_timeout()
    assert payments_reconcile_all() == 1

    order.refresh_from_db()
    due.refresh_from_db()
    assert (order.status, due.status, due.term_number) == (OrderStatus.PAID, "active", 2)
    assert intents(localstripe, contoso) == [("succeeded", 47500)]
    assert [message.subject for message in mail.outbox] == [RECEIPT]


def test_a_confirm_arriving_after_the_reconciliation_canceled_it_charges_nothing(
    localstripe, stripe_proxy, slow_gateway, due, contoso
):
    stripe_proxy.faults([{"action": "hold", "path": CONFIRM, "seconds": 60, "times": 1}])
    subscription_renew_automatically(subscription_id=due.pk)
    first = renewal_order().stripe_payment_intent_id

    # The charger is presumed stopped: its PaymentIntent, still waiting, is canceled.
    after_the_claim_timeout()
    assert payments_reconcile_all() == 1
    order = renewal_order()
    assert (order.status, order.failure_code) == (OrderStatus.FAILED, "interrupted")
    assert order.attempts.get().status == PaymentAttempt.Status.CANCELED

    # The held confirm finally reaches Stripe, which refuses it: the PaymentIntent is canceled.
    stripe_proxy.release()
    stripe_proxy.wait_forwarded(first, count=1)
    assert intents(localstripe, contoso) == [("canceled", 47500)]

    # The quick retry, Stripe answering again, charges once, with a new PaymentIntent.
    stripe_proxy.reset()
    assert subscription_renew_automatically(subscription_id=due.pk).outcome == "renewed"
    assert intents(localstripe, contoso) == [("canceled", 47500), ("succeeded", 47500)]
    assert succeeded_payments(localstripe, contoso.stripe_customer_id)[0]["id"] != first
    assert [message.subject for message in mail.outbox] == [RECEIPT]


def test_a_lost_answer_is_looked_up_at_once(localstripe, stripe_proxy, due, contoso):
    # The connection drops after Stripe charged: the lookup right away finds it paid.
    stripe_proxy.faults([{"action": "drop", "when": "after", "path": CONFIRM, "times": 1}])

    result = subscription_renew_automatically(subscription_id=due.pk)

    assert result.outcome == RenewalOutcome.RENEWED
    assert stripe_proxy.totals()["dropped_after"] == 1
    assert intents(localstripe, contoso) == [("succeeded", 47500)]


def test_a_charger_that_wakes_after_a_takeover_changes_nothing(
    localstripe, contoso, offer, alice, monkeypatch, caplog
):
    """The stale writer: a batch paused while creating its PaymentIntents (here: inside the
    create call) past the claim timeout. Meanwhile the reconciliation takes its order over and a
    second attempt pays it. When the batch resumes, it records nothing and confirms nothing."""
    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=card_on_file(contoso))
    clock.set_now(moment(ANNIVERSARY))
    create = stripe_gateway.payment_intent_create
    paused = []

    def create_then_sleep_through_the_takeover(**kwargs):
        intent = create(**kwargs)
        if not paused:
            paused.append(intent.id)
            after_the_claim_timeout()
            assert payments_reconcile_all() == 1  # taken over: interrupted, retried at once
            second = subscription_renew_automatically(subscription_id=subscription.pk)
            assert second.outcome == RenewalOutcome.RENEWED
        return intent

    monkeypatch.setattr(
        stripe_gateway, "payment_intent_create", create_then_sleep_through_the_takeover
    )
    with caplog.at_level(logging.WARNING, logger="billing.services.payment_outcomes"):
        stale = subscription_renew_automatically(subscription_id=subscription.pk)

    assert stale.outcome == RenewalOutcome.SKIPPED
    assert any("fenced" in record.getMessage() for record in caplog.records)
    order = renewal_order()
    paid_with = succeeded_payments(localstripe, contoso.stripe_customer_id)
    assert [intent["id"] for intent in paid_with] == [order.stripe_payment_intent_id]
    assert order.status == OrderStatus.PAID
    assert order.stripe_payment_intent_id != paused[0]
    # The paused attempt's PaymentIntent was never recorded, so it was never confirmed.
    assert not PaymentAttempt.objects.filter(stripe_payment_intent_id=paused[0]).exists()
    assert sorted(intents(localstripe, contoso)) == [
        ("requires_confirmation", 47500),
        ("succeeded", 47500),
    ]


def test_a_payment_stripe_cannot_find_needs_attention_and_staff_are_emailed_once(
    localstripe, stripe_proxy, due, contoso, settings, root, login
):
    stripe_proxy.faults(
        [
            {"action": "drop", "when": "after", "path": CONFIRM, "times": 1},
            {"action": "not_found", "method": "GET", "path": "/v1/payment_intents/*"},
            {"action": "not_found", "path": "/v1/payment_intents/*/cancel"},
        ]
    )
    subscription_renew_automatically(subscription_id=due.pk)
    order = renewal_order()
    assert order.status == OrderStatus.PROCESSING

    after_the_claim_timeout()
    payments_reconcile_all()
    payments_reconcile_all()

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING  # charged, in fact: never failed by a guess
    assert order.attention_reason == (
        f"Stripe cannot find PaymentIntent {order.stripe_payment_intent_id}."
    )
    staff = [message for message in mail.outbox if message.to == [settings.STAFF_ALERT_EMAIL]]
    assert [message.subject for message in staff] == [
        f"Payment needs attention: Order {order.pk} (Contoso Ltd)"
    ]
    assert order.stripe_payment_intent_id in staff[0].body
    # Staff find it under "Needs attention", with its reason.
    needs_attention = login(root).get("/admin/billing/order/?payment_problem=attention")
    assert needs_attention.context["cl"].result_count == 1
    assert order.attention_reason in needs_attention.content.decode()

    # Stripe finds it again: settled, and off the list.
    stripe_proxy.reset()
    payments_reconcile_all()
    order.refresh_from_db()
    assert (order.status, order.attention_reason, order.attention_since) == (
        OrderStatus.PAID,
        "",
        None,
    )


def test_an_order_still_unsettled_after_many_reconciliations_needs_attention(
    localstripe, stripe_proxy, due, settings
):
    settings.PAYMENT_RECONCILE_ATTEMPTS = 3
    stripe_proxy.faults(
        [
            {"action": "drop", "when": "after", "path": CONFIRM, "times": 1},
            {"action": "drop", "when": "before", "method": "GET", "path": "/v1/payment_intents/*"},
        ]
    )
    subscription_renew_automatically(subscription_id=due.pk)

    after_the_claim_timeout()
    payments_reconcile_all()
    payments_reconcile_all()
    assert renewal_order().attention_since is None

    payments_reconcile_all()
    order = renewal_order()
    assert order.status == OrderStatus.PROCESSING
    assert order.attention_reason.startswith("Still unsettled after 3 reconciliations.")
    assert order.stripe_payment_intent_id in order.attention_reason

    payments_reconcile_all()
    assert len([m for m in mail.outbox if m.to == [settings.STAFF_ALERT_EMAIL]]) == 1


def extra_attempt(order: Order, number: int, *, charged: bool = True) -> PaymentAttempt:
    """An attempt of ``order`` with its own PaymentIntent, which took the money if ``charged``.

    Simulated: under the protocol a second attempt is only made once the first is closed, so two
    can never both charge; a charged one stands for one that did anyway (a bug, a PaymentIntent
    confirmed outside the portal). This is the safety net for that case.
    """
    key = f"test-extra-{order.pk}-{number}"
    intent = stripe_gateway.payment_intent_create(
        amount=order.amount,
        currency=order.currency,
        customer_id=order.organization.stripe_customer_id,
        payment_method_id=order.payment_method.stripe_payment_method_id,
        idempotency_key=key,
        metadata={"order_id": str(order.pk), "attempt": str(number)},
    )
    if charged:
        stripe_gateway.payment_intent_confirm(intent.id, idempotency_key=key, off_session=True)
    return PaymentAttempt.objects.create(
        order=order,
        number=number,
        off_session=True,
        idempotency_key=key,
        stripe_payment_intent_id=intent.id,
    )


@pytest.mark.parametrize("reported_by", ["webhook", "reconciliation"])
def test_a_second_charge_is_refunded_automatically_and_shown_to_staff(
    localstripe, contoso, offer, bob, settings, reported_by
):
    order = purchase(contoso, offer, bob, card_on_file(contoso))
    extra = extra_attempt(order, 2)

    for _twice in range(2):
        if reported_by == "webhook":
            order_settle_payment_intent(payment_intent_id=extra.stripe_payment_intent_id)
        else:
            payments_reconcile_all()  # webhooks off: the sweep finds the open attempt

    extra.refresh_from_db()
    order.refresh_from_db()
    refunds = localstripe.refunds(payment_intent=extra.stripe_payment_intent_id)
    assert [(refund["amount"], refund["status"]) for refund in refunds] == [(47500, "succeeded")]
    assert (extra.status, extra.stripe_refund_id) == ("refunded", refunds[0]["id"])
    assert localstripe.refunds(payment_intent=order.stripe_payment_intent_id) == []
    assert order.status == OrderStatus.PAID  # still paid by its first payment
    assert order.attention_reason.startswith("Charged twice")
    event = SubscriptionEvent.objects.get(kind="duplicate_refunded")
    assert extra.stripe_payment_intent_id in event.note
    staff = [message for message in mail.outbox if message.to == [settings.STAFF_ALERT_EMAIL]]
    assert len(staff) == 1


def test_a_late_success_of_an_older_attempt_pays_the_order(localstripe, contoso, due):
    # The order is being charged on attempt 2 when attempt 1's success is reported (a webhook).
    order = renewal_order_for_next_term(subscription=due)
    older = extra_attempt(order, 1)
    current = extra_attempt(order, 2, charged=False)
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.PROCESSING,
        attempt_count=2,
        stripe_payment_intent_id=current.stripe_payment_intent_id,
        claimed_at=clock.now(),
    )

    order_settle_payment_intent(payment_intent_id=older.stripe_payment_intent_id)
    # The attempt it overtook could still charge: the next reconciliation closes it.
    payments_reconcile_all()

    order.refresh_from_db()
    due.refresh_from_db()
    assert (order.status, order.stripe_payment_intent_id) == (
        OrderStatus.PAID,
        older.stripe_payment_intent_id,
    )
    assert (due.status, due.term_number) == ("active", 2)
    assert intents(localstripe, contoso) == [("succeeded", 47500), ("canceled", 47500)]
    current.refresh_from_db()
    assert current.status == PaymentAttempt.Status.CANCELED
