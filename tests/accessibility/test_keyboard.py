"""By keyboard only: the skip link comes first, every menu opens and closes (Escape), and a buyer
signs in and buys the Microsoft Action Pack without touching the mouse.

On the way through the subscribe wizard axe-core checks each step (the route walk of
test_axe.py sees the wizard only as a renewal, because its world has an Action Pack already).
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from billing.services.checkout import checkout_choose_card, checkout_purchase_start
from offers.selectors import terms_current
from tests.accessibility.axe import axe_check, report
from tests.accessibility.keyboard import expect_focus, tab_to
from tests.accessibility.pages import PHONE, WIDE, new_context
from tests.billing.stripe_helpers import (
    CARD_CHARGES_DECLINED,
    CARD_DECLINED_ON_SAVE,
    CARD_OK,
    card_save,
    succeeded_charges,
)
from tests.plugins.people import PASSWORD, totp_code

MENUS = {
    "Partnership": ["Offers", "Benefits", "Membership"],
    "Billing": ["Payment methods", "Order history", "Invoices"],
    "Support": ["New request", "Service requests"],
    "Account settings": ["User management", "Organization profile", "Sign-in and security"],
}


@pytest.fixture
def keyboard_page(browser: Browser):
    context = new_context(browser, WIDE)
    yield context.new_page()
    context.close()


def sign_in_by_keyboard(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}{reverse('login')}")
    expect_focus(page, "#id_login")  # the email field has the focus when the page opens
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    # The second factor: the code field has the focus; the app's code, then Enter.
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    expect_focus(page, "#id_code")
    page.keyboard.type(totp_code(email))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def _list_of(page: Page, name: str):
    button = page.locator(".menu .has-sub > button", has_text=name)
    return button, page.locator(f"#{button.get_attribute('aria-controls')}")


def test_the_skip_link_comes_first_and_every_menu_opens_and_closes(
    keyboard_page: Page, base_url: str, contoso, bob
) -> None:
    page = keyboard_page
    sign_in_by_keyboard(page, base_url, bob.email)

    page.keyboard.press("Tab")
    expect_focus(page, ".skip-link", text="Skip to content")

    for name, links in MENUS.items():
        button, sublist = _list_of(page, name)
        tab_to(page, ".menu .has-sub > button", text=name)
        expect(button).to_have_attribute("aria-expanded", "false")
        expect(sublist).to_be_hidden()

        page.keyboard.press("Enter")
        expect(button).to_have_attribute("aria-expanded", "true")
        expect(sublist).to_be_visible()
        page.keyboard.press("ArrowDown")
        expect_focus(page, "a", text=links[0])
        page.keyboard.press("End")
        expect_focus(page, "a", text=links[-1])
        page.keyboard.press("ArrowDown")  # round to the first again
        expect_focus(page, "a", text=links[0])

        page.keyboard.press("Escape")
        expect(button).to_have_attribute("aria-expanded", "false")
        expect(sublist).to_be_hidden()
        expect_focus(page, ".menu .has-sub > button", text=name)

        # Space opens it too, and Tab past its last link closes it again.
        page.keyboard.press(" ")
        expect(sublist).to_be_visible()
        for _link in links:
            page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        expect(button).to_have_attribute("aria-expanded", "false")
        page.keyboard.press("Shift+Tab")

    # A closed menu keeps the content near: the skip link, the brand, the five menu entries,
    # the organization's name is text, Sign out, then the page.
    page.goto(f"{base_url}{reverse('dashboard')}")
    tabs = tab_to(page, "main a")
    assert tabs <= 9, f"{tabs} Tabs before the content"


def test_the_skip_link_moves_the_focus_to_the_content(
    keyboard_page: Page, base_url: str, contoso, bob
) -> None:
    page = keyboard_page
    sign_in_by_keyboard(page, base_url, bob.email)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    expect_focus(page, "main#main")
    page.keyboard.press("Tab")
    expect_focus(page, "main a")


def test_the_folded_phone_menu_opens_and_closes_by_keyboard(
    browser: Browser, base_url: str, contoso, bob
) -> None:
    context = new_context(browser, PHONE)
    try:
        page = context.new_page()
        sign_in_by_keyboard(page, base_url, bob.email)
        toggle = page.locator("[data-menu-toggle]")
        nav = page.locator("#site-nav")
        expect(nav).to_be_hidden()

        tab_to(page, "[data-menu-toggle]")
        page.keyboard.press("Enter")
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(nav).to_be_visible()

        for name, links in MENUS.items():
            button, sublist = _list_of(page, name)
            tab_to(page, ".menu .has-sub > button", text=name)
            page.keyboard.press("Enter")
            expect(sublist).to_be_visible()
            page.keyboard.press("ArrowDown")
            expect_focus(page, "a", text=links[0])
            page.keyboard.press("Escape")  # closes the list, back on its button
            expect(sublist).to_be_hidden()
            expect_focus(page, ".menu .has-sub > button", text=name)

        page.keyboard.press("Escape")  # closes the whole menu, back on Menu
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(nav).to_be_hidden()
        expect_focus(page, "[data-menu-toggle]")

        # And from the menu to a page, by keyboard.
        page.keyboard.press("Enter")
        tab_to(page, ".menu .has-sub > button", text="Billing")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        expect_focus(page, "a", text="Order history")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Order history")).to_be_visible()
    finally:
        context.close()


def _type_card(page: Page, number: str) -> None:
    """Type into localstripe's card fields (Stripe Elements' stand-in), Tab from field to field."""
    for placeholder, value in [
        ("number", number),
        ("exp_month", "12"),
        ("exp_year", "34"),
        ("cvc", "123"),
        ("postal_code", "98052"),
    ]:
        # localstripe moves on by itself once a field is full; Tab only when it did not.
        tab_to(page, f"#card-element input[placeholder={placeholder}]")
        page.keyboard.type(value)


def test_buy_the_action_pack_without_the_mouse(
    keyboard_page: Page, base_url: str, localstripe, contoso, bob, offer
) -> None:
    page = keyboard_page
    violations = []
    sign_in_by_keyboard(page, base_url, bob.email)

    # Partnership > Offers from the menu.
    tab_to(page, ".menu .has-sub > button", text="Partnership")
    page.keyboard.press("ArrowDown")
    expect_focus(page, "a", text="Offers")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Available offers")).to_be_visible()
    tab_to(page, "main a", text="Subscribe now")
    page.keyboard.press("Enter")

    # The terms: Next without accepting shows the error summary, which has the focus.
    expect(page.get_by_role("heading", name="Terms and conditions")).to_be_visible()
    violations += axe_check(page, "subscribe terms")
    tab_to(page, "main button[type=submit]", text="Next")
    page.keyboard.press("Enter")
    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_visible()
    expect_focus(page, "[data-error-summary]")
    assert page.title().startswith("Error: Terms and conditions")
    violations += axe_check(page, "subscribe terms, not accepted")
    # Its link takes the focus to the checkbox; Space accepts, Enter submits.
    page.keyboard.press("Tab")
    expect_focus(page, ".error-summary a")
    page.keyboard.press("Enter")
    expect_focus(page, "#id_accept")
    page.keyboard.press(" ")
    expect(page.get_by_label(re.compile("I accept the terms and conditions"))).to_be_checked()
    tab_to(page, "main button[type=submit]", text="Next")
    page.keyboard.press("Enter")

    # Payment details: no saved card, so the card entry is open.
    expect(page.get_by_role("heading", name="Payment details")).to_be_visible()
    expect(page.locator("form[data-card-entry] button[data-card-submit]")).to_be_enabled()
    violations += axe_check(page, "subscribe payment")
    _type_card(page, CARD_OK)
    tab_to(page, "form[data-card-entry] button[data-card-submit]")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    violations += axe_check(page, "subscribe review")
    tab_to(page, "main button[type=submit]", text="Purchase")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Your order is confirmed.")).to_be_visible()
    violations += axe_check(page, "subscribe confirmed")
    tab_to(page, "main a", text="Close")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("purchased-offers")).to_contain_text("Active")

    contoso.refresh_from_db()
    assert succeeded_charges(localstripe, contoso.stripe_customer_id) == [(47500, "usd")]
    assert not violations, report(violations)


def test_after_a_declined_card_the_focus_is_back_on_the_card(
    keyboard_page: Page, base_url: str, localstripe, contoso, bea
) -> None:
    page = keyboard_page
    sign_in_by_keyboard(page, base_url, bea.email)
    page.goto(f"{base_url}{reverse('billing:payment_method_add')}")
    submit = page.locator("form[data-card-entry] button[data-card-submit]")
    expect(submit).to_be_enabled()

    _type_card(page, CARD_DECLINED_ON_SAVE)
    tab_to(page, "form[data-card-entry] button[data-card-submit]")
    page.keyboard.press("Enter")

    expect(page.locator("[data-card-errors]")).to_have_text("Your card was declined.")
    expect(submit).to_be_enabled()
    expect_focus(page, "#card-element input[placeholder=number]")


def test_a_charge_declined_at_purchase_comes_back_as_a_focused_error(
    keyboard_page: Page, base_url: str, localstripe, contoso, bob, offer
) -> None:
    card = card_save(localstripe, contoso, bob, CARD_CHARGES_DECLINED)
    order = checkout_purchase_start(
        organization=contoso,
        offer=offer,
        terms=terms_current(offer=offer),
        actor=bob,
        ip_address="127.0.0.1",
    )
    checkout_choose_card(order=order, payment_method=card, actor=bob)
    page = keyboard_page
    sign_in_by_keyboard(page, base_url, bob.email)
    page.goto(f"{base_url}{reverse('billing:subscribe_review', args=[offer.pk])}")
    tab_to(page, "main button[type=submit]", text="Purchase")
    page.keyboard.press("Enter")

    notice = page.get_by_test_id("payment-failed")
    expect(notice).to_contain_text("Your card was declined.")
    expect(notice).to_be_focused()
    assert page.title().startswith("Error: Payment details")
    # The next Tab goes on to choosing another card.
    tab_to(page, "main input[type=radio], main summary")
    assert succeeded_charges(localstripe, contoso.stripe_customer_id) == []
