"""In Chromium: Benefits draws usage as labelled bars, at 1280 px and on a phone, and the admin's
progress page of a background job. Saves docs/screenshots/benefits-usage*.png and
docs/screenshots/admin-job-progress*.png."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from billing.models import BackgroundJob, BackgroundJobKind, BackgroundJobStatus
from billing.services.benefits import benefit_activate, product_key_issue, seat_assign
from tests.billing.benefits_setup import grant_of, load_keys
from tests.billing.factories import make_subscription
from tests.plugins.people import browser_sign_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _used_benefits(contoso, offer, bob):
    subscription = make_subscription(contoso, offer, benefits=True)
    load_keys(offer, 5)
    for _ in range(3):
        product_key_issue(grant=grant_of(subscription, "windows-enterprise"), actor=bob)
    office = grant_of(subscription, "office-365-e3")
    benefit_activate(grant=office, actor=bob)
    for name in ("eve", "frank", "gina", "hugo", "ines", "juan", "kim"):
        seat_assign(grant=office, email=f"{name}@contoso.example", actor=bob)
    benefit_activate(grant=grant_of(subscription, "azure-credit"), actor=bob)
    incidents = grant_of(subscription, "support-incidents")
    incidents.used_quantity = 2
    incidents.save(update_fields=["used_quantity"])
    return subscription


def test_usage_bars_at_1280_and_on_a_phone(
    page: Page, live_server, transactional_db, contoso, offer, bob
):
    _used_benefits(contoso, offer, bob)
    page.set_viewport_size({"width": 1280, "height": 900})
    browser_sign_in(page, live_server.url, bob.email)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.goto(f"{live_server.url}/partnership/benefits/")

    # Each bar is a meter named by its visible numbers.
    keys = page.get_by_role("meter", name="3 of 10 keys given out")
    expect(keys).to_be_visible()
    expect(keys).to_have_attribute("value", "3")
    expect(page.get_by_role("meter", name="7 of 10 assigned")).to_be_visible()
    expect(page.get_by_role("meter", name="2 of 10 used")).to_be_visible()
    expect(page.get_by_test_id("azure-month")).to_contain_text("Credit month 1 of 12")
    page.screenshot(path=str(SCREENSHOTS / "benefits-usage.png"), full_page=True)

    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    expect(keys).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "benefits-usage-phone.png"), full_page=True)

    # 320 px: the bars take the card's width, the page does not scroll sideways.
    page.set_viewport_size({"width": 320, "height": 700})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    box = keys.bounding_box()
    assert box is not None and 200 <= box["width"] <= 320


def test_the_admin_follows_a_job_with_a_progress_bar(
    page: Page, live_server, transactional_db, root, offer
):
    job = BackgroundJob.objects.create(
        kind=BackgroundJobKind.PRODUCT_KEYS_LOAD,
        status=BackgroundJobStatus.RUNNING,
        created_by=root,
        progress=12_000,
        total=20_000,
        parameters={"benefit": "Windows 10 Enterprise (upgrade) licenses"},
    )
    page.set_viewport_size({"width": 1280, "height": 700})
    url = f"/admin/billing/backgroundjob/{job.pk}/progress/"
    browser_sign_in(page, live_server.url, root.email, next_url=url)
    expect(page.get_by_text("12000 of 20000 keys loaded (60 %)")).to_be_visible()
    expect(page.get_by_role("progressbar", name="Progress")).to_have_attribute("value", "12000")
    page.screenshot(path=str(SCREENSHOTS / "admin-job-progress.png"))

    # The worker moves on: the script reads the status and moves the bar, then shows the result.
    BackgroundJob.objects.filter(pk=job.pk).update(progress=18_000)
    expect(page.get_by_text("18000 of 20000 keys loaded (90 %)")).to_be_visible()
    BackgroundJob.objects.filter(pk=job.pk).update(
        progress=20_000, status=BackgroundJobStatus.DONE, result={"added": 19_990, "skipped": 10}
    )
    expect(page.get_by_test_id("job-result")).to_contain_text(
        "19990 keys added (10 already in the pool)."
    )
    page.screenshot(path=str(SCREENSHOTS / "admin-job-progress-done.png"))
