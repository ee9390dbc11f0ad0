"""In the browser, by keyboard only: a Global admin opens "Remove" for a teammate, reads who and
what they lose, and confirms. Screenshots at 1280 and 375 px go to docs/screenshots/."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from membership.models import Membership
from tests.accessibility.axe import axe_check, report
from tests.plugins.people import PASSWORD, browser_sign_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_removing_a_user_asks_first_and_works_by_keyboard(
    page: Page, live_server, transactional_db, contoso, alice, bob
):
    browser_sign_in(page, live_server.url, alice.email, PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.goto(f"{live_server.url}/account/users/")

    remove = page.get_by_role("link", name="Remove bob@contoso.example")
    remove.focus()
    page.keyboard.press("Enter")

    expect(page).to_have_title("Remove Bob Buyer? · Partner Portal")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("Remove Bob Buyer from Contoso Ltd?")
    expect(page.get_by_test_id("remove-consequences")).to_contain_text("MPN partner admin")
    assert Membership.objects.filter(organization=contoso, user=bob).exists()
    violations = axe_check(page, "Remove user confirmation")
    assert violations == [], report(violations)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "team-remove-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=str(SCREENSHOTS / "team-remove-375.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("button", name="Remove bob@contoso.example").focus()
    page.keyboard.press("Enter")

    expect(
        page.get_by_text("bob@contoso.example was removed from the organization.")
    ).to_be_visible()
    assert not Membership.objects.filter(organization=contoso, user=bob).exists()
