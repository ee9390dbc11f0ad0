"""In the browser: a billing specialist opens the admin to the staff overview, sees each chart
drawn, and follows "past due" to the filtered list of subscriptions; a partner is refused. The
overview is saved in docs/screenshots/staff-overview*.png (docs/staff.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.accessibility.axe import axe_check, report
from tests.partnerportal.overview_setup import overview_world
from tests.plugins.people import browser_sign_in
from tests.support.browser_helpers import staff_sign_in
from tests.support.staff import billing_specialist_create

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def world(transactional_db, contoso, fabrikam, offer, bob):
    return overview_world(contoso=contoso, fabrikam=fabrikam, offer=offer, requester=bob)


def test_a_billing_specialist_reads_the_overview_and_follows_past_due(
    page: Page, live_server, world
):
    specialist = billing_specialist_create()
    staff_sign_in(page, live_server.url, specialist.email)

    # Every chart is drawn: an SVG with bars that have a height.
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(4)  # renewals, revenue in EUR and in USD, Action Packs
    for index in range(4):
        chart = charts.nth(index)
        expect(chart).to_be_visible()
        heights = chart.locator("rect.chart-bar").evaluate_all(
            "bars => bars.map(bar => bar.getBBox().height)"
        )
        assert any(height > 0 for height in heights)
    # Each has its text alternative: a table behind a disclosure.
    page.get_by_text("The figures as a table").first.click()
    expect(page.locator("details table").first).to_be_visible()
    violations = axe_check(page, "the staff overview (1280 px)")
    assert not violations, report(violations)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=SCREENSHOTS / "staff-overview.png", full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=SCREENSHOTS / "staff-overview-phone.png", full_page=True)
    violations = axe_check(page, "the staff overview (375 px)")
    assert not violations, report(violations)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="Past due, in the grace window").click()
    expect(page.get_by_role("heading", name="Select subscription to view")).to_be_visible()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Contoso Ltd")
    expect(rows.first).to_contain_text("Past due")


def test_a_partner_gets_403(page: Page, live_server, world, bob):
    browser_sign_in(page, live_server.url, bob.email)

    response = page.goto(f"{live_server.url}/admin/")

    assert response is not None and response.status == 403
    expect(page.locator("svg.chart")).to_have_count(0)
