"""The subscribe wizard: terms → payment details → review → Purchase → confirmed, with the order
row as its state, against the session's localstripe (no browser: the helpers do Stripe.js's part).

One file for the whole wizard (over ~500 lines): its steps share their setup and are read in order.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from billing.models import Order, OrderStatus, Subscription, SubscriptionStatus
from billing.selectors.checkout import purchase_order_open
from core import clock
from offers.models import TermsAcceptance, TermsVersion
from offers.selectors import terms_current
from tests.billing.factories import make_card, make_subscription
from tests.billing.stripe_helpers import (
    CARD_3DS,
    CARD_CHARGES_DECLINED,
    CARD_OK,
    card_save,
    confirmed_setup_intent,
    payment_intent_authenticate,
    succeeded_charges,
)

NOW = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def today():
    with clock.frozen_at(NOW):
        yield


def terms_url(offer):
    return reverse("billing:subscribe_terms", args=[offer.pk])


def payment_url(offer):
    return reverse("billing:subscribe_payment", args=[offer.pk])


def review_url(offer):
    return reverse("billing:subscribe_review", args=[offer.pk])


def accept_terms(client, offer):
    terms = terms_current(offer=offer)
    return client.post(terms_url(offer), {"terms_version": terms.pk, "accept": "on"})


def open_order(contoso, offer) -> Order:
    order = purchase_order_open(organization=contoso, offer=offer)
    assert order is not None
    return order


def ready_to_buy(client, contoso, offer, card) -> Order:
    """Terms accepted and ``card`` chosen: the order as the review page shows it."""
    accept_terms(client, offer)
    client.post(payment_url(offer), {"payment_method": card.pk})
    return open_order(contoso, offer)


# Terms --------------------------------------------------------------------------------------


def test_terms_page_shows_the_version_to_accept(login, bob, offer):
    response = login(bob).get(terms_url(offer))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Terms and conditions" in page
    assert "2026-01" in page
    assert "internal use only" in page
    assert ">Next<" in page


def test_accepting_the_terms_records_who_when_which_version_and_from_where(
    login, bob, contoso, offer
):
    response = accept_terms(login(bob), offer)

    assert response.status_code == 302
    assert response["Location"] == payment_url(offer)
    acceptance = TermsAcceptance.objects.get()
    assert acceptance.accepted_by == bob
    assert acceptance.organization == contoso
    assert acceptance.terms.version == "2026-01"
    assert acceptance.accepted_at == NOW
    assert acceptance.ip_address == "127.0.0.1"
    order = open_order(contoso, offer)
    assert order.terms_acceptance == acceptance
    assert (order.amount, order.currency, order.status) == (47500, "USD", OrderStatus.PENDING)


def test_the_terms_must_be_accepted(login, bob, contoso, offer):
    terms = terms_current(offer=offer)

    response = login(bob).post(terms_url(offer), {"terms_version": terms.pk})

    assert response.status_code == 200
    assert "Accept the terms and conditions to continue." in response.content.decode()
    assert not Order.objects.exists()
    assert not TermsAcceptance.objects.exists()


def test_a_newer_version_published_meanwhile_is_not_accepted_blind(login, bob, offer):
    old = terms_current(offer=offer)
    TermsVersion.objects.create(
        offer=offer, version="2027-01", title="New", body="New terms", published_at=NOW
    )

    response = login(bob).post(terms_url(offer), {"terms_version": old.pk, "accept": "on"})

    assert response.status_code == 200
    assert "The terms and conditions have changed" in response.content.decode()
    assert not Order.objects.exists()


def test_going_back_and_accepting_again_keeps_one_order(login, alice, bob, contoso, offer):
    client = login(bob)

    accept_terms(client, offer)
    accept_terms(client, offer)  # back button, or a second tab
    accept_terms(login(alice), offer)  # another buyer of the same organization

    assert Order.objects.filter(organization=contoso).count() == 1
    assert TermsAcceptance.objects.count() == 3
    assert open_order(contoso, offer).placed_by == alice


def test_terms_send_an_organization_that_already_holds_the_offer_back(login, bob, contoso, offer):
    make_subscription(contoso, offer, started_on=dt.date(2026, 3, 10))

    response = login(bob).post(
        terms_url(offer), {"terms_version": terms_current(offer=offer).pk, "accept": "on"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("billing:offers")
    assert not Order.objects.filter(kind="purchase", status="pending").exists()


def test_terms_reject_put(login, bob, offer):
    assert login(bob).put(terms_url(offer)).status_code == 405


def test_terms_of_an_unknown_offer_give_404(login, bob, offer):
    assert login(bob).get(reverse("billing:subscribe_terms", args=[9999])).status_code == 404


@pytest.mark.parametrize("person", ["victor", "bea", "axel"])
def test_every_wizard_step_requires_the_purchase_role(request, login, offer, person):
    client = login(request.getfixturevalue(person))

    for url in (terms_url(offer), payment_url(offer), review_url(offer)):
        assert client.get(url).status_code == 403, url


# Payment details ----------------------------------------------------------------------------


def test_payment_step_before_the_terms_goes_to_the_terms(login, bob, offer):
    response = login(bob).get(payment_url(offer))

    assert response.status_code == 302
    assert response["Location"] == terms_url(offer)


def test_payment_step_offers_saved_cards_and_card_entry(localstripe, login, bob, contoso, offer):
    card = card_save(localstripe, contoso, bob)
    client = login(bob)
    accept_terms(client, offer)

    response = client.get(payment_url(offer))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Visa •••• 4242" in page
    assert "Add a payment method" in page
    assert 'id="card-element"' in page
    assert reverse("billing:order_add_card", args=[open_order(contoso, offer).pk]) in page
    assert f'value="{card.pk}" checked' in page


def test_choosing_a_saved_card_puts_it_on_the_order(localstripe, login, bob, contoso, offer):
    card = card_save(localstripe, contoso, bob)
    client = login(bob)
    accept_terms(client, offer)

    response = client.post(payment_url(offer), {"payment_method": card.pk})

    assert response.status_code == 302
    assert response["Location"] == review_url(offer)
    order = open_order(contoso, offer)
    assert (order.payment_method, order.card_last4) == (card, "4242")


def test_another_organizations_card_cannot_be_chosen(
    localstripe, login, bob, contoso, fabrikam, offer
):
    theirs = make_card(fabrikam, last4="1111")
    client = login(bob)
    accept_terms(client, offer)

    response = client.post(payment_url(offer), {"payment_method": theirs.pk})

    assert response.status_code == 200
    assert "Choose one of your organization&#x27;s saved cards." in response.content.decode()
    assert open_order(contoso, offer).payment_method is None


def test_payment_step_rejects_put(login, bob, offer):
    assert login(bob).put(payment_url(offer)).status_code == 405


def test_adding_a_card_saves_it_and_goes_to_the_review(localstripe, login, bob, contoso, offer):
    client = login(bob)
    accept_terms(client, offer)
    order = open_order(contoso, offer)
    setup_intent_id = confirmed_setup_intent(localstripe, contoso, CARD_OK)

    response = client.post(
        reverse("billing:order_add_card", args=[order.pk]), {"setup_intent_id": setup_intent_id}
    )

    assert response.status_code == 302
    assert response["Location"] == review_url(offer)
    order.refresh_from_db()
    assert order.payment_method.last4 == "4242"
    assert order.payment_method.is_default


def test_adding_a_card_rejects_get(login, bob, contoso, offer):
    client = login(bob)
    accept_terms(client, offer)
    order = open_order(contoso, offer)

    assert client.get(reverse("billing:order_add_card", args=[order.pk])).status_code == 405


def test_adding_a_card_to_another_organizations_order_gives_404(
    login, bob, charlie, contoso, offer
):
    accept_terms(login(bob), offer)
    order = open_order(contoso, offer)

    response = login(charlie).post(
        reverse("billing:order_add_card", args=[order.pk]), {"setup_intent_id": "seti_x"}
    )

    assert response.status_code == 404


def test_adding_a_card_requires_the_purchase_role(login, bob, bea, contoso, offer):
    accept_terms(login(bob), offer)
    order = open_order(contoso, offer)

    response = login(bea).post(
        reverse("billing:order_add_card", args=[order.pk]), {"setup_intent_id": "seti_x"}
    )

    assert response.status_code == 403


# Review and Purchase ------------------------------------------------------------------------


def test_review_shows_what_will_be_charged_and_when_it_renews(
    localstripe, login, bob, contoso, offer
):
    card = card_save(localstripe, contoso, bob)
    client = login(bob)
    ready_to_buy(client, contoso, offer, card)

    response = client.get(review_url(offer))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Microsoft Action Pack subscription" in page
    assert "$475.00" in page and "USD" in page
    assert "Visa •••• 4242" in page
    assert "Nov. 24, 2027" in page  # the anniversary
    assert "Your credit card will be charged immediately." in page
    assert "renew automatically each year on this date" in page
    assert ">Purchase<" in page


def test_review_without_a_card_goes_to_payment_details(login, bob, offer):
    client = login(bob)
    accept_terms(client, offer)

    response = client.get(review_url(offer))

    assert response["Location"] == payment_url(offer)


def test_review_rejects_post(login, bob, offer):
    assert login(bob).post(review_url(offer)).status_code == 405


def test_purchase_charges_once_and_starts_the_subscription(localstripe, login, bob, contoso, offer):
    card = card_save(localstripe, contoso, bob)
    client = login(bob)
    order = ready_to_buy(client, contoso, offer, card)

    response = client.post(reverse("billing:order_purchase", args=[order.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("billing:order_confirmed", args=[order.pk])
    subscription = Subscription.objects.get(organization=contoso)
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.started_on == dt.date(2026, 11, 24)
    assert subscription.current_term_end == dt.date(2027, 11, 24)
    assert subscription.auto_renew
    assert subscription.payment_method == card
    assert succeeded_charges(localstripe, contoso.stripe_customer_id) == [(47500, "usd")]


def test_confirmed_page_says_so_and_closes_to_purchased_offers(
    localstripe, login, bob, contoso, offer
):
    card = card_save(localstripe, contoso, bob)
    client = login(bob)
    order = ready_to_buy(client, contoso, offer, card)
    client.post(reverse("billing:order_purchase", args=[order.pk]))

    response = client.get(reverse("billing:order_confirmed", args=[order.pk]))

    page = response.content.decode()
    assert "Your order is confirmed." in page
    order.refresh_from_db()
    assert order.invoice_number in page
    assert f'href="{reverse("billing:offers")}#purchased">Close<' in page


def test_double_clicking_purchase_charges_once(localstripe, login, bob, contoso, offer):
    card = card_save(localstripe, contoso, bob)
    client = login(bob)
    order = ready_to_buy(client, contoso, offer, card)
    url = reverse("billing:order_purchase", args=[order.pk])

    first = client.post(url)
    second = client.post(url)
    reloaded_review = client.get(review_url(offer))

    confirmed = reverse("billing:order_confirmed", args=[order.pk])
    assert first["Location"] == second["Location"] == confirmed
    assert reloaded_review.status_code == 302  # nothing left to buy: back to the offers
    assert Subscription.objects.filter(organization=contoso).count() == 1
    assert succeeded_charges(localstripe, contoso.stripe_customer_id) == [(47500, "usd")]


def test_a_declined_card_leaves_nothing_purchased_and_another_card_can_be_tried(
    localstripe, login, bob, contoso, offer
):
    declined = card_save(localstripe, contoso, bob, CARD_CHARGES_DECLINED)
    client = login(bob)
    order = ready_to_buy(client, contoso, offer, declined)

    response = client.post(reverse("billing:order_purchase", args=[order.pk]), follow=True)

    page = response.content.decode()
    assert response.redirect_chain[-1][0] == payment_url(offer)
    assert "The payment did not go through" in page
    assert "declined" in page
    assert "Nothing was charged" in page
    assert not Subscription.objects.filter(organization=contoso).exists()
    assert succeeded_charges(localstripe, contoso.stripe_customer_id) == []

    good = card_save(localstripe, contoso, bob, CARD_OK)
    client.post(payment_url(offer), {"payment_method": good.pk})
    retry = client.post(reverse("billing:order_purchase", args=[order.pk]))

    assert retry["Location"] == reverse("billing:order_confirmed", args=[order.pk])
    assert Subscription.objects.get(organization=contoso).payment_method == good
    assert succeeded_charges(localstripe, contoso.stripe_customer_id) == [(47500, "usd")]


def test_3d_secure_is_completed_in_the_browser_and_verified_with_stripe(
    localstripe, login, bob, contoso, offer
):
    card = card_save(localstripe, contoso, bob, CARD_3DS)
    client = login(bob)
    order = ready_to_buy(client, contoso, offer, card)

    response = client.post(reverse("billing:order_purchase", args=[order.pk]))
    assert response["Location"] == reverse("billing:order_authenticate", args=[order.pk])
    page = client.get(response["Location"]).content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.REQUIRES_ACTION
    assert "js/confirm-payment.js" in page
    client_secret = page.split('data-client-secret="')[1].split('"')[0]
    assert client_secret.startswith(order.stripe_payment_intent_id)
    assert not Subscription.objects.exists()

    # What stripe.confirmCardPayment does when the card holder completes the bank's check.
    payment_intent_authenticate(localstripe, client_secret=client_secret, success=True)
    done = client.post(reverse("billing:order_authenticated", args=[order.pk]))

    assert done["Location"] == reverse("billing:order_confirmed", args=[order.pk])
    assert Subscription.objects.get(organization=contoso).status == SubscriptionStatus.ACTIVE
    assert succeeded_charges(localstripe, contoso.stripe_customer_id) == [(47500, "usd")]


def test_claiming_3d_secure_done_without_it_confirms_nothing(
    localstripe, login, bob, contoso, offer
):
    card = card_save(localstripe, contoso, bob, CARD_3DS)
    client = login(bob)
    order = ready_to_buy(client, contoso, offer, card)
    client.post(reverse("billing:order_purchase", args=[order.pk]))

    response = client.post(reverse("billing:order_authenticated", args=[order.pk]))

    assert response["Location"] == reverse("billing:order_authenticate", args=[order.pk])
    assert not Subscription.objects.exists()


def test_failed_3d_secure_leaves_nothing_purchased(localstripe, login, bob, contoso, offer):
    card = card_save(localstripe, contoso, bob, CARD_3DS)
    client = login(bob)
    order = ready_to_buy(client, contoso, offer, card)
    client.post(reverse("billing:order_purchase", args=[order.pk]))
    page = client.get(reverse("billing:order_authenticate", args=[order.pk])).content.decode()
    client_secret = page.split('data-client-secret="')[1].split('"')[0]

    payment_intent_authenticate(localstripe, client_secret=client_secret, success=False)
    response = client.post(reverse("billing:order_authenticated", args=[order.pk]), follow=True)

    assert response.redirect_chain[-1][0] == payment_url(offer)
    assert "failed authentication" in response.content.decode()
    assert not Subscription.objects.exists()
    assert succeeded_charges(localstripe, contoso.stripe_customer_id) == []


def test_purchase_rejects_get(login, bob, contoso, offer):
    client = login(bob)
    accept_terms(client, offer)
    order = open_order(contoso, offer)

    assert client.get(reverse("billing:order_purchase", args=[order.pk])).status_code == 405


def test_order_pages_of_another_organization_give_404(login, bob, charlie, contoso, offer):
    accept_terms(login(bob), offer)
    order = open_order(contoso, offer)
    client = login(charlie)

    assert client.post(reverse("billing:order_purchase", args=[order.pk])).status_code == 404
    assert client.get(reverse("billing:order_authenticate", args=[order.pk])).status_code == 404
    assert client.post(reverse("billing:order_authenticated", args=[order.pk])).status_code == 404
    assert client.get(reverse("billing:order_status", args=[order.pk])).status_code == 404
    assert client.get(reverse("billing:order_confirmed", args=[order.pk])).status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_order_pages_require_the_purchase_role(login, bob, victor, contoso, offer):
    accept_terms(login(bob), offer)
    order = open_order(contoso, offer)
    client = login(victor)

    assert client.post(reverse("billing:order_purchase", args=[order.pk])).status_code == 403
    assert client.get(reverse("billing:order_authenticate", args=[order.pk])).status_code == 403
    assert client.post(reverse("billing:order_authenticated", args=[order.pk])).status_code == 403
    assert client.get(reverse("billing:order_status", args=[order.pk])).status_code == 403
    assert client.get(reverse("billing:order_confirmed", args=[order.pk])).status_code == 403


def test_order_pages_reject_the_wrong_method(login, bob, contoso, offer):
    client = login(bob)
    accept_terms(client, offer)
    order = open_order(contoso, offer)

    assert client.post(reverse("billing:order_authenticate", args=[order.pk])).status_code == 405
    assert client.get(reverse("billing:order_authenticated", args=[order.pk])).status_code == 405
    assert client.post(reverse("billing:order_status", args=[order.pk])).status_code == 405
    assert client.post(reverse("billing:order_confirmed", args=[order.pk])).status_code == 405


def test_an_order_being_charged_shows_a_page_that_refreshes(login, bob, contoso, offer):
    client = login(bob)
    accept_terms(client, offer)
    order = open_order(contoso, offer)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PROCESSING)

    review = client.get(review_url(offer))
    status = client.get(reverse("billing:order_status", args=[order.pk]))

    assert review["Location"] == reverse("billing:order_status", args=[order.pk])
    page = status.content.decode()
    assert "Your payment is being processed." in page
    assert 'http-equiv="refresh"' in page


def test_confirmed_page_of_an_unpaid_order_is_not_shown(login, bob, contoso, offer):
    client = login(bob)
    accept_terms(client, offer)
    order = open_order(contoso, offer)

    response = client.get(reverse("billing:order_confirmed", args=[order.pk]), follow=True)

    assert "Your order is confirmed." not in response.content.decode()


def test_review_with_a_card_removed_meanwhile_asks_for_another(login, bob, contoso, offer):
    card = make_card(contoso)
    client = login(bob)
    ready_to_buy(client, contoso, offer, card)
    card.removed_at = NOW
    card.save()

    response = client.get(review_url(offer))

    assert response["Location"] == payment_url(offer)
