"""Every page, viewed twice: nothing is created in Stripe (issue 13: every GET of a payment page
created a Customer and a SetupIntent). Card entry asks for the SetupIntent when the partner starts
entering a card (tests/billing/test_card_setup.py, test_payment_method_views.py)."""

from __future__ import annotations

from billing.services.checkout import checkout_accept_terms, renewal_start
from offers.selectors import terms_current
from tests.security.test_boundaries import ROUTES, _request
from tests.security.world import World


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
