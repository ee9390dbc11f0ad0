"""Billing > Payment methods: list, add, make default, remove."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing import stripe_gateway
from billing.models import PaymentMethod
from tests.billing.factories import make_subscription
from tests.billing.stripe_helpers import (
    CARD_CHARGES_DECLINED,
    CARD_OK,
    attached_cards,
    card_save,
    confirmed_setup_intent,
    stripe_payment_method,
)

pytestmark = pytest.mark.django_db

LIST = reverse("billing:payment_methods")
ADD = reverse("billing:payment_method_add")
CARD_SETUP = reverse("billing:card_setup")


def make_default_url(card: PaymentMethod) -> str:
    return reverse("billing:payment_method_make_default", args=[card.pk])


def remove_url(card: PaymentMethod) -> str:
    return reverse("billing:payment_method_remove", args=[card.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# The list --------------------------------------------------------------------------------------


def test_it_lists_the_organizations_cards(localstripe, login, contoso, fabrikam, bea, charlie):
    card_save(localstripe, contoso, bea)
    card_save(localstripe, contoso, bea, CARD_CHARGES_DECLINED)
    card_save(localstripe, fabrikam, charlie, CARD_OK)

    response = login(bea).get(LIST)

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(row.payment_method.last4, row.payment_method.is_default) for row in rows] == [
        ("4242", True),
        ("0341", False),
    ]
    assert "Visa •••• 4242" in response.content.decode()
    assert "Add a payment method" in response.content.decode()


def test_the_list_says_which_card_pays_a_renewal(localstripe, login, contoso, offer, bea):
    card = card_save(localstripe, contoso, bea)
    make_subscription(contoso, offer, started_on=contoso.created_at.date(), payment_method=card)

    response = login(bea).get(LIST)

    page = response.content.decode()
    assert "Automatic renewal of Microsoft Action Pack" in page
    assert remove_url(card) not in page  # no remove form, a disabled button and the reason
    assert "Choose another card for the subscription" in page


def test_the_list_rejects_post(login, bea):
    assert login(bea).post(LIST).status_code == 405


def test_the_list_requires_the_billing_role(login, bob, axel, victor):
    for person in (bob, axel, victor):
        assert login(person).get(LIST).status_code == 403


def test_the_list_requires_sign_in(client):
    response = client.get(LIST)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# Add -------------------------------------------------------------------------------------------


def test_add_shows_the_card_entry_and_asks_stripe_for_nothing(
    localstripe, stripe_proxy, login, contoso, bea
):
    # Issue 13: every GET of a payment page created a Stripe Customer and a SetupIntent.
    response = login(bea).get(ADD)

    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-setup-url="{CARD_SETUP}"' in page
    assert "data-client-secret" not in page
    assert f'data-stripe-js-url="{localstripe.js_url}"' in page
    assert 'data-publishable-key="pk_test_localstripe"' in page
    assert 'id="card-element"' in page and 'name="setup_intent_id"' in page
    assert "<script>" not in page  # CSP: scripts come from files only
    assert stripe_proxy.totals().get("forwarded", 0) == 0
    contoso.refresh_from_db()
    assert contoso.stripe_customer_id == "" and contoso.stripe_setup_intent_id == ""


def test_add_saves_the_confirmed_card(localstripe, login, contoso, bea):
    client = login(bea)
    setup_intent_id = confirmed_setup_intent(localstripe, contoso, CARD_OK)

    response = client.post(ADD, {"setup_intent_id": setup_intent_id}, follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert messages_of(response) == ["Visa •••• 4242 was added."]
    card = PaymentMethod.objects.get(organization=contoso)
    assert card.is_default
    assert [pm["id"] for pm in attached_cards(localstripe, contoso.stripe_customer_id)] == [
        card.stripe_payment_method_id
    ]


def test_add_can_make_the_new_card_the_default(localstripe, login, contoso, bea):
    first = card_save(localstripe, contoso, bea)
    setup_intent_id = confirmed_setup_intent(localstripe, contoso, CARD_OK)

    login(bea).post(ADD, {"setup_intent_id": setup_intent_id, "make_default": "on"})

    first.refresh_from_db()
    assert not first.is_default
    assert PaymentMethod.objects.get(is_default=True).pk != first.pk


def test_add_shows_why_an_unconfirmed_card_was_not_saved(localstripe, login, contoso, bea):
    client = login(bea)
    setup_intent_id = client.post(CARD_SETUP).json()["client_secret"].split("_secret_")[0]

    response = client.post(ADD, {"setup_intent_id": setup_intent_id})

    assert response.status_code == 200
    assert "Your card was not confirmed. Please enter it again." in response.content.decode()
    assert not PaymentMethod.objects.exists()


def test_add_refuses_another_organizations_setup_intent(localstripe, login, contoso, fabrikam, bea):
    theirs = confirmed_setup_intent(localstripe, fabrikam, CARD_OK)

    response = login(bea).post(ADD, {"setup_intent_id": theirs})

    assert response.status_code == 200
    assert "did not reach us" in response.content.decode()
    assert not PaymentMethod.objects.filter(organization=contoso).exists()


def test_add_rejects_a_malformed_setup_intent_id(localstripe, login, bea):
    response = login(bea).post(ADD, {"setup_intent_id": "pi_123'"})

    assert response.status_code == 200
    assert "did not reach us" in response.content.decode()
    assert not PaymentMethod.objects.exists()


# Card setup: the SetupIntent card entry asks for when the partner starts entering a card -----


def test_card_setup_makes_the_setup_intent_of_the_organizations_customer(
    localstripe, login, contoso, bea
):
    response = login(bea).post(CARD_SETUP)

    assert response.status_code == 200
    client_secret = response.json()["client_secret"]
    contoso.refresh_from_db()
    intent = localstripe.request("GET", f"/v1/setup_intents/{contoso.stripe_setup_intent_id}")
    assert intent["client_secret"] == client_secret
    assert intent["customer"] == contoso.stripe_customer_id


def test_card_setup_reuses_the_open_setup_intent(localstripe, login, contoso, bea):
    client = login(bea)

    first = client.post(CARD_SETUP).json()["client_secret"]
    again = client.post(CARD_SETUP).json()["client_secret"]  # another tab, a reload

    assert again == first
    contoso.refresh_from_db()
    ours = [
        intent["client_secret"]
        for intent in localstripe.list_all("setup_intents")
        if intent["customer"] == contoso.stripe_customer_id
    ]
    assert ours == [first]


def test_card_setup_makes_a_new_one_once_a_card_was_saved(localstripe, login, contoso, bea):
    client = login(bea)
    first = client.post(CARD_SETUP).json()["client_secret"]
    card_save(localstripe, contoso, bea)  # confirms and saves with the organization's intent

    second = client.post(CARD_SETUP).json()["client_secret"]

    assert second != first


def test_card_setup_says_so_when_stripe_is_unreachable(login, contoso, bea, monkeypatch):
    def unreachable(**kwargs):
        raise stripe_gateway.StripeUnavailable("connection refused")

    monkeypatch.setattr(stripe_gateway, "customer_create", unreachable)

    response = login(bea).post(CARD_SETUP)

    assert response.status_code == 503
    assert response.json() == {
        "error": "Card entry is not available right now. Please try again in a moment."
    }


def test_card_setup_rejects_get(login, bea):
    assert login(bea).get(CARD_SETUP).status_code == 405


def test_card_setup_requires_the_billing_role(localstripe, login, contoso, bob, victor):
    for person in (bob, victor):
        assert login(person).post(CARD_SETUP).status_code == 403
    contoso.refresh_from_db()
    assert contoso.stripe_setup_intent_id == ""


def test_card_setup_needs_the_csrf_token(localstripe, contoso, bea):
    from django.test import Client

    from tests.plugins.people import second_factor_checked

    client = Client(enforce_csrf_checks=True)
    client.force_login(bea)
    second_factor_checked(client, bea)

    assert client.post(CARD_SETUP).status_code == 403


def test_add_offers_make_default_only_when_there_are_other_cards(localstripe, login, contoso, bea):
    client = login(bea)
    assert 'name="make_default"' not in client.get(ADD).content.decode()

    card_save(localstripe, contoso, bea)

    assert 'name="make_default"' in client.get(ADD).content.decode()


def test_add_rejects_other_methods(login, bea):
    assert login(bea).put(ADD).status_code == 405


def test_add_requires_the_billing_role(login, bob, victor):
    for person in (bob, victor):
        assert login(person).get(ADD).status_code == 403
        assert login(person).post(ADD, {"setup_intent_id": "seti_1"}).status_code == 403


# Make default ----------------------------------------------------------------------------------


def test_it_makes_a_card_the_default(localstripe, login, contoso, bea):
    first = card_save(localstripe, contoso, bea)
    second = card_save(localstripe, contoso, bea)

    response = login(bea).post(make_default_url(second), follow=True)

    assert messages_of(response) == ["Visa •••• 4242 is now your default card."]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)


def test_make_default_rejects_get(localstripe, login, contoso, bea):
    card = card_save(localstripe, contoso, bea)

    assert login(bea).get(make_default_url(card)).status_code == 405


def test_make_default_404s_for_another_organizations_card(
    localstripe, login, contoso, fabrikam, bea, charlie
):
    card_save(localstripe, contoso, bea)
    theirs = card_save(localstripe, fabrikam, charlie)
    card_save(localstripe, fabrikam, charlie)
    PaymentMethod.objects.filter(pk=theirs.pk).update(is_default=False)

    assert login(bea).post(make_default_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert not theirs.is_default


def test_make_default_requires_the_billing_role(localstripe, login, contoso, bea, bob):
    card = card_save(localstripe, contoso, bea)

    assert login(bob).post(make_default_url(card)).status_code == 403


# Remove ----------------------------------------------------------------------------------------


def test_it_removes_a_card(localstripe, login, contoso, bea):
    card = card_save(localstripe, contoso, bea)

    response = login(bea).post(remove_url(card), follow=True)

    assert messages_of(response) == ["Visa •••• 4242 was removed."]
    assert response.context["rows"] == []
    assert stripe_payment_method(localstripe, card.stripe_payment_method_id)["customer"] is None


def test_remove_explains_why_a_card_paying_a_renewal_stays(localstripe, login, contoso, offer, bea):
    card = card_save(localstripe, contoso, bea)
    make_subscription(contoso, offer, started_on=contoso.created_at.date(), payment_method=card)

    response = login(bea).post(remove_url(card), follow=True)

    [message] = messages_of(response)
    assert message.startswith(
        "Visa •••• 4242 pays the automatic renewal of Microsoft Action Pack subscription."
    )
    assert [row.payment_method for row in response.context["rows"]] == [card]


def test_remove_rejects_get(localstripe, login, contoso, bea):
    card = card_save(localstripe, contoso, bea)

    assert login(bea).get(remove_url(card)).status_code == 405
    card.refresh_from_db()
    assert card.removed_at is None


def test_remove_404s_for_another_organizations_card(localstripe, login, fabrikam, bea, charlie):
    theirs = card_save(localstripe, fabrikam, charlie)

    assert login(bea).post(remove_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.removed_at is None


def test_remove_404s_for_a_card_already_removed(localstripe, login, contoso, bea):
    card = card_save(localstripe, contoso, bea)
    client = login(bea)
    client.post(remove_url(card))

    assert client.post(remove_url(card)).status_code == 404


def test_remove_requires_the_billing_role(localstripe, login, contoso, bea, bob, axel):
    card = card_save(localstripe, contoso, bea)

    for person in (bob, axel):
        assert login(person).post(remove_url(card)).status_code == 403
    card.refresh_from_db()
    assert card.removed_at is None


def test_a_global_admin_manages_cards_too(localstripe, login, contoso, alice):
    card = card_save(localstripe, contoso, alice)

    assert login(alice).get(LIST).status_code == 200
    assert login(alice).post(remove_url(card)).status_code == 302
