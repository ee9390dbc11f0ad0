"""In the browser: a Global admin invites a Billing admin, who sets a password from the invitation
email, signs in, manages payment methods and cannot purchase; and invites someone who already has
an account, who signs in with the second factor and accepts (issue 13). Screenshots of the pages
go to docs/screenshots/ (docs/abuse.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
from django.core import mail
from playwright.sync_api import Page, expect

from membership.models import Role, User
from tests.accessibility.axe import axe_check, report
from tests.membership.team_helpers import invitation_link
from tests.plugins.people import CODE_LABEL, PASSWORD, browser_sign_in, membership_of, totp_code

NEW_PASSWORD = "plum-orchard-bicycle-42"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def _sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    browser_sign_in(page, base_url, email, password)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def _invite(page: Page, base_url: str, email: str, name: str, role: str) -> None:
    page.goto(f"{base_url}/account/users/")
    page.get_by_role("link", name="Add user").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Name").fill(name)
    page.get_by_label(role).check()
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_text(f"We emailed an invitation to {email}.")).to_be_visible()


def test_a_new_billing_admin_joins_and_manages_payment_methods_but_cannot_purchase(
    page: Page, live_server, transactional_db, settings, localstripe, contoso, offer, alice
):
    settings.SITE_URL = live_server.url  # the email's absolute link points at this server
    _sign_in(page, live_server.url, alice.email, PASSWORD)

    # Account settings > User management > Add user
    page.goto(f"{live_server.url}/account/users/add/")
    page.get_by_label("Email").fill("dana@contoso.example")
    page.get_by_label("Name").fill("Dana Newcomer")
    page.get_by_label("Billing admin").check()
    shot(page, "24-add-user.png")
    _invite(page, live_server.url, "dana@contoso.example", "Dana Newcomer", "Billing admin")
    row = page.get_by_test_id("invitations").locator('tr[data-email="dana@contoso.example"]')
    expect(row).to_contain_text("Billing admin")
    expect(row).to_contain_text("Invitation pending")
    expect(page.get_by_test_id("team-changes")).to_contain_text("User invited")
    shot(page, "25-invitations.png")
    violations = axe_check(page, "User management with an invitation")
    assert violations == [], report(violations)
    _sign_out(page)

    # The invitation email's one-time link sets the password and signs Dana in.
    [invitation] = [message for message in mail.outbox if message.to == ["dana@contoso.example"]]
    link = invitation_link(invitation)
    page.goto(link)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_text("Welcome to Contoso Ltd. Your password is set.")).to_be_visible()
    # Before anything else, a second factor (docs/sign-in.md).
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    page.get_by_role("link", name="Set up an authenticator app").click()
    secret = page.get_by_label("Key (if you cannot scan)").input_value()
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    _sign_out(page)

    # The link works once.
    page.goto(link)
    expect(page.get_by_test_id("invitation-problem")).to_contain_text("already used")

    # Dana signs in with her own password.
    _sign_in(page, live_server.url, "dana@contoso.example", NEW_PASSWORD)
    assert membership_of(User.objects.get(email="dana@contoso.example"), contoso).role_set == {
        Role.BILLING_ADMIN
    }

    # She manages payment methods: adds a card through the card entry.
    page.goto(f"{live_server.url}/billing/payment-methods/")
    expect(page.get_by_role("heading", name="Payment methods")).to_be_visible()
    page.get_by_role("link", name="Add a payment method").click()
    card = page.locator("#card-element")
    card.get_by_placeholder("number").fill("4242424242424242")
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("34")
    card.get_by_placeholder("cvc").fill("123")
    card.get_by_placeholder("postal_code").fill("98052")
    page.get_by_role("button", name="Save card").click()
    expect(page.get_by_text(re.compile(r"4242 was added"))).to_be_visible()

    # She cannot purchase: no Subscribe action, and the subscribe page refuses her.
    page.goto(f"{live_server.url}/partnership/offers/")
    expect(page.get_by_role("link", name="Subscribe now")).to_have_count(0)
    response = page.goto(f"{live_server.url}/partnership/offers/{offer.pk}/subscribe/")
    assert response.status == 403


def test_someone_with_an_account_signs_in_and_accepts(
    page: Page, live_server, transactional_db, settings, contoso, alice, charlie
):
    settings.SITE_URL = live_server.url
    _sign_in(page, live_server.url, alice.email, PASSWORD)
    _invite(page, live_server.url, charlie.email, "Charlie", "Global admin")
    _sign_out(page)
    # Nothing changed for charlie: his next sign-in is in Fabrikam, and he is no member.
    assert not charlie.memberships.filter(organization=contoso).exists()

    [message] = [m for m in mail.outbox if m.to == [charlie.email]]
    page.goto(invitation_link(message))
    expect(page.get_by_role("heading", name="Join Contoso Ltd?")).to_be_visible()
    shot(page, "26-invitation-sign-in.png")
    violations = axe_check(page, "the invitation, signed out")
    page.get_by_role("link", name="Sign in to answer").click()
    page.get_by_label("Email").fill(charlie.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label(CODE_LABEL).fill(totp_code(charlie))
    page.get_by_role("button", name="Sign in").click()

    # Back on the invitation, second factor passed: it says what joining means.
    expect(page.get_by_role("heading", name="Join Contoso Ltd?")).to_be_visible()
    expect(page.get_by_text("Your roles there: Global admin.")).to_be_visible()
    shot(page, "27-invitation-join.png")
    violations += axe_check(page, "the invitation, signed in")
    assert violations == [], report(violations)
    page.get_by_role("button", name="Join Contoso Ltd").click()

    expect(page.get_by_text("You joined Contoso Ltd.")).to_be_visible()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert membership_of(charlie, contoso).role_set == {Role.GLOBAL_ADMIN}
