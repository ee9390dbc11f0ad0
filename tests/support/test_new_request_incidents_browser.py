"""In the browser: the New request form for technical product support says how many of the
term's incidents are left, and at zero says so and links the renewal. Screenshots at 1280 and
375 px go to docs/screenshots/."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from support.models import IssueType
from tests.accessibility.axe import axe_check, report
from tests.billing.benefits_setup import grant_of
from tests.billing.factories import make_subscription
from tests.plugins.people import PASSWORD, browser_sign_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _shots(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(SCREENSHOTS / f"incidents-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_the_form_shows_the_incidents_left_and_refuses_at_zero(
    page: Page, live_server, transactional_db, contoso, offer, bob
):
    subscription = make_subscription(contoso, offer, benefits=True)
    grant = grant_of(subscription, "support-incidents")
    grant.used_quantity = 3
    grant.save(update_fields=["used_quantity"])
    browser_sign_in(page, live_server.url, bob.email, PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.goto(f"{live_server.url}/support/new/")
    page.get_by_label("Issue type").select_option(IssueType.PRODUCT_SUPPORT.value)
    page.get_by_role("button", name="Next").click()

    incidents = page.get_by_test_id("support-incidents")
    expect(incidents).to_contain_text("7 technical support incidents left this term, of 10")
    violations = axe_check(page, "New request, technical product support")
    assert violations == [], report(violations)
    _shots(page, "remaining")

    page.get_by_label("Title").fill("Windows 10 Enterprise does not activate")
    page.get_by_label("Description").fill("Error 0xC004F074 on every machine.")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Your request was submitted")).to_be_visible()
    grant.refresh_from_db()
    assert grant.used_quantity == 4

    grant.used_quantity = grant.quantity
    grant.save(update_fields=["used_quantity"])
    page.goto(f"{live_server.url}/support/new/?issue_type={IssueType.PRODUCT_SUPPORT.value}")
    expect(incidents).to_contain_text("used all 10 technical support incidents")
    expect(page.get_by_label("Title")).to_have_count(0)
    violations = axe_check(page, "New request, no incidents left")
    assert violations == [], report(violations)
    _shots(page, "none-left")
    page.get_by_test_id("renew-link").click()
    expect(page.get_by_test_id("subscription-actions")).to_be_visible()
