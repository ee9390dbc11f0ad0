"""The demo organizations of ``seed_demo`` in their states, in Debian's Chromium (README "Demo
accounts"): what a newcomer tries first, against the live server and localstripe.

Northwind's admin renews inside the window, Tailspin's admin sees the past-due notice, saves a
new card for the renewals and renews, and Wide World's admin finds Network membership.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Page, expect

from billing.models import Subscription, SubscriptionStatus
from partnerportal.demo import DEMO_PASSWORD
from tests.billing.stripe_helpers import CARD_OK
from tests.billing.test_subscribe_browser import enter_card, purchase
from tests.plugins.people import browser_sign_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def base_url(localstripe, live_server, transactional_db, settings) -> str:
    settings.DEBUG = True  # seed_demo refuses to run otherwise
    call_command("seed_demo", verbosity=0)
    settings.DEBUG = False
    return live_server.url


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def sign_in(page: Page, base_url: str, email: str) -> None:
    browser_sign_in(page, base_url, email, password=DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def subscription_of(partner_id: str) -> Subscription:
    return Subscription.objects.get(organization__partner_id=partner_id)


def renew_through_the_steps(page: Page) -> None:
    page.get_by_role("link", name="Renew subscription").click()
    expect(page.get_by_role("heading", name="Check the order details")).to_be_visible()
    page.get_by_role("button", name="Next").click()
    page.get_by_label(re.compile("I accept the terms and conditions")).check()
    page.get_by_role("button", name="Next").click()
    # The subscription's card is chosen already.
    expect(page.get_by_test_id("choose-card").locator("input[type=radio]:checked")).to_have_count(1)
    page.get_by_test_id("choose-card").get_by_role("button", name="Next").click()
    expect(page.get_by_text(re.compile("The new term starts on your anniversary"))).to_be_visible()
    purchase(page)
    expect(page.get_by_role("heading", name="Your order is confirmed.")).to_be_visible()
    page.get_by_role("link", name="Close").click()


def test_northwinds_admin_renews_inside_the_window(page: Page, base_url, localstripe):
    subscription = subscription_of("1000003")
    anniversary = subscription.current_term_end
    sign_in(page, base_url, "admin@northwind.example")
    page.goto(f"{base_url}{reverse('billing:subscription', args=[subscription.pk])}")
    expect(page.get_by_test_id("auto-renew")).to_contain_text("Off")
    expect(page.get_by_test_id("renewal-window")).to_contain_text("Open now")
    shot(page, "demo-01-northwind-renewal-open.png")

    renew_through_the_steps(page)

    expect(page.get_by_test_id("auto-renew")).to_have_text("On")
    subscription.refresh_from_db()
    assert subscription.term_number == 2
    assert subscription.current_term_end.year == anniversary.year + 1


def test_tailspins_admin_sees_past_due_saves_a_new_card_and_renews(
    page: Page, base_url, localstripe
):
    subscription = subscription_of("1000004")
    sign_in(page, base_url, "admin@tailspin.example")
    page.goto(f"{base_url}{reverse('billing:subscription', args=[subscription.pk])}")
    expect(page.get_by_test_id("status")).to_have_text("Past due")
    expect(page.get_by_role("alert")).to_contain_text("The renewal payment did not go through")
    expect(page.get_by_test_id("payment-method")).to_contain_text("0341")
    shot(page, "demo-02-tailspin-past-due.png")

    page.get_by_role("link", name="Change payment method").click()
    expect(page.get_by_role("heading", name="Change payment method")).to_be_visible()
    if page.locator("details.add-card[open]").count() == 0:
        page.get_by_text("Add a payment method", exact=True).click()
    form = page.locator("form[data-card-entry]")
    submit = form.get_by_role("button", name="Save card and use it for renewals")
    expect(submit).to_be_enabled()  # Stripe.js is loaded
    enter_card(page, CARD_OK)
    submit.click()
    expect(page.get_by_test_id("payment-method")).to_contain_text("4242")
    subscription.refresh_from_db()
    assert subscription.payment_method.last4 == "4242"

    renew_through_the_steps(page)

    expect(page.get_by_test_id("status")).to_have_text("Active")
    subscription.refresh_from_db()
    assert (subscription.status, subscription.term_number) == (SubscriptionStatus.ACTIVE, 2)


def test_wide_world_is_back_to_network_membership_and_adventure_works_is_gold(page: Page, base_url):
    sign_in(page, base_url, "admin@wideworld.example")
    page.goto(f"{base_url}{reverse('billing:membership')}")

    expect(page.get_by_test_id("tier")).to_have_text("Network membership")
    shot(page, "demo-03-wide-world-network-membership.png")
    page.goto(f"{base_url}{reverse('billing:subscription', args=[subscription_of('1000005').pk])}")
    expect(page.get_by_test_id("status")).to_have_text("Expired")
    page.context.clear_cookies()

    sign_in(page, base_url, "admin@adventure-works.example")
    page.goto(f"{base_url}{reverse('billing:membership')}")

    expect(page.get_by_test_id("tier")).to_contain_text("Gold")
    shot(page, "demo-04-adventure-works-gold.png")
