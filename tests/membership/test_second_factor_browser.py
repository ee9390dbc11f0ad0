"""The second factor in Chromium, as people meet it (issue 12's acceptance).

Codes are computed with pyotp from the key the page shows or the one stored; passkeys come from
Chromium's virtual authenticator, driven through the DevTools protocol (``WebAuthn.enable``,
``WebAuthn.addVirtualAuthenticator``): a real WebAuthn ceremony against the live server, with no
hardware. The steps are saved as screenshots in docs/screenshots/ for docs/sign-in.md.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from playwright.sync_api import Page, expect

from membership.invitations import user_invite
from membership.models import Role, User
from membership.second_factor import SESSION_KEY
from tests.membership.team_helpers import invitation_path
from tests.plugins.people import CODE_LABEL, PASSWORD, browser_sign_in, totp_code

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
NEW_PASSWORD = "lantern-mosaic-orbit-42"


@pytest.fixture
def base_url(localstripe, live_server, transactional_db) -> str:
    return live_server.url


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def virtual_authenticator(page: Page) -> None:
    """A platform authenticator with a PIN/fingerprint that always says yes (user verified)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


def test_an_invited_person_sets_up_the_app_and_signs_in_with_a_code(
    page: Page, base_url, contoso, alice
) -> None:
    user_invite(
        organization=contoso,
        email="dana@contoso.example",
        full_name="Dana Invited",
        roles={Role.MPN_PARTNER_ADMIN},
        actor=alice,
    )
    page.goto(base_url + invitation_path(mail.outbox[-1]))
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()

    # Nothing else opens before a second factor is set up.
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    page.goto(f"{base_url}/partnership/offers/")
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    shot(page, "17-second-factor-setup.png")
    page.get_by_role("link", name="Set up an authenticator app").click()
    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    secret = page.get_by_label("Key (if you cannot scan)").input_value()
    code_field = page.get_by_label("Code from your authenticator app")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    shot(page, "18-authenticator-app.png")
    code_field.fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    codes = page.get_by_test_id("recovery-codes").locator("li")
    expect(codes).to_have_count(10)
    expect(page.get_by_role("link", name="Download the codes")).to_be_visible()
    shot(page, "19-recovery-codes.png")
    page.get_by_role("link", name="I have saved my recovery codes").click()
    expect(page.get_by_role("heading", name="Sign-in and security")).to_be_visible()
    sign_out(page)

    browser_sign_in(page, base_url, "dana@contoso.example", NEW_PASSWORD)

    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_the_code_step_says_what_went_wrong(page: Page, base_url, bob) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(bob.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label(CODE_LABEL).fill("000000")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("Incorrect code.")
    shot(page, "20-sign-in-code.png")
    page.get_by_label(CODE_LABEL).fill(totp_code(bob))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_a_person_with_a_passkey_signs_in_with_it(page: Page, base_url, bob) -> None:
    virtual_authenticator(page)
    browser_sign_in(page, base_url, bob.email)
    page.goto(f"{base_url}/account/security/")
    page.get_by_role("link", name="Add a passkey").click()
    page.get_by_label("Name (so you recognise it later)").fill("Bob's laptop")
    page.get_by_role("button", name="Create the passkey").click()
    expect(page.get_by_test_id("passkeys")).to_contain_text("1 passkey")
    assert Authenticator.objects.filter(user=bob, type="webauthn").count() == 1
    sign_out(page)

    # Without the password: the passkey (with its fingerprint or PIN) is enough.
    shot(page, "21-sign-in-page-passkey.png")
    page.get_by_role("button", name="Use a passkey", exact=True).click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    sign_out(page)

    # Or as the second factor after the password.
    page.get_by_label("Email").fill(bob.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Use a passkey or security key").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_a_recovery_code_works_once(page: Page, base_url, bob) -> None:
    code = Authenticator.objects.get(user=bob, type="recovery_codes").wrap().get_unused_codes()[0]

    def password_then(code: str) -> None:
        page.goto(f"{base_url}/accounts/login/")
        page.get_by_label("Email").fill(bob.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label(CODE_LABEL).fill(code)
        page.get_by_role("button", name="Sign in").click()

    password_then(code)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    sign_out(page)

    password_then(code)

    expect(page.get_by_role("alert")).to_contain_text("Incorrect code.")
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()


def _age_the_check(page: Page, user: User, *, minutes: float) -> None:
    """The session's last second-factor check happened ``minutes`` ago (the step-up's clock is
    real time; moving the mark back is the honest way to be a quarter of an hour later)."""
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "sessionid"]
    session = SessionStore(session_key=cookie["value"])
    session[SESSION_KEY] = {
        "user": str(user.pk),
        "at": time.time() - minutes * 60,
        "method": "totp",
    }
    session.save()


def test_the_step_up_comes_before_purchase_only_when_the_check_is_old(
    page: Page, base_url, contoso, offer, bob
) -> None:
    browser_sign_in(page, base_url, bob.email)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # Just signed in: straight to Payment details.
    page.goto(f"{base_url}/partnership/offers/{offer.pk}/subscribe/")
    page.get_by_label(re.compile("I accept the terms and conditions")).check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Payment details")).to_be_visible()

    # A quarter of an hour later the same page first asks for the second factor again.
    _age_the_check(page, bob, minutes=16)
    page.reload()
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    shot(page, "22-step-up.png")
    page.get_by_label(CODE_LABEL).fill(totp_code(bob))
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Payment details")).to_be_visible()


def test_the_admin_cannot_be_reached_with_a_password_alone(page: Page, base_url, root) -> None:
    page.goto(f"{base_url}/admin/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(root.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()

    # The password alone opened nothing: every way into the admin ends at the code step.
    for path in ("/admin/", "/admin/support/servicerequest/", "/admin/login/"):
        page.goto(f"{base_url}{path}")
        expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
        expect(page).not_to_have_url(re.compile(r"/admin/"))
    shot(page, "23-admin-asks-for-the-code.png")

    page.get_by_label(CODE_LABEL).fill(totp_code(root))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Support, billing and catalog")).to_be_visible()
