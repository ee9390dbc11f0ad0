"""Cancelling a subscription (staff only) and its refund: the rule, Stripe, exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from billing import stripe_gateway
from billing.models import BenefitGrant, Order, Refund, SubscriptionEvent
from billing.selectors.cancellations import refund_quote
from billing.selectors.subscriptions import renewal_blocker
from billing.services.benefits import product_key_issue
from billing.services.cancellations import (
    subscription_cancel,
    subscriptions_end_scheduled_cancellations,
)
from core import clock
from membership.models import AuditEvent
from tests.billing.benefits_setup import grant_of, load_keys
from tests.billing.cancellation_setup import purchase_order, subscription_bought
from tests.billing.factories import make_subscription
from tests.support.staff import billing_specialist_create, staff_group

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing_specialist(db):
    return billing_specialist_create()


@pytest.fixture
def bought(localstripe, contoso, offer, bob):
    return subscription_bought(localstripe, contoso, offer, bob)


def stripe_refunds(localstripe, order: Order) -> list[tuple[int, str]]:
    return [
        (refund["amount"], refund["status"])
        for refund in localstripe.refunds(payment_intent=order.stripe_payment_intent_id)
    ]


def events(subscription) -> list[str]:
    return list(
        SubscriptionEvent.objects.filter(subscription=subscription).values_list("kind", flat=True)
    )


# The rule ------------------------------------------------------------------------------------


def test_a_fresh_charge_without_software_gets_a_full_refund(bought):
    quote = refund_quote(subscription=bought)

    assert quote.full_refund_eligible
    assert (quote.suggested_amount, quote.max_amount, quote.currency) == (47500, 47500, "USD")
    assert "Full refund of $475.00" in quote.explanation


def test_after_thirty_days_the_rule_gives_nothing_but_staff_may_choose(bought):
    order = purchase_order(bought)

    with clock.frozen_at(order.paid_at + dt.timedelta(days=30, seconds=1)):
        quote = refund_quote(subscription=bought)

    assert not quote.full_refund_eligible
    assert (quote.suggested_amount, quote.max_amount) == (0, 47500)
    assert "more than 30 days old" in quote.explanation


def test_on_day_thirty_it_is_still_a_full_refund(bought):
    order = purchase_order(bought)

    with clock.frozen_at(order.paid_at + dt.timedelta(days=30)):
        assert refund_quote(subscription=bought).full_refund_eligible


def test_an_activated_software_benefit_ends_the_full_refund(bought, offer, bob):
    load_keys(offer, 1)
    product_key_issue(grant=grant_of(bought, "windows-enterprise"), actor=bob)

    quote = refund_quote(subscription=bought)

    assert (quote.full_refund_eligible, quote.software_activated) == (False, True)
    assert quote.suggested_amount == 0
    assert "software benefit has been activated" in quote.explanation


def test_a_charge_not_paid_through_stripe_cannot_be_refunded(contoso, offer):
    subscription = make_subscription(contoso, offer, started_on=clock.today())

    quote = refund_quote(subscription=subscription)

    assert (quote.max_amount, quote.full_refund_eligible) == (0, False)


# Cancelling ----------------------------------------------------------------------------------


def test_it_cancels_at_once_and_refunds_through_stripe(
    localstripe, bought, billing_specialist, bob, alice, django_capture_on_commit_callbacks
):
    order = purchase_order(bought)
    mail.outbox.clear()  # the purchase's receipts

    with django_capture_on_commit_callbacks(execute=True):
        outcome = subscription_cancel(
            subscription=bought,
            actor=billing_specialist,
            at_term_end=False,
            refund_amount=None,
            reason="Partner asked in SR-0000001",
        )

    assert stripe_refunds(localstripe, order) == [(47500, "succeeded")]
    bought.refresh_from_db()
    order.refresh_from_db()
    assert (bought.status, bought.ended_on, bought.auto_renew) == ("canceled", clock.today(), False)
    assert (order.status, order.refunded_amount) == ("refunded", 47500)
    refund = Refund.objects.get()
    assert (refund.amount, refund.created_by, outcome.refund) == (47500, billing_specialist, refund)
    assert refund.stripe_refund_id.startswith("re_")
    assert not BenefitGrant.objects.filter(subscription=bought, revoked_at__isnull=True).exists()
    assert events(bought)[-2:] == ["refunded", "canceled"]
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {"refund", "cancellation"}
    recipients = sorted(message.to[0] for message in mail.outbox)
    assert recipients == ["alice@contoso.example", "bob@contoso.example"]
    assert "We refunded $475.00 to the card ending in 4242" in mail.outbox[0].body


def test_it_cancels_at_the_end_of_the_term_and_the_cycle_ends_it(
    localstripe, bought, billing_specialist
):
    subscription_cancel(
        subscription=bought,
        actor=billing_specialist,
        at_term_end=True,
        refund_amount=0,
        reason="No longer needed",
    )

    bought.refresh_from_db()
    assert (bought.status, bought.cancel_at_term_end, bought.auto_renew) == ("active", True, False)
    assert renewal_blocker(subscription=bought) is not None
    assert stripe_refunds(localstripe, purchase_order(bought)) == []
    assert events(bought)[-1] == "cancel_scheduled"

    assert subscriptions_end_scheduled_cancellations(today=bought.current_term_end) == 1
    assert subscriptions_end_scheduled_cancellations(today=bought.current_term_end) == 0

    bought.refresh_from_db()
    assert (bought.status, bought.ended_on) == ("canceled", bought.current_term_end)
    assert events(bought)[-1] == "canceled"


def test_the_scheduled_end_waits_for_the_anniversary(bought, billing_specialist):
    subscription_cancel(
        subscription=bought, actor=billing_specialist, at_term_end=True, refund_amount=0, reason="x"
    )

    assert (
        subscriptions_end_scheduled_cancellations(
            today=bought.current_term_end - dt.timedelta(days=1)
        )
        == 0
    )


def test_staff_may_choose_a_partial_refund(localstripe, bought, billing_specialist):
    order = purchase_order(bought)

    subscription_cancel(
        subscription=bought,
        actor=billing_specialist,
        at_term_end=False,
        refund_amount=10000,
        reason="Goodwill",
    )

    order.refresh_from_db()
    assert stripe_refunds(localstripe, order) == [(10000, "succeeded")]
    assert (order.status, order.refunded_amount) == ("paid", 10000)


def test_staff_may_refund_after_the_window(localstripe, bought, billing_specialist):
    order = purchase_order(bought)

    with clock.frozen_at(order.paid_at + dt.timedelta(days=45)):
        subscription_cancel(
            subscription=bought,
            actor=billing_specialist,
            at_term_end=False,
            refund_amount=47500,
            reason="Exception approved",
        )

    assert stripe_refunds(localstripe, order) == [(47500, "succeeded")]


def test_the_rule_after_the_window_refunds_nothing(localstripe, bought, billing_specialist):
    order = purchase_order(bought)

    with clock.frozen_at(order.paid_at + dt.timedelta(days=45)):
        outcome = subscription_cancel(
            subscription=bought,
            actor=billing_specialist,
            at_term_end=False,
            refund_amount=None,
            reason="",
        )

    assert outcome.refund is None
    assert stripe_refunds(localstripe, order) == []


def test_it_refuses_more_than_was_paid(localstripe, bought, billing_specialist):
    with pytest.raises(ValidationError, match=r"At most \$475.00 can be refunded"):
        subscription_cancel(
            subscription=bought,
            actor=billing_specialist,
            at_term_end=False,
            refund_amount=47501,
            reason="",
        )

    bought.refresh_from_db()
    assert bought.status == "active"
    assert not Refund.objects.exists()
    assert stripe_refunds(localstripe, purchase_order(bought)) == []


def test_a_second_cancellation_refunds_nothing_more(localstripe, bought, billing_specialist):
    arguments = {
        "subscription": bought,
        "actor": billing_specialist,
        "at_term_end": False,
        "refund_amount": None,
        "reason": "double click",
    }
    subscription_cancel(**arguments)

    with pytest.raises(ValidationError):
        subscription_cancel(**arguments)

    assert stripe_refunds(localstripe, purchase_order(bought)) == [(47500, "succeeded")]
    assert Refund.objects.count() == 1


def test_a_refund_in_flight_blocks_a_second_one(
    localstripe, bought, billing_specialist, monkeypatch
):
    """A double click: the first request's claim exists, Stripe has not answered it yet."""
    order = purchase_order(bought)
    Refund.objects.create(order=order, amount=47500, currency="USD", created_by=billing_specialist)
    calls = []
    monkeypatch.setattr(stripe_gateway, "refund_create", lambda **kwargs: calls.append(kwargs))

    with pytest.raises(ValidationError):
        subscription_cancel(
            subscription=bought,
            actor=billing_specialist,
            at_term_end=False,
            refund_amount=47500,
            reason="",
        )

    assert calls == []
    bought.refresh_from_db()
    assert bought.status == "active"


def test_the_idempotency_key_comes_from_the_refund_row(bought, billing_specialist, monkeypatch):
    seen = []

    def refund_create(**kwargs):
        seen.append(kwargs)
        return {"id": "re_test", "amount": kwargs["amount"], "status": "succeeded"}

    monkeypatch.setattr(stripe_gateway, "refund_create", refund_create)

    subscription_cancel(
        subscription=bought,
        actor=billing_specialist,
        at_term_end=False,
        refund_amount=None,
        reason="",
    )

    refund = Refund.objects.get()
    assert seen == [
        {
            "payment_intent_id": purchase_order(bought).stripe_payment_intent_id,
            "amount": 47500,
            "idempotency_key": f"partnerportal-refund-{refund.pk}",
        }
    ]


def test_when_stripe_refuses_nothing_changes_and_staff_may_try_again(
    localstripe, bought, billing_specialist, monkeypatch
):
    def refuse(**kwargs):
        raise stripe_gateway.StripeRequestError("Charge already refunded.")

    monkeypatch.setattr(stripe_gateway, "refund_create", refuse)

    with pytest.raises(ValidationError, match="Stripe refused the refund"):
        subscription_cancel(
            subscription=bought,
            actor=billing_specialist,
            at_term_end=False,
            refund_amount=None,
            reason="",
        )

    bought.refresh_from_db()
    assert bought.status == "active"
    assert not Refund.objects.exists()
    assert events(bought)[-1] == "refund_failed"
    monkeypatch.undo()

    subscription_cancel(
        subscription=bought,
        actor=billing_specialist,
        at_term_end=False,
        refund_amount=None,
        reason="",
    )

    assert stripe_refunds(localstripe, purchase_order(bought)) == [(47500, "succeeded")]


def test_when_stripe_does_not_answer_the_claim_stays_and_blocks_another_refund(
    localstripe, bought, billing_specialist, monkeypatch
):
    def unavailable(**kwargs):
        raise stripe_gateway.StripeUnavailable("timeout")

    monkeypatch.setattr(stripe_gateway, "refund_create", unavailable)

    with pytest.raises(ValidationError, match="don't know whether the refund was made"):
        subscription_cancel(
            subscription=bought,
            actor=billing_specialist,
            at_term_end=False,
            refund_amount=None,
            reason="",
        )
    monkeypatch.undo()

    bought.refresh_from_db()
    assert bought.status == "active"
    assert Refund.objects.get().stripe_refund_id == ""
    quote = refund_quote(subscription=bought)
    assert quote.max_amount == 0
    assert "check payment" in quote.explanation
    with pytest.raises(ValidationError):
        subscription_cancel(
            subscription=bought,
            actor=billing_specialist,
            at_term_end=False,
            refund_amount=47500,
            reason="",
        )
    assert stripe_refunds(localstripe, purchase_order(bought)) == []


def test_a_past_due_subscription_can_be_canceled(contoso, offer, billing_specialist):
    subscription = make_subscription(
        contoso, offer, started_on=dt.date(2025, 4, 1), status="past_due"
    )

    subscription_cancel(
        subscription=subscription,
        actor=billing_specialist,
        at_term_end=False,
        refund_amount=None,
        reason="",
    )

    subscription.refresh_from_db()
    assert subscription.status == "canceled"


def test_an_expired_subscription_cannot_be_canceled(contoso, offer, billing_specialist):
    subscription = make_subscription(
        contoso, offer, started_on=dt.date(2024, 4, 1), status="expired"
    )

    with pytest.raises(ValidationError, match="Only an active or past-due"):
        subscription_cancel(
            subscription=subscription,
            actor=billing_specialist,
            at_term_end=False,
            refund_amount=None,
            reason="",
        )


def test_only_staff_with_the_cancel_permission_may_cancel(bought, support_agent_user):
    with pytest.raises(PermissionDenied):
        subscription_cancel(
            subscription=bought,
            actor=support_agent_user,
            at_term_end=False,
            refund_amount=None,
            reason="",
        )


@pytest.fixture
def support_agent_user(agent):
    agent.groups.add(staff_group("Support agent"))
    return agent
