"""In the browser: after purchase, the Benefits page gives a product key, activates seats and
assigns a Visual Studio license; a second organization never sees any of it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.billing.benefits_setup import load_keys
from tests.billing.factories import make_subscription
from tests.plugins.people import browser_sign_in


def _sign_in(page: Page, base_url: str, email: str) -> None:
    browser_sign_in(page, base_url, email)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_benefits_are_activated_and_stay_in_their_organization(
    page: Page, live_server, transactional_db, contoso, fabrikam, offer, bob, charlie
):
    make_subscription(contoso, offer, benefits=True)
    make_subscription(fabrikam, offer, benefits=True)
    first_key, *_others = load_keys(offer, 3)
    _sign_in(page, live_server.url, bob.email)
    page.goto(f"{live_server.url}/partnership/benefits/")

    # Software licenses: Get keys shows a product key from the pool.
    windows = page.locator('[data-benefit="windows-enterprise"]')
    windows.get_by_role("button", name="Get keys").click()
    expect(page.get_by_text(f"Your product key: {first_key}")).to_be_visible()
    expect(windows.get_by_test_id("product-key")).to_have_text([first_key])
    expect(windows.get_by_test_id("usage")).to_have_text("1 of 10 keys given out")

    # Online services: Activate, then assign a seat by email.
    office = page.locator('[data-benefit="office-365-e3"]')
    office.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("Activated: Office 365 (E3) seats.")).to_be_visible()
    office.get_by_role("textbox").fill("eve@contoso.example")
    office.get_by_role("button", name="Assign").click()
    expect(office.get_by_test_id("assignment")).to_contain_text(["eve@contoso.example"])
    expect(office.get_by_test_id("usage")).to_have_text("1 of 10 assigned")

    # Visual Studio: assign a license to a person, then reassign it.
    studio = page.locator('[data-benefit="visual-studio-pro"]')
    studio.get_by_label("Assign Visual Studio Professional licenses to").fill("dev@contoso.example")
    studio.get_by_role("button", name="Assign").click()
    expect(studio.get_by_test_id("assignment")).to_contain_text(["dev@contoso.example"])
    studio.get_by_label("Reassign the license of dev@contoso.example to").fill(
        "lead@contoso.example"
    )
    studio.get_by_role("button", name="Reassign").click()
    expect(
        page.get_by_text("Reassigned from dev@contoso.example to lead@contoso.example.")
    ).to_be_visible()
    expect(studio.get_by_test_id("assignment")).to_contain_text(["lead@contoso.example"])
    expect(studio.get_by_test_id("activated")).to_contain_text("Activated on")

    # Fabrikam, with its own Action Pack, never sees Contoso's key or people.
    page.context.clear_cookies()
    _sign_in(page, live_server.url, charlie.email)
    page.goto(f"{live_server.url}/partnership/benefits/")
    expect(page.locator('[data-benefit="windows-enterprise"]')).to_contain_text(
        "0 of 10 keys given out"
    )
    content = page.content()
    for contoso_only in (
        first_key,
        "eve@contoso.example",
        "lead@contoso.example",
        "dev@contoso.example",
    ):
        assert contoso_only not in content
