"""The renew wizard: order details → terms → payment → review → Purchase → confirmed → Close."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from billing.models import Order, OrderKind, OrderStatus
from billing.services.subscriptions import subscription_turn_off_auto_renew
from core import clock
from offers.models import TermsAcceptance
from offers.selectors import terms_current
from tests.billing.factories import make_subscription
from tests.billing.stripe_helpers import card_save, succeeded_charges

STARTED = dt.date(2026, 3, 10)  # anniversary 2027-03-10; renewal window 2026-12-10 … 2027-04-09
INSIDE_WINDOW = dt.datetime(2027, 2, 1, 9, tzinfo=dt.UTC)
BEFORE_WINDOW = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def today():
    with clock.frozen_at(INSIDE_WINDOW):
        yield


@pytest.fixture
def subscription(localstripe, contoso, offer, bob):
    card = card_save(localstripe, contoso, bob)
    return make_subscription(contoso, offer, started_on=STARTED, payment_method=card)


@pytest.fixture
def unpaid_subscription(contoso, offer):
    # No Stripe needed: for the access checks only.
    return make_subscription(contoso, offer, started_on=STARTED)


def url(step: str, subscription) -> str:
    return reverse(f"billing:renew_{step}", args=[subscription.pk])


def renewal_order(subscription) -> Order:
    return Order.objects.get(subscription=subscription, kind=OrderKind.RENEWAL)


def walk_to_review(client, subscription) -> Order:
    client.post(url("details", subscription))
    client.post(
        url("terms", subscription),
        {"terms_version": terms_current(offer=subscription.offer).pk, "accept": "on"},
    )
    client.post(url("payment", subscription), {"payment_method": subscription.payment_method_id})
    return renewal_order(subscription)


def test_details_show_the_next_term_its_price_and_card(login, bob, subscription):
    response = login(bob).get(url("details", subscription))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Check the order details" in page
    assert "March 10, 2027 – March 10, 2028" in page
    assert "$475.00" in page
    assert "Visa •••• 4242" in page
    assert ">Next<" in page
    assert not Order.objects.filter(kind=OrderKind.RENEWAL).exists()


def test_next_opens_the_order_for_the_next_term(login, bob, subscription):
    response = login(bob).post(url("details", subscription))

    assert response["Location"] == url("terms", subscription)
    order = renewal_order(subscription)
    assert (order.term_number, order.amount, order.currency) == (2, 47500, "USD")
    assert order.status == OrderStatus.PENDING


def test_terms_are_accepted_for_the_renewal(login, bob, contoso, subscription):
    client = login(bob)
    client.post(url("details", subscription))

    page = client.get(url("terms", subscription)).content.decode()
    response = client.post(
        url("terms", subscription),
        {"terms_version": terms_current(offer=subscription.offer).pk, "accept": "on"},
    )

    assert "2026-01" in page
    assert response["Location"] == url("payment", subscription)
    acceptance = TermsAcceptance.objects.get()
    assert (acceptance.accepted_by, acceptance.organization) == (bob, contoso)
    assert renewal_order(subscription).terms_acceptance == acceptance


def test_review_says_the_new_term_starts_at_the_anniversary(login, bob, subscription):
    client = login(bob)
    walk_to_review(client, subscription)

    page = client.get(url("review", subscription)).content.decode()

    assert "Your credit card will be charged immediately." in page
    assert "The new term starts on your anniversary, March 10, 2027" in page
    assert "March 10, 2028" in page


def test_purchase_renews_from_the_anniversary_and_turns_auto_renew_back_on(
    localstripe, login, bob, contoso, subscription
):
    subscription_turn_off_auto_renew(subscription=subscription, actor=bob)
    client = login(bob)
    order = walk_to_review(client, subscription)

    response = client.post(reverse("billing:order_purchase", args=[order.pk]))

    assert response["Location"] == reverse("billing:order_confirmed", args=[order.pk])
    subscription.refresh_from_db()
    assert subscription.term_number == 2
    assert subscription.current_term_start == dt.date(2027, 3, 10)
    assert subscription.current_term_end == dt.date(2028, 3, 10)
    assert (subscription.auto_renew, subscription.auto_renew_locked) == (True, False)
    assert succeeded_charges(localstripe, contoso.stripe_customer_id) == [(47500, "usd")]
    confirmed = client.get(response["Location"]).content.decode()
    assert "Your order is confirmed." in confirmed
    assert f'href="{reverse("billing:subscription", args=[subscription.pk])}">Close<' in confirmed
    page = client.get(reverse("billing:subscription", args=[subscription.pk])).content.decode()
    assert "Renews automatically each year on March 10, 2028" in page


def test_manual_renewal_uses_the_order_the_automatic_renewal_opened(login, bob, subscription):
    automatic = Order.objects.create(
        organization=subscription.organization,
        offer=subscription.offer,
        subscription=subscription,
        kind=OrderKind.RENEWAL,
        term_number=2,
        amount=47500,
        currency="USD",
        status=OrderStatus.FAILED,
        failure_message="Your card was declined.",
        payment_method=subscription.payment_method,
    )

    order = walk_to_review(login(bob), subscription)

    assert order == automatic
    assert Order.objects.filter(kind=OrderKind.RENEWAL).count() == 1


def test_renewing_before_the_window_is_refused_with_the_date_it_opens(login, bob, subscription):
    with clock.frozen_at(BEFORE_WINDOW):
        response = login(bob).post(url("details", subscription), follow=True)

    assert response.redirect_chain[-1][0] == reverse("billing:subscription", args=[subscription.pk])
    assert "Renewal opens on 2026-12-10." in response.content.decode()
    assert not Order.objects.filter(kind=OrderKind.RENEWAL).exists()


def test_later_steps_before_details_go_back_to_details(login, bob, unpaid_subscription):
    client = login(bob)

    for step in ("terms", "payment", "review"):
        response = client.get(url(step, unpaid_subscription))
        assert response["Location"] == url("details", unpaid_subscription), step


@pytest.mark.parametrize("person", ["victor", "bea", "axel"])
def test_every_step_requires_the_purchase_role(request, login, unpaid_subscription, person):
    client = login(request.getfixturevalue(person))

    for step in ("details", "terms", "payment", "review"):
        assert client.get(url(step, unpaid_subscription)).status_code == 403, step
    assert client.post(url("details", unpaid_subscription)).status_code == 403


def test_every_step_of_another_organizations_subscription_gives_404(
    login, charlie, unpaid_subscription
):
    client = login(charlie)

    for step in ("details", "terms", "payment", "review"):
        assert client.get(url(step, unpaid_subscription)).status_code == 404, step
    assert client.post(url("details", unpaid_subscription)).status_code == 404
    assert not Order.objects.filter(kind=OrderKind.RENEWAL).exists()


def test_steps_reject_the_wrong_method(login, bob, unpaid_subscription):
    client = login(bob)

    for step in ("details", "terms", "payment"):
        assert client.put(url(step, unpaid_subscription)).status_code == 405, step
    assert client.post(url("review", unpaid_subscription)).status_code == 405
