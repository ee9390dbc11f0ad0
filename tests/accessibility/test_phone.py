"""On a phone (375 px): a buyer opens the menu, subscribes with a card and opens the invoice.

Each step is saved in docs/screenshots/phone-*.png (the README shows them), fits the screen
(no sideways scroll) and has no serious axe-core violation: with test_keyboard.py (1,280 px)
this covers the subscribe wizard at both widths.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from tests.accessibility.axe import axe_check, report
from tests.accessibility.pages import PHONE, new_context, sign_in
from tests.billing.stripe_helpers import CARD_OK, succeeded_charges
from tests.billing.test_subscribe_browser import enter_card

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _step(page: Page, name: str, violations: list, *, full_page: bool = True) -> None:
    """Screenshot, fits the width, axe-clean."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"phone-{name}.png"), full_page=full_page)
    scroll_width, inner_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, (
        f"{name}: {scroll_width} px wide on a {inner_width} px screen"
    )
    violations += axe_check(page, f"{name} ({PHONE} px)")


def test_subscribe_on_a_phone(browser: Browser, base_url: str, localstripe, contoso, bob, offer):
    context = new_context(browser, PHONE)
    violations: list = []
    try:
        page = context.new_page()
        sign_in(page, base_url, bob.email)
        _step(page, "01-dashboard", violations)

        page.get_by_role("button", name="Menu").click()
        page.get_by_role("button", name="Partnership").click()
        _step(page, "02-menu", violations, full_page=False)
        page.get_by_role("link", name="Offers", exact=True).click()
        expect(page.get_by_role("heading", name="Available offers")).to_be_visible()
        _step(page, "03-offers", violations)

        page.get_by_role("link", name="Subscribe now").click()
        page.get_by_role("button", name="Next").click()  # without accepting
        expect(page.get_by_test_id("error-summary")).to_be_focused()
        _step(page, "04-terms-error", violations)
        page.get_by_label(re.compile("I accept the terms and conditions")).check()
        page.get_by_role("button", name="Next").click()

        expect(page.get_by_role("heading", name="Payment details")).to_be_visible()
        form = page.locator("form[data-card-entry]")
        expect(form.get_by_role("button", name="Next")).to_be_enabled()
        enter_card(page, CARD_OK)
        _step(page, "05-payment", violations)
        form.get_by_role("button", name="Next").click()

        expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
        _step(page, "06-review", violations)
        page.get_by_role("button", name="Purchase").click()

        expect(page.get_by_role("heading", name="Your order is confirmed.")).to_be_visible()
        _step(page, "07-confirmed", violations)
        # "Download invoice" gives the PDF; the invoice is read on Billing > Invoices.
        expect(page.get_by_role("link", name="Download invoice")).to_be_visible()
        page.goto(f"{base_url}{reverse('billing:invoices')}")
        page.get_by_test_id("invoices").get_by_role("link", name=re.compile(r"^INV-")).click()
        expect(page.get_by_test_id("invoice")).to_be_visible()
        _step(page, "08-invoice", violations)

        page.goto(f"{base_url}{reverse('dashboard')}")
        expect(page.get_by_test_id("dashboard-subscription")).to_contain_text("Active")
        _step(page, "09-dashboard-subscribed", violations)
    finally:
        context.close()

    contoso.refresh_from_db()
    assert succeeded_charges(localstripe, contoso.stripe_customer_id) == [(47500, "usd")]
    assert not violations, report(violations)
