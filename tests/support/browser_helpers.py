"""Signing partners and staff in and out in the browser."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.plugins.people import browser_sign_in


def partner_sign_in(page: Page, base_url: str, email: str) -> None:
    browser_sign_in(page, base_url, email)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def partner_sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def staff_sign_in(page: Page, base_url: str, email: str) -> None:
    """Staff sign in like everyone (the admin's own sign-in page sends them there), then land
    on the admin."""
    browser_sign_in(page, base_url, email, next_url="/admin/")
    expect(page.get_by_role("heading", name="Support, billing and catalog")).to_be_visible()


def staff_sign_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()  # LOGOUT_REDIRECT_URL


def staff_open_case(page: Page, base_url: str, number: str) -> None:
    """Find the case in the changelist by its number, as staff do, and open it."""
    page.goto(f"{base_url}/admin/support/servicerequest/")
    page.locator("#searchbar").fill(number)
    page.locator("#searchbar").press("Enter")
    page.get_by_role("link", name=number, exact=True).click()
    expect(page.get_by_role("heading", name="Submission")).to_be_visible()
