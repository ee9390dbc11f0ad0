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


def test_buying_card_setup_requires_the_purchase_role(localstripe, login, contoso, bea, victor):
    for person in (bea, victor):
        assert login(person).post(PURCHASE_CARD_SETUP).status_code == 403
    contoso.refresh_from_db()
    assert contoso.stripe_customer_id == ""
