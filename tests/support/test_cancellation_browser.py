"""In the browser, the cancellation path end to end: the partner's "Cancel subscription" opens a
prefilled request; a billing specialist cancels with a refund from the case in the admin;
localstripe shows the refund; the partner sees the subscription canceled."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from support.models import ServiceRequest
from tests.billing.cancellation_setup import purchase_order, subscription_bought
from tests.support.browser_helpers import (
    partner_sign_in,
    partner_sign_out,
    staff_open_case,
    staff_sign_in,
    staff_sign_out,
)


def test_a_partner_asks_to_cancel_and_staff_cancel_with_a_refund(
    page: Page,
    live_server,
    transactional_db,
    settings,
    localstripe,
    contoso,
    offer,
    bob,
    billing_specialist,
):
    settings.SITE_URL = live_server.url
    base = live_server.url
    subscription = subscription_bought(localstripe, contoso, offer, bob)
    payment_intent = purchase_order(subscription).stripe_payment_intent_id

    # The partner: the purchased offer's "Cancel subscription" leads to a prefilled request.
    partner_sign_in(page, base, bob.email)
    page.goto(f"{base}/partnership/subscriptions/{subscription.pk}/")
    page.get_by_role("link", name="Cancel subscription").click()
    page.get_by_test_id("support-link").click()
    expect(page.get_by_test_id("issue-type")).to_have_text(
        "Help with partner invoice, payment or reconciliation file"
    )
    expect(page.get_by_label("Related subscription")).to_have_value(str(subscription.pk))
    expect(page.get_by_label("Title")).to_have_value(
        "Cancel my subscription: Microsoft Action Pack subscription"
    )
    page.get_by_label("Description").fill("We no longer need Action Pack. Please refund us.")
    page.get_by_role("button", name="Submit").click()
    number = page.get_by_test_id("request-number").inner_text()
    case = ServiceRequest.objects.get()
    assert (case.subscription, case.issue_type) == (subscription, "invoice_payment")
    partner_sign_out(page)

    # A billing specialist cancels from the case, with the full refund the rule gives.
    staff_sign_in(page, base, billing_specialist.email)
    staff_open_case(page, base, number)
    page.get_by_role("link", name="Cancel subscription").click()
    expect(page.get_by_test_id("refund-rule")).to_contain_text("Full refund of $475.00")
    expect(page.get_by_label("At once: benefits end today")).to_be_checked()
    expect(page.get_by_label("Apply the refund rule: full refund of $475.00")).to_be_checked()
    page.get_by_label("Reason").fill(f"Requested in {number}")
    page.get_by_role("button", name="Cancel subscription").click()
    expect(page.get_by_text("is canceled. Refunded $475.00.")).to_be_visible()
    staff_sign_out(page)

    refunds = localstripe.refunds(payment_intent=payment_intent)
    assert [(refund["amount"], refund["status"]) for refund in refunds] == [(47500, "succeeded")]

    # The partner sees the subscription canceled, and the case says what happened.
    partner_sign_in(page, base, bob.email)
    page.goto(f"{base}/partnership/subscriptions/{subscription.pk}/")
    expect(page.get_by_test_id("status")).to_have_text("Canceled")
    page.goto(f"{base}/support/requests/{case.pk}/")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("Subscription canceled")
    expect(timeline).to_contain_text("Refund of $475.00 issued")
