"""The seed's flow in Debian's Chromium, against the live server and localstripe.

A partner subscribes to Microsoft Action Pack entering the card in the wizard, meets a declined
card and 3-D Secure, turns auto-renewal off, renews inside the window and downloads an invoice.
Each test checks localstripe's own records for how many charges were made and for how much.
The steps are saved as screenshots in docs/screenshots/ for the README.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from billing.models import Order, Subscription, SubscriptionStatus
from billing.services.checkout import checkout_choose_card, checkout_pay, checkout_purchase_start
from core import clock
from offers.selectors import terms_current
from tests.billing.factories import make_subscription
from tests.billing.stripe_helpers import (
    CARD_3DS,
    CARD_CHARGES_DECLINED,
    CARD_OK,
    card_save,
    succeeded_charges,
)
from tests.plugins.people import browser_sign_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def base_url(localstripe, live_server, transactional_db) -> str:
    """The live server, with the portal's Stripe settings pointing at the session's localstripe."""
    return live_server.url


@pytest.fixture
def moved_clock():
    """``set(moment)`` moves the portal's clock (the live server runs in this process)."""
    yield lambda moment: clock.set_now(moment)
    clock.set_now(None)


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def sign_in(page: Page, base_url: str, email: str) -> None:
    browser_sign_in(page, base_url, email)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def enter_card(page: Page, number: str) -> None:
    """Type a card into the wizard's Add a payment method (localstripe's fake Elements)."""
    form = page.locator("form[data-card-entry]")
    card = form.locator("#card-element")
    card.get_by_placeholder("number").fill(number)
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("34")
    card.get_by_placeholder("cvc").fill("123")
    card.get_by_placeholder("postal_code").fill("98052")


def start_subscribing(page: Page, base_url: str, *, screenshots: bool = False) -> None:
    """Partnership > Offers → Subscribe now → accept the terms → Next."""
    page.goto(f"{base_url}{reverse('dashboard')}")
    page.get_by_role("button", name="Partnership").hover()
    page.get_by_role("link", name="Offers", exact=True).click()
    expect(page.get_by_role("heading", name="Available offers")).to_be_visible()
    if screenshots:
        shot(page, "01-offers.png")
    page.get_by_role("link", name="Subscribe now").click()
    expect(page.get_by_role("heading", name="Terms and conditions")).to_be_visible()
    expect(page.get_by_test_id("terms-version")).to_have_text("2026-01")
    page.get_by_label(re.compile("I accept the terms and conditions")).check()
    if screenshots:
        shot(page, "02-terms.png")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Payment details")).to_be_visible()


def add_card_and_continue(page: Page, number: str, *, screenshot: str = "") -> None:
    if page.locator("details.add-card[open]").count() == 0:  # folded away when cards exist
        page.get_by_text("Add a payment method", exact=True).click()
    form = page.locator("form[data-card-entry]")
    expect(form.get_by_role("button", name="Next")).to_be_enabled()  # Stripe.js is loaded
    enter_card(page, number)
    if screenshot:
        shot(page, screenshot)
    form.get_by_role("button", name="Next").click()


def purchase(page: Page) -> None:
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    page.get_by_role("button", name="Purchase").click()


def customer_of(organization) -> str:
    organization.refresh_from_db()
    return organization.stripe_customer_id


def test_subscribe_with_a_card_and_see_it_under_purchased_offers(
    page: Page, base_url, localstripe, contoso, bob, offer
):
    sign_in(page, base_url, bob.email)
    start_subscribing(page, base_url, screenshots=True)
    expect(page.get_by_text("no saved card yet")).to_be_visible()
    shot(page, "03-payment-details.png")

    add_card_and_continue(page, CARD_OK, screenshot="04-add-a-payment-method.png")

    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    expect(page.get_by_test_id("order-price")).to_contain_text("$475.00")
    expect(page.get_by_test_id("order-card")).to_have_text("Visa •••• 4242")
    expect(page.get_by_text("Your credit card will be charged immediately.")).to_be_visible()
    expect(
        page.get_by_text(re.compile("renew automatically each year on this date"))
    ).to_be_visible()
    shot(page, "05-review.png")
    page.get_by_role("button", name="Purchase").dblclick()  # an impatient double click

    expect(page.get_by_role("heading", name="Your order is confirmed.")).to_be_visible()
    shot(page, "06-confirmed.png")
    page.get_by_role("link", name="Close").click()

    purchased = page.get_by_test_id("purchased-offers")
    expect(purchased).to_contain_text("Microsoft Action Pack subscription")
    expect(purchased).to_contain_text("Active")
    expect(purchased).to_contain_text("Renews automatically each year on")
    expect(page.get_by_test_id("blocker")).to_have_text(
        "Your organization already has this subscription."
    )
    shot(page, "07-purchased-offers.png")
    customer = customer_of(contoso)
    intents = localstripe.payment_intents(customer=customer)
    assert [(pi["amount"], pi["currency"], pi["status"]) for pi in intents] == [
        (47500, "usd", "succeeded")
    ]
    assert succeeded_charges(localstripe, customer) == [(47500, "usd")]
    assert Subscription.objects.get(organization=contoso).status == SubscriptionStatus.ACTIVE


def test_a_declined_card_leaves_nothing_purchased_and_says_why(
    page: Page, base_url, localstripe, contoso, bob, offer
):
    sign_in(page, base_url, bob.email)
    start_subscribing(page, base_url)
    add_card_and_continue(page, CARD_CHARGES_DECLINED)
    purchase(page)

    expect(page.get_by_role("heading", name="Payment details")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="did not go through")).to_contain_text(
        "Your card was declined."
    )
    expect(page.get_by_text("Nothing was charged.").first).to_be_visible()
    shot(page, "08-declined.png")
    customer = customer_of(contoso)
    charges = localstripe.charges(customer=customer)
    assert [(c["amount"], c["currency"], c["status"]) for c in charges] == [
        (47500, "usd", "failed")
    ]
    assert succeeded_charges(localstripe, customer) == []
    assert not Subscription.objects.filter(organization=contoso).exists()
    page.goto(f"{base_url}{reverse('billing:offers')}")
    expect(page.get_by_test_id("no-purchased-offers")).to_be_visible()

    # Another card, and the same order goes through.
    page.go_back()
    add_card_and_continue(page, CARD_OK)
    purchase(page)

    expect(page.get_by_role("heading", name="Your order is confirmed.")).to_be_visible()
    assert succeeded_charges(localstripe, customer) == [(47500, "usd")]
    assert len(localstripe.charges(customer=customer)) == 2
    assert Subscription.objects.filter(organization=contoso).count() == 1


def test_a_3d_secure_card_completes_after_authentication(
    page: Page, base_url, localstripe, contoso, bob, offer
):
    sign_in(page, base_url, bob.email)
    start_subscribing(page, base_url)
    add_card_and_continue(page, CARD_3DS)
    # The bank checks the card when it is saved…
    page.get_by_role("button", name="Complete authentication").click()
    purchase(page)

    # …and again when it is charged: Stripe.js shows the check on our page.
    expect(page.get_by_role("heading", name="Confirm the payment with your bank")).to_be_visible()
    expect(page.get_by_role("button", name="Complete authentication")).to_be_visible()
    customer = customer_of(contoso)
    assert succeeded_charges(localstripe, customer) == []
    shot(page, "09-3d-secure.png")
    page.get_by_role("button", name="Complete authentication").click()

    expect(page.get_by_role("heading", name="Your order is confirmed.")).to_be_visible()
    intents = localstripe.payment_intents(customer=customer)
    assert [(pi["amount"], pi["status"]) for pi in intents] == [(47500, "succeeded")]
    assert succeeded_charges(localstripe, customer) == [(47500, "usd")]
    assert Subscription.objects.get(organization=contoso).status == SubscriptionStatus.ACTIVE


def test_turn_off_auto_renew_and_find_no_way_to_turn_it_back_on(
    page: Page, base_url, localstripe, contoso, bob, offer
):
    card = card_save(localstripe, contoso, bob)
    subscription = make_subscription(
        contoso, offer, started_on=clock.today() - dt.timedelta(days=30), payment_method=card
    )
    sign_in(page, base_url, bob.email)
    page.goto(f"{base_url}{reverse('billing:offers')}")
    page.get_by_test_id("purchased-offers").get_by_role(
        "link", name="Microsoft Action Pack subscription"
    ).click()
    expect(page.get_by_test_id("auto-renew")).to_have_text("On")
    shot(page, "10-purchased-offer.png")

    page.get_by_role("link", name="Turn off auto-renew").click()
    expect(page.get_by_test_id("lock-warning")).to_contain_text(
        "You won't be able to turn automatic renewal back on until you renew the subscription again."
    )
    shot(page, "11-turn-off-auto-renew.png")
    page.get_by_role("button", name="Turn off auto-renew").click()

    anniversary = subscription.current_term_end
    expect(page.get_by_test_id("anniversary")).to_contain_text("Expires on")
    expect(page.get_by_test_id("auto-renew")).to_contain_text("Off")
    expect(page.get_by_test_id("auto-renew")).to_contain_text("cannot be turned back on")
    actions = page.get_by_test_id("subscription-actions")
    expect(actions.get_by_role("link", name="Turn off auto-renew")).to_have_count(0)
    expect(actions.get_by_text(re.compile("turn on", re.IGNORECASE))).to_have_count(0)
    expect(actions.get_by_role("button", name="Renew subscription")).to_be_disabled()
    opens = anniversary - dt.timedelta(days=90)
    expect(page.get_by_test_id("renewal-window")).to_contain_text(f"Renewal opens on {opens:%b}")
    shot(page, "12-auto-renew-off.png")
    subscription.refresh_from_db()
    assert (subscription.auto_renew, subscription.auto_renew_locked) == (False, True)
    assert localstripe.charges(customer=customer_of(contoso)) == []


def test_renew_inside_the_window_turns_auto_renew_on_and_moves_the_anniversary(
    page: Page, base_url, localstripe, moved_clock, contoso, bob, offer
):
    card = card_save(localstripe, contoso, bob)
    subscription = make_subscription(
        contoso,
        offer,
        started_on=dt.date(2026, 3, 10),
        payment_method=card,
        auto_renew=False,
        auto_renew_locked=True,
    )
    moved_clock(dt.datetime(2027, 2, 20, 10, tzinfo=dt.UTC))  # 18 days before the anniversary
    sign_in(page, base_url, bob.email)
    page.goto(f"{base_url}{reverse('billing:subscription', args=[subscription.pk])}")
    expect(page.get_by_test_id("anniversary")).to_have_text("Expires on March 10, 2027")

    page.get_by_role("link", name="Renew subscription").click()
    expect(page.get_by_role("heading", name="Check the order details")).to_be_visible()
    expect(page.get_by_test_id("new-term")).to_contain_text("March 10, 2027 – March 10, 2028")
    shot(page, "13-renew-details.png")
    page.get_by_role("button", name="Next").click()
    page.get_by_label(re.compile("I accept the terms and conditions")).check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("radio", name=re.compile("Visa •••• 4242"))).to_be_checked()
    page.get_by_test_id("choose-card").get_by_role("button", name="Next").click()
    expect(page.get_by_text(re.compile("The new term starts on your anniversary"))).to_be_visible()
    shot(page, "14-renew-review.png")
    purchase(page)

    expect(page.get_by_role("heading", name="Your order is confirmed.")).to_be_visible()
    page.get_by_role("link", name="Close").click()
    expect(page.get_by_test_id("anniversary")).to_have_text(
        "Renews automatically each year on March 10, 2028"
    )
    expect(page.get_by_test_id("auto-renew")).to_have_text("On")
    shot(page, "15-renewed.png")
    assert succeeded_charges(localstripe, customer_of(contoso)) == [(47500, "usd")]
    subscription.refresh_from_db()
    assert (subscription.term_number, subscription.current_term_end) == (2, dt.date(2028, 3, 10))


def test_download_an_invoice(page: Page, base_url, localstripe, contoso, bob, offer):
    # Bought through the wizard's services, charged by localstripe; the browser downloads the
    # invoice's PDF from the purchased offer, then reads it in Billing > Invoices.
    card = card_save(localstripe, contoso, bob)
    order = checkout_purchase_start(
        organization=contoso,
        offer=offer,
        terms=terms_current(offer=offer),
        actor=bob,
        ip_address="127.0.0.1",
    )
    order = checkout_choose_card(order=order, payment_method=card, actor=bob)
    assert checkout_pay(order=order, actor=bob).paid
    order = Order.objects.get(pk=order.pk)

    sign_in(page, base_url, bob.email)
    page.goto(f"{base_url}{reverse('billing:subscription', args=[order.subscription_id])}")
    with page.expect_download() as download_info:
        page.get_by_test_id("download-invoice").click()
    download = download_info.value

    assert download.suggested_filename == f"{order.invoice_number}.pdf"
    pdf = Path(download.path()).read_bytes()
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    for expected in (
        order.invoice_number,
        "Partner Portal Ireland Limited",
        "Contoso Ltd",
        "Outside the scope of EU VAT",
        "Total (USD) $475.00",
    ):
        assert expected in text, expected

    page.get_by_role("button", name="Billing").click()
    page.get_by_role("link", name="Invoices").click()
    page.get_by_role("link", name=order.invoice_number, exact=True).click()
    expect(page.get_by_test_id("invoice-number")).to_have_text(order.invoice_number)
    expect(page.get_by_test_id("total")).to_have_text("$475.00")
    expect(page.get_by_test_id("bill-to")).to_contain_text("Contoso Ltd")
    expect(page.get_by_test_id("tax-note")).to_have_text("Outside the scope of EU VAT")
    expect(page.get_by_test_id("payment")).to_contain_text("Visa •••• 4242")
    shot(page, "16-invoice.png")
    assert succeeded_charges(localstripe, customer_of(contoso)) == [(order.amount, "usd")]
