"""A payment page shows card entry and creates nothing in Stripe; the SetupIntent is made when the
partner starts entering a card (a POST from static/js/card-entry.js), and reused (issue 13)."""

from __future__ import annotations

from django.urls import reverse

from billing.services.checkout import checkout_accept_terms, renewal_start
from offers.selectors import terms_current
from tests.security.conftest import world  # noqa: F401  (the walkers' Contoso and Fabrikam)
from tests.security.test_boundaries import ROUTES, _request
from tests.security.world import World

PURCHASE_CARD_SETUP = reverse("billing:purchase_card_setup")


def test_no_page_view_creates_anything_in_stripe(world: World, login, localstripe) -> None:
    # Issue 13: every GET of a payment page created a Customer and a SetupIntent.
    order = renewal_start(subscription=world.subscription, actor=world.alice)
    checkout_accept_terms(
        order=order, terms=terms_current(offer=order.offer), actor=world.alice, ip_address=None
    )
    before = (len(localstripe.list_all("customers")), len(localstripe.list_all("setup_intents")))
    client = login(world.alice)

    with_card_entry = []
    for name in sorted(n for n, route in ROUTES.items() if route.method == "GET"):
        for _view in range(2):  # and a reload
            response = _request(client, ROUTES[name], world)
        if not response.streaming and b"data-setup-url" in response.content:
            with_card_entry.append(name)

    after = (len(localstripe.list_all("customers")), len(localstripe.list_all("setup_intents")))
    assert {
        "billing:payment_method_add",
        "billing:renew_payment",
        "billing:subscription_payment_method",
    } <= set(with_card_entry)
    assert after == before
    world.contoso.refresh_from_db()
    assert world.contoso.stripe_customer_id == ""


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
