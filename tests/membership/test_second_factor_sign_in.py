"""Signing in with a second factor, and the gate for sessions without one (issue 12).

The password leads to the code step; only the code signs the session in. An account without a
factor is signed in but may only set one up (or sign out) while ``MFA_REQUIRED``; a session that
holds a user without having passed their factor is sent to the check. The admin has no sign-in
of its own. Browser versions of these flows: test_second_factor_browser.py.
"""

from __future__ import annotations

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from django.test import Client

from membership.models import User
from tests.plugins.people import (
    PASSWORD,
    SECOND_FACTOR_URL,
    client_sign_in,
    second_factor_checked,
    totp_code,
    totp_secret,
)

LOGIN = "/accounts/login/"
SETUP = "/account/security/setup/"
CHECK = "/account/security/reauthenticate/"


def _password(client: Client, email: str, password: str = PASSWORD, next_url: str = ""):
    url = f"{LOGIN}?next={next_url}" if next_url else LOGIN
    return client.post(url, {"login": email, "password": password, "next": next_url})


@pytest.fixture
def newcomer(contoso) -> User:
    """Nina: a Contoso member with a password and no second factor yet."""
    from membership.services import membership_add

    user = User.objects.create_user(email="nina@contoso.example", password=PASSWORD)
    membership_add(organization=contoso, user=user, roles=set())
    return user


def test_the_password_leads_to_the_code_step(alice) -> None:
    client = Client()

    response = _password(client, alice.email)

    assert response["Location"] == SECOND_FACTOR_URL
    page = client.get(SECOND_FACTOR_URL)
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_code_signs_in(alice) -> None:
    client = Client()

    response = client_sign_in(client, alice)

    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_a_wrong_code_is_refused_and_said_so(alice) -> None:
    client = Client()
    _password(client, alice.email)

    response = client.post(SECOND_FACTOR_URL, {"code": "123456"})

    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_pasted_code_with_spaces_is_accepted(alice) -> None:
    client = Client()
    _password(client, alice.email)
    code = totp_code(alice)

    client.post(SECOND_FACTOR_URL, {"code": f" {code[:3]} {code[3:]} "})

    assert client.get("/").status_code == 200


def test_a_code_cannot_be_replayed(alice, bob) -> None:
    code = totp_code(alice)
    first = Client()
    _password(first, alice.email)
    first.post(SECOND_FACTOR_URL, {"code": code})
    assert first.get("/").status_code == 200

    second = Client()
    _password(second, alice.email)
    replay = second.post(SECOND_FACTOR_URL, {"code": code})

    assert replay.status_code == 200
    assert "Incorrect code." in replay.content.decode()
    assert "_auth_user_id" not in second.session


def test_a_recovery_code_signs_in_once(alice) -> None:
    codes = Authenticator.objects.get(user=alice, type="recovery_codes").wrap().get_unused_codes()
    client = Client()
    _password(client, alice.email)
    client.post(SECOND_FACTOR_URL, {"code": codes[0]})
    assert client.get("/").status_code == 200

    again = Client()
    _password(again, alice.email)
    response = again.post(SECOND_FACTOR_URL, {"code": codes[0]})

    assert "_auth_user_id" not in again.session
    assert "Incorrect code." in response.content.decode()


def test_an_account_without_a_second_factor_may_only_set_one_up(newcomer) -> None:
    client = Client()

    response = _password(client, newcomer.email)

    assert response.status_code == 302
    for path in ("/", "/partnership/offers/", "/account/users/", "/admin/", "/support/"):
        assert client.get(path)["Location"] == SETUP, path
    assert client.get(SETUP).status_code == 200
    assert client.get("/account/security/totp/activate/").status_code == 200
    assert client.get("/account/security/passkeys/add/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302


def test_setting_up_the_app_opens_the_portal(newcomer, transactional_db) -> None:
    # Transactional: allauth reports the new factor once its row is committed, in the request.
    client = Client()
    _password(client, newcomer.email)
    page = client.get("/account/security/totp/activate/")
    secret = page.context["form"].secret

    response = client.post("/account/security/totp/activate/", {"code": pyotp.TOTP(secret).now()})

    # Straight to the recovery codes, shown this once; then the portal is open.
    assert response["Location"] == "/account/security/recovery-codes/"
    codes = client.get(response["Location"])
    assert len(codes.context["unused_codes"]) == 10
    assert client.get("/account/security/recovery-codes/").context["can_view_codes"] is False
    assert client.get("/").status_code == 200
    assert totp_secret(newcomer) == secret


def test_a_wrong_first_code_does_not_turn_the_app_on(newcomer) -> None:
    client = Client()
    _password(client, newcomer.email)
    client.get("/account/security/totp/activate/")

    response = client.post("/account/security/totp/activate/", {"code": "000000"})

    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert not Authenticator.objects.filter(user=newcomer).exists()


def test_without_mfa_required_an_account_without_a_factor_gets_in(newcomer, settings) -> None:
    settings.MFA_REQUIRED = False
    client = Client()

    _password(client, newcomer.email)

    assert client.get("/").status_code == 200


def test_a_session_that_did_not_pass_the_factor_is_sent_to_the_check(alice) -> None:
    client = Client()
    client.force_login(alice)  # e.g. a session from before the factor was set up

    response = client.get("/partnership/offers/")

    assert response["Location"] == f"{CHECK}?next=/partnership/offers/"
    code = totp_code(alice)
    done = client.post(f"{CHECK}?next=/partnership/offers/", {"code": code})
    assert done["Location"] == "/partnership/offers/"
    assert client.get("/partnership/offers/").status_code == 200


def test_another_persons_mark_does_not_count(alice, bob) -> None:
    client = Client()
    client.force_login(alice)
    second_factor_checked(client, bob)

    assert client.get("/")["Location"].startswith(CHECK)


def test_the_only_factor_cannot_be_removed(alice, login) -> None:
    client = login(alice)

    response = client.post("/account/security/totp/deactivate/")

    assert response.status_code == 200
    assert "This is your only second factor" in response.content.decode()
    assert Authenticator.objects.filter(user=alice, type="totp").exists()


# --- the admin ------------------------------------------------------------------------------------


def test_the_admin_sign_in_page_sends_staff_to_the_portal_sign_in(db) -> None:
    response = Client().get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_the_admin_sign_in_form_takes_no_password(root) -> None:
    client = Client()

    response = client.post("/admin/login/", {"username": root.email, "password": PASSWORD})

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_staff_reach_the_admin_only_after_the_code(root) -> None:
    client = Client()
    _password(client, root.email, next_url="/admin/")
    assert client.get("/admin/").status_code == 302

    client.post(SECOND_FACTOR_URL, {"code": totp_code(root)})

    assert client.get("/admin/").status_code == 200


def test_a_staff_session_without_the_factor_does_not_reach_the_admin(root) -> None:
    client = Client()
    client.force_login(root)

    response = client.get("/admin/support/servicerequest/")

    assert response["Location"] == f"{CHECK}?next=/admin/support/servicerequest/"


def test_staff_without_a_factor_must_set_one_up_first(db) -> None:
    User.objects.create_superuser(email="new-root@partnerportal.example", password=PASSWORD)
    client = Client()

    _password(client, "new-root@partnerportal.example", next_url="/admin/")

    assert client.get("/admin/")["Location"] == SETUP
