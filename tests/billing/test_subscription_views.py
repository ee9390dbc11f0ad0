"""A purchased offer's page and its actions: turn off auto-renew, change the renewal card, cancel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from billing.models import Order, OrderKind, OrderStatus
from core import clock
from membership.models import AuditEvent
from tests.billing.factories import make_card, make_subscription
from tests.billing.stripe_helpers import confirmed_setup_intent

# Bought 2026-03-10: the anniversary is 2027-03-10, renewal opens 2026-12-10 (90 days before).
STARTED = dt.date(2026, 3, 10)
BEFORE_WINDOW = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)
INSIDE_WINDOW = dt.datetime(2027, 2, 1, 9, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def today():
    with clock.frozen_at(BEFORE_WINDOW):
        yield


@pytest.fixture
def card(contoso):
    return make_card(contoso)


@pytest.fixture
def subscription(contoso, offer, card):
    return make_subscription(contoso, offer, started_on=STARTED, payment_method=card)


def detail_url(subscription):
    return reverse("billing:subscription", args=[subscription.pk])


def off_url(subscription):
    return reverse("billing:subscription_auto_renew_off", args=[subscription.pk])


def card_url(subscription):
    return reverse("billing:subscription_payment_method", args=[subscription.pk])


def cancel_url(subscription):
    return reverse("billing:subscription_cancel", args=[subscription.pk])


# The page ------------------------------------------------------------------------------------


def test_it_shows_status_dates_auto_renew_card_and_actions(login, bob, subscription):
    response = login(bob).get(detail_url(subscription))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Active" in page
    assert "March 10, 2026" in page  # start date
    assert "Renews automatically each year on March 10, 2027" in page
    assert "Visa •••• 4242" in page
    assert "Turn off auto-renew" in page
    assert "Change payment method" in page
    assert "Cancel subscription" in page
    invoice = subscription.orders.get().invoices.get()
    assert reverse("billing:invoice_pdf", args=[invoice.pk]) in page
    assert "Download invoice" in page


def test_renew_is_shown_with_the_date_it_opens_before_the_window(login, bob, subscription):
    page = login(bob).get(detail_url(subscription)).content.decode()

    assert "Renewal opens on Dec. 10, 2026." in page
    assert reverse("billing:renew_details", args=[subscription.pk]) not in page


def test_renew_is_enabled_inside_the_window(login, bob, subscription):
    with clock.frozen_at(INSIDE_WINDOW):
        page = login(bob).get(detail_url(subscription)).content.decode()

    assert reverse("billing:renew_details", args=[subscription.pk]) in page


def test_people_without_the_purchase_role_see_it_read_only(login, victor, subscription):
    response = login(victor).get(detail_url(subscription))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Renews automatically each year on March 10, 2027" in page
    assert off_url(subscription) not in page
    assert card_url(subscription) not in page
    assert "Only a Global admin or an MPN partner admin" in page


def test_another_organizations_subscription_gives_404(login, charlie, subscription):
    assert login(charlie).get(detail_url(subscription)).status_code == 404


def test_the_page_rejects_post(login, bob, subscription):
    assert login(bob).post(detail_url(subscription)).status_code == 405


def test_the_page_requires_a_membership(login, agent, subscription):
    assert login(agent).get(detail_url(subscription)).status_code == 403


# Turn off auto-renew -------------------------------------------------------------------------


def test_turning_off_asks_first_and_says_it_cannot_be_turned_back_on(login, bob, subscription):
    response = login(bob).get(off_url(subscription))

    page = response.content.decode()
    assert response.status_code == 200
    assert "turn automatic renewal back on until you renew the subscription again" in page
    subscription.refresh_from_db()
    assert subscription.auto_renew


def test_turning_off_leaves_only_renew(login, bob, subscription):
    client = login(bob)

    response = client.post(off_url(subscription))

    assert response["Location"] == detail_url(subscription)
    subscription.refresh_from_db()
    assert (subscription.auto_renew, subscription.auto_renew_locked) == (False, True)
    event = AuditEvent.objects.get(action=AuditEvent.Action.AUTO_RENEW_OFF)
    assert (event.actor, event.ip_address) == (bob, "127.0.0.1")
    page = client.get(detail_url(subscription)).content.decode()
    assert "Expires on March 10, 2027" in page
    assert "It cannot be turned back on until you renew the subscription." in page
    assert off_url(subscription) not in page
    assert "Turn on" not in page
    assert "Renew subscription" in page


def test_turning_off_twice_changes_nothing_more(login, bob, subscription):
    client = login(bob)

    client.post(off_url(subscription))
    client.post(off_url(subscription))

    assert AuditEvent.objects.filter(action=AuditEvent.Action.AUTO_RENEW_OFF).count() == 1


def test_turning_off_requires_the_purchase_role(login, bea, subscription):
    client = login(bea)

    assert client.get(off_url(subscription)).status_code == 403
    assert client.post(off_url(subscription)).status_code == 403
    subscription.refresh_from_db()
    assert subscription.auto_renew


def test_turning_off_another_organizations_subscription_gives_404(login, charlie, subscription):
    assert login(charlie).post(off_url(subscription)).status_code == 404
    subscription.refresh_from_db()
    assert subscription.auto_renew


def test_turning_off_rejects_put(login, bob, subscription):
    assert login(bob).put(off_url(subscription)).status_code == 405


# Change payment method -----------------------------------------------------------------------


def test_change_payment_method_lists_the_cards(localstripe, login, bob, contoso, subscription):
    make_card(contoso, last4="5555", is_default=False)

    response = login(bob).get(card_url(subscription))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Visa •••• 4242" in page and "Visa •••• 5555" in page
    assert "Add a payment method" in page


def test_changing_the_card_moves_renewals_and_a_waiting_renewal_order_to_it(
    login, bob, contoso, subscription
):
    other = make_card(contoso, last4="5555", is_default=False)
    waiting = Order.objects.create(
        organization=contoso,
        offer=subscription.offer,
        subscription=subscription,
        kind=OrderKind.RENEWAL,
        term_number=2,
        amount=47500,
        currency="USD",
        status=OrderStatus.FAILED,
        payment_method=subscription.payment_method,
    )

    response = login(bob).post(card_url(subscription), {"payment_method": other.pk})

    assert response["Location"] == detail_url(subscription)
    subscription.refresh_from_db()
    waiting.refresh_from_db()
    assert subscription.payment_method == other
    assert (waiting.payment_method, waiting.card_last4) == (other, "5555")


def test_another_organizations_card_cannot_pay_the_renewals(
    localstripe, login, bob, fabrikam, subscription, card
):
    theirs = make_card(fabrikam, last4="1111")

    response = login(bob).post(card_url(subscription), {"payment_method": theirs.pk})

    assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.payment_method == card


def test_a_card_added_here_pays_the_renewals(localstripe, login, bob, contoso, subscription, card):
    setup_intent_id = confirmed_setup_intent(localstripe, contoso)

    response = login(bob).post(
        reverse("billing:subscription_add_card", args=[subscription.pk]),
        {"setup_intent_id": setup_intent_id},
    )

    assert response["Location"] == detail_url(subscription)
    subscription.refresh_from_db()
    assert subscription.payment_method != card
    assert subscription.payment_method.last4 == "4242"


def test_change_payment_method_requires_a_role_that_may_change_the_card(
    login, victor, axel, subscription
):
    for person in (victor, axel):  # no role; Account admin
        client = login(person)
        assert client.get(card_url(subscription)).status_code == 403
        add_url = reverse("billing:subscription_add_card", args=[subscription.pk])
        assert client.post(add_url, {"setup_intent_id": "seti_x"}).status_code == 403


def test_a_billing_admin_follows_the_card_in_use_message_and_changes_the_card(
    localstripe, login, bea, contoso, subscription, card
):
    """The Payment methods page tells Bea (Billing admin) that the card is in use and where to
    change it; she may (docs/product.md, roles), then remove the old card."""
    client = login(bea)
    other = make_card(contoso, last4="5555", is_default=False)
    methods = client.get(reverse("billing:payment_methods")).content.decode()
    assert "Choose another card for the subscription before removing this one" in methods
    assert f'href="{card_url(subscription)}"' in methods

    assert client.get(card_url(subscription)).status_code == 200
    response = client.post(card_url(subscription), {"payment_method": other.pk})

    assert response["Location"] == detail_url(subscription)
    subscription.refresh_from_db()
    assert subscription.payment_method == other
    assert "Change payment method" in client.get(detail_url(subscription)).content.decode()
    removed = client.post(reverse("billing:payment_method_remove", args=[card.pk]))
    assert removed.status_code == 302
    card.refresh_from_db()
    assert card.removed_at is not None


def test_a_billing_admin_adds_a_card_for_the_renewals(
    localstripe, login, bea, contoso, subscription, card
):
    client = login(bea)
    assert client.post(reverse("billing:purchase_card_setup")).status_code == 200
    setup_intent_id = confirmed_setup_intent(localstripe, contoso)

    response = client.post(
        reverse("billing:subscription_add_card", args=[subscription.pk]),
        {"setup_intent_id": setup_intent_id},
    )

    assert response["Location"] == detail_url(subscription)
    subscription.refresh_from_db()
    assert subscription.payment_method != card


def test_change_payment_method_of_another_organization_gives_404(login, charlie, subscription):
    client = login(charlie)

    assert client.post(card_url(subscription), {"payment_method": 1}).status_code == 404
    add_url = reverse("billing:subscription_add_card", args=[subscription.pk])
    assert client.post(add_url, {"setup_intent_id": "seti_x"}).status_code == 404


def test_change_payment_method_rejects_the_wrong_method(login, bob, subscription):
    client = login(bob)

    assert client.put(card_url(subscription)).status_code == 405
    add_url = reverse("billing:subscription_add_card", args=[subscription.pk])
    assert client.get(add_url).status_code == 405


# Cancel subscription -------------------------------------------------------------------------


def test_cancel_explains_support_and_links_a_prefilled_request(login, bob, subscription):
    response = login(bob).get(cancel_url(subscription))

    page = response.content.decode()
    assert response.status_code == 200
    assert "you must contact Partner Center Support" in page
    expected = (
        f"{reverse('support:new_request')}?issue_type=invoice_payment"
        f"&amp;subscription={subscription.pk}"
    )
    assert expected in page


def test_cancel_requires_a_role_that_files_support_requests(login, victor, subscription):
    assert login(victor).get(cancel_url(subscription)).status_code == 403


def test_cancel_of_another_organizations_subscription_gives_404(login, charlie, subscription):
    assert login(charlie).get(cancel_url(subscription)).status_code == 404


def test_cancel_rejects_post(login, bob, subscription):
    assert login(bob).post(cancel_url(subscription)).status_code == 405
