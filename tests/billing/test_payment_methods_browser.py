"""In Chromium: Billing > Payment methods > Add a payment method, through the real (fake) Stripe.js.

localstripe serves a Stripe.js whose card element is five plain inputs and whose 3-D Secure
challenge is a dialog with "Complete authentication" / "Fail authentication". Each test checks
what localstripe itself recorded: which cards are attached to the organization's customer.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from billing.models import PaymentMethod
from membership.models import Organization
from tests.billing.stripe_helpers import (
    CARD_3DS,
    CARD_DECLINED_ON_SAVE,
    CARD_OK,
    attached_cards,
)
from tests.plugins.people import browser_sign_in


@pytest.fixture
def add_page(localstripe, live_server, transactional_db, page: Page, contoso, bea) -> Page:
    """Bea, Contoso's Billing admin, on Add a payment method, with the card element mounted."""
    browser_sign_in(page, live_server.url, bea.email)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.goto(f"{live_server.url}/billing/payment-methods/")
    page.get_by_role("link", name="Add a payment method").click()
    expect(page.get_by_role("heading", name="Add a payment method")).to_be_visible()
    expect(page.locator("#card-element input")).to_have_count(5)
    expect(page.get_by_role("button", name="Save card")).to_be_enabled()
    return page


def type_card(page: Page, number: str) -> None:
    card = page.locator("#card-element")
    card.get_by_placeholder("number").fill(number)
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("34")
    card.get_by_placeholder("cvc").fill("123")
    card.get_by_placeholder("postal_code").fill("98052")


def customer_of(organization: Organization) -> str:
    return Organization.objects.get(pk=organization.pk).stripe_customer_id


def test_a_card_is_added_through_stripe_js(add_page: Page, localstripe, contoso):
    type_card(add_page, CARD_OK)
    add_page.get_by_role("button", name="Save card").click()

    expect(add_page.get_by_text("Visa •••• 4242 was added.")).to_be_visible()
    row = add_page.get_by_test_id("payment-methods").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Visa •••• 4242")
    expect(row).to_contain_text("Default")
    expect(row).to_contain_text("12/2034")
    card = PaymentMethod.objects.get(organization=contoso)
    assert [pm["id"] for pm in attached_cards(localstripe, customer_of(contoso))] == [
        card.stripe_payment_method_id
    ]


def test_a_card_declined_on_save_shows_the_message_and_saves_nothing(
    add_page: Page, localstripe, contoso
):
    type_card(add_page, CARD_DECLINED_ON_SAVE)
    add_page.get_by_role("button", name="Save card").click()

    expect(add_page.get_by_role("alert")).to_have_text("Your card was declined.")
    expect(add_page.get_by_role("button", name="Save card")).to_be_enabled()
    expect(add_page.get_by_role("heading", name="Add a payment method")).to_be_visible()
    assert not PaymentMethod.objects.exists()
    assert attached_cards(localstripe, customer_of(contoso)) == []

    # The partner tries another card on the same page.
    type_card(add_page, CARD_OK)
    add_page.get_by_role("button", name="Save card").click()

    expect(add_page.get_by_text("Visa •••• 4242 was added.")).to_be_visible()
    assert list(PaymentMethod.objects.values_list("last4", flat=True)) == ["4242"]
    assert len(attached_cards(localstripe, customer_of(contoso))) == 1


def test_a_3d_secure_card_is_saved_after_authentication(add_page: Page, localstripe, contoso):
    type_card(add_page, CARD_3DS)
    add_page.get_by_role("button", name="Save card").click()
    add_page.get_by_role("button", name="Complete authentication").click()

    expect(add_page.get_by_text("Visa •••• 3155 was added.")).to_be_visible()
    card = PaymentMethod.objects.get(organization=contoso)
    assert card.last4 == "3155"
    assert [pm["id"] for pm in attached_cards(localstripe, customer_of(contoso))] == [
        card.stripe_payment_method_id
    ]


def test_a_failed_3d_secure_saves_nothing(add_page: Page, localstripe, contoso):
    type_card(add_page, CARD_3DS)
    add_page.get_by_role("button", name="Save card").click()
    add_page.get_by_role("button", name="Fail authentication").click()

    expect(add_page.get_by_role("alert")).to_contain_text("authentication failed")
    expect(add_page.get_by_role("button", name="Save card")).to_be_enabled()
    assert not PaymentMethod.objects.exists()
    assert attached_cards(localstripe, customer_of(contoso)) == []
