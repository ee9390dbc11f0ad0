"""In the browser: a partner files a request with an attachment; staff reply publicly and add
an internal note in the admin; the partner sees the reply and not the note, replies, and the
case moves from Waiting on partner back to In progress."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from support.models import CannedReply, Message, RecommendedSolution, ServiceRequest
from tests.support.browser_helpers import (
    partner_sign_in,
    partner_sign_out,
    staff_open_case,
    staff_sign_in,
    staff_sign_out,
)
from tests.support.files import PNG


def test_a_case_from_filing_to_the_partners_answer(
    page: Page, live_server, transactional_db, settings, tmp_path, contoso, bob, support_agent
):
    settings.SITE_URL = live_server.url
    RecommendedSolution.objects.create(
        issue_type="technical",
        title="The portal doesn't load or looks wrong",
        body="Reload the page, then try a private window.",
    )
    CannedReply.objects.create(title="Ask for the browser", body="Which browser do you use?")
    screenshot = tmp_path / "blank-offers-page.png"
    screenshot.write_bytes(PNG)
    base = live_server.url

    # The partner: Support > New request > Issue type > recommended solutions > details > Submit.
    partner_sign_in(page, base, bob.email)
    page.get_by_role("button", name="Support").hover()
    page.get_by_role("link", name="New request").click()
    page.get_by_label("Issue type").select_option(label="Technical problem with the portal")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_test_id("recommended-solutions")).to_contain_text(
        "The portal doesn't load or looks wrong"
    )
    page.get_by_label("Title").fill("The offers page is blank")
    page.get_by_label("Description").fill("Partnership > Offers shows an empty page since today.")
    page.get_by_label("B — moderate impact").check()
    expect(page.get_by_label("Contact email")).to_have_value(bob.email)
    page.get_by_label("Attachments").set_input_files(str(screenshot))
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Your request was submitted")).to_be_visible()
    number = page.get_by_test_id("request-number").inner_text()
    case = ServiceRequest.objects.get()
    assert number == case.number
    assert case.attachments.get().content_type == "image/png"
    partner_sign_out(page)

    # Staff, in the admin: a public reply, an internal note, then Waiting on partner.
    staff_sign_in(page, base, support_agent.email)
    staff_open_case(page, base, number)
    expect(page.get_by_role("link", name="blank-offers-page.png")).to_be_visible()
    page.get_by_role("combobox", name="Canned reply").select_option(label="Ask for the browser")
    expect(page.get_by_role("textbox", name="Message:")).to_have_value("Which browser do you use?")
    page.get_by_role("button", name="Save and continue editing").click()
    page.get_by_role("textbox", name="Message:").fill("Probably the CDN cache again.")
    page.get_by_role("radio", name="Internal note — staff only, never shown to the partner").check()
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".case-message", has_text="Probably the CDN cache again.")).to_be_visible()
    page.get_by_role("button", name="Waiting on partner").click()
    expect(page.get_by_text(f"{number} is now Waiting on partner.")).to_be_visible()
    staff_sign_out(page)
    reply, note = Message.objects.order_by("id")
    assert (reply.author, reply.is_internal, note.is_internal) == (support_agent, False, True)

    # The partner sees the reply, not the note, and answers.
    partner_sign_in(page, base, bob.email)
    page.goto(f"{base}/support/requests/")
    page.get_by_role("link", name=f"Open {number}").click()
    expect(page.get_by_test_id("request-status")).to_have_text("Waiting on partner")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("Which browser do you use?")
    expect(timeline).not_to_contain_text("CDN")
    page.get_by_label("Your reply").fill("Chrome 126 on Windows 11.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Your reply was sent.")).to_be_visible()
    expect(page.get_by_test_id("request-status")).to_have_text("In progress")
    expect(timeline).to_contain_text("Status changed from Waiting on partner to In progress")
    case.refresh_from_db()
    assert case.status == "in_progress"
