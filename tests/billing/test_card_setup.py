"""Buying: the SetupIntent is made when the partner starts entering a card (a POST from
static/js/card-entry.js), and reused (issue 13). That no page view creates anything in Stripe is
walked over every page in tests/security/test_payment_pages.py."""

from __future__ import annotations

from django.urls import reverse

PURCHASE_CARD_SETUP = reverse("billing:purchase_card_setup")


def test_buying_asks_for_the_setup_intent_when_a_card_is_entered(
    localstripe, login, contoso, bob
) -> None:
    client = login(bob)

    first = client.post(PURCHASE_CARD_SETUP)
    again = client.post(PURCHASE_CARD_SETUP)

    assert first.status_code == again.status_code == 200
    assert first.json()["client_secret"] == again.json()["client_secret"]
    contoso.refresh_from_db()
    intent = localstripe.request("GET", f"/v1/setup_intents/{contoso.stripe_setup_intent_id}")
    assert intent["customer"] == contoso.stripe_customer_id


def test_buying_card_setup_rejects_get(login, bob) -> None:
    assert login(bob).get(PURCHASE_CARD_SETUP).status_code == 405


def test_card_setup_is_closed_to_those_who_may_not_enter_a_card(
    localstripe, login, contoso, axel, victor
):
    for person in (axel, victor):
        assert login(person).post(PURCHASE_CARD_SETUP).status_code == 403
    contoso.refresh_from_db()
    assert contoso.stripe_customer_id == ""


def test_a_billing_admin_may_start_entering_a_card_for_a_subscription(localstripe, login, bea):
    """Billing admins change a subscription's card (CHANGE_SUBSCRIPTION_CARD, issue 19)."""
    response = login(bea).post(PURCHASE_CARD_SETUP)

    assert response.status_code == 200
    assert response.json()["client_secret"]
