"""The billing admin: staff see a subscription's history and renewal attempts, and retry a renewal."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from billing.models import (
    BenefitGrant,
    Order,
    PaymentAttempt,
    PaymentMethod,
    ProductKey,
    Refund,
    ReminderSent,
    SeatAssignment,
    StripeEvent,
    Subscription,
    SubscriptionEvent,
)
from billing.services.renewals import subscription_renew_automatically
from core import clock
from membership.models import AuditEvent
from tests.billing.renewal_helpers import (
    CARD_CHARGES_DECLINED,
    CARD_OK,
    card_on_file,
    moment,
    subscription_due_on,
    succeeded_payments,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

ANNIVERSARY = dt.date(2025, 4, 2)


@pytest.fixture
def past_due(localstripe, contoso, offer, alice, bob):
    """Contoso's subscription, declined on its anniversary: past due, retry scheduled for tomorrow."""
    card = card_on_file(contoso, CARD_CHARGES_DECLINED)
    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=card)
    clock.set_now(moment(ANNIVERSARY))
    subscription_renew_automatically(subscription_id=subscription.pk)
    subscription.refresh_from_db()
    assert subscription.status == "past_due"
    clock.set_now(moment(ANNIVERSARY, dt.time(10)))
    return subscription


def retry_url(subscription: Subscription) -> str:
    return reverse("admin:billing_subscription_retry_renewal", args=[subscription.pk])


def change_url(subscription: Subscription) -> str:
    return reverse("admin:billing_subscription_change", args=[subscription.pk])


def test_the_subscription_page_shows_its_history_and_renewal_attempts(past_due, login, root):
    attempt = PaymentAttempt.objects.get(order__subscription=past_due)

    response = login(root).get(change_url(past_due))

    assert response.status_code == 200
    page = response.content.decode()
    assert "renewal_failed" in page  # the state-change history
    assert "past_due" in page
    assert attempt.stripe_payment_intent_id in page
    assert "card_declined: Your card was declined." in page
    assert "Retry renewal charge" in page


def test_retry_charges_a_past_due_subscription_to_its_new_card(
    localstripe, past_due, contoso, login, root
):
    new_card = card_on_file(contoso, CARD_OK)
    Subscription.objects.filter(pk=past_due.pk).update(payment_method=new_card)

    response = login(root).post(retry_url(past_due), follow=True)

    assert response.redirect_chain == [(change_url(past_due), 302)]
    assert "1 renewal charged." in response.content.decode()
    past_due.refresh_from_db()
    assert (past_due.status, past_due.term_number) == ("active", 2)
    payments = succeeded_payments(localstripe, contoso.stripe_customer_id)
    assert [p["payment_method"] for p in payments] == [new_card.stripe_payment_method_id]
    assert AuditEvent.objects.get(action=AuditEvent.Action.RENEWAL).actor == root


def test_a_failed_retry_says_so_and_emails_the_partner(
    localstripe, past_due, login, root, mailoutbox
):
    mailoutbox.clear()

    response = login(root).post(retry_url(past_due), follow=True)

    assert "1 renewal charge failed again; the partner was emailed." in response.content.decode()
    assert len(mailoutbox) == 2
    event = SubscriptionEvent.objects.filter(subscription=past_due).last()
    assert (event.kind, event.actor) == ("renewal_failed", root)
    assert Order.objects.get(subscription=past_due, kind="renewal").attempt_count == 2


def test_a_double_submitted_retry_charges_once(localstripe, past_due, contoso, login, root):
    new_card = card_on_file(contoso, CARD_OK)
    Subscription.objects.filter(pk=past_due.pk).update(payment_method=new_card)
    client = login(root)

    client.post(retry_url(past_due))
    response = client.post(retry_url(past_due), follow=True)

    assert "1 subscription was not charged" in response.content.decode()
    assert len(succeeded_payments(localstripe, contoso.stripe_customer_id)) == 1


def test_retry_from_the_list_skips_subscriptions_that_are_not_past_due(
    localstripe, past_due, fabrikam, offer, login, root
):
    active = subscription_due_on(
        fabrikam, offer, ANNIVERSARY + dt.timedelta(days=100), card=card_on_file(fabrikam)
    )

    response = login(root).post(
        reverse("admin:billing_subscription_changelist"),
        {"action": "retry_renewal_charge", "_selected_action": [past_due.pk, active.pk]},
        follow=True,
    )

    page = response.content.decode()
    assert "1 renewal charge failed again" in page
    assert "1 subscription was not charged" in page
    assert localstripe.payment_intents(customer=fabrikam.stripe_customer_id) == []


def test_retry_is_not_offered_for_an_active_subscription(localstripe, contoso, offer, login, root):
    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=None)

    page = login(root).get(change_url(subscription)).content.decode()

    assert "Retry renewal charge</button>" not in page


def test_retry_rejects_get(past_due, login, root):
    assert login(root).get(retry_url(past_due)).status_code == 405


def test_retry_requires_staff(past_due, login, bob):
    response = login(bob).post(retry_url(past_due))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    assert PaymentAttempt.objects.filter(order__subscription=past_due).count() == 1


def test_retry_requires_the_change_permission(past_due, login, agent):
    agent.user_permissions.add(Permission.objects.get(codename="view_subscription"))

    response = login(agent).post(retry_url(past_due))

    assert response.status_code == 403
    assert PaymentAttempt.objects.filter(order__subscription=past_due).count() == 1


@pytest.mark.parametrize(
    "model",
    [
        PaymentMethod,
        Subscription,
        SubscriptionEvent,
        Order,
        PaymentAttempt,
        Refund,
        StripeEvent,
        ReminderSent,
        BenefitGrant,
        ProductKey,
        SeatAssignment,
    ],
)
def test_every_billing_model_has_a_staff_list(past_due, login, root, model):
    url = reverse(f"admin:billing_{model._meta.model_name}_changelist")

    response = login(root).get(url, {"q": "Contoso"} if model is not StripeEvent else {})

    assert response.status_code == 200


def test_the_subscription_page_offers_the_cancellation_staff_may_do(past_due, login, root):
    page = login(root).get(change_url(past_due)).content.decode()

    assert reverse("admin:billing_subscription_cancel", args=[past_due.pk]) in page
    assert 'value="subscription_cancel_action"' in page or "Cancel subscription" in page


def test_the_anniversary_filter_finds_subscriptions_in_their_grace_window(
    localstripe, past_due, fabrikam, offer, login, root
):
    later = subscription_due_on(fabrikam, offer, ANNIVERSARY + dt.timedelta(days=20), card=None)
    changelist = reverse("admin:billing_subscription_changelist")
    client = login(root)
    clock.set_now(moment(ANNIVERSARY + dt.timedelta(days=3)))

    in_grace = client.get(changelist, {"anniversary": "grace"}).context["cl"].result_list
    coming = client.get(changelist, {"anniversary": "next_30"}).context["cl"].result_list

    assert [s.pk for s in in_grace] == [past_due.pk]
    assert [s.pk for s in coming] == [later.pk]
