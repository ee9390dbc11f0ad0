"""Sign-in protection: lockout with cool-off, password rules, session rotation, sign-out, reset.

Addresses come from REMOTE_ADDR (no trusted proxy in tests). Time moves through axes' own clock
(``axes.handlers.proxy.now`` stamps each attempt), never with sleeps. A right password leads to
the second-factor step (``password_accepted``); signing in is complete after the code
(``client_sign_in``). The two attacks of issue 12 are reproduced at the end of the lockout part.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from membership.models import User
from tests.plugins.people import (
    PASSWORD,
    SECOND_FACTOR_URL,
    client_sign_in,
    totp_code,
)

LOGIN = "/accounts/login/"
WRONG = "not-the-password"


def attempt(email: str, password: str, address: str, client: Client | None = None):
    client = client or Client()
    return client.post(LOGIN, {"login": email, "password": password}, REMOTE_ADDR=address)


def password_accepted(response) -> bool:
    """The password was right: on to the second factor (not signed in yet)."""
    return response.status_code == 302 and response["Location"] == SECOND_FACTOR_URL


def signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


@pytest.fixture
def axes_clock(monkeypatch):
    """Move the clock django-axes stamps attempts with: ``axes_clock.advance(minutes=16)``."""

    class Clock:
        offset = dt.timedelta()

        def advance(self, **delta: float) -> None:
            self.offset += dt.timedelta(**delta)

    clock = Clock()
    monkeypatch.setattr("axes.handlers.proxy.now", lambda: timezone.now() + clock.offset)
    return clock


def test_it_locks_an_account_from_an_address_after_five_failures(alice, axes_clock) -> None:
    for _ in range(4):
        assert attempt(alice.email, WRONG, "198.51.100.7").status_code == 200
    # The fifth failure already answers with the lockout page.
    assert attempt(alice.email, WRONG, "198.51.100.7").status_code == 429

    locked = attempt(alice.email, PASSWORD, "198.51.100.7")

    assert locked.status_code == 429
    assert b"Too many sign-in attempts" in locked.content
    assert "_auth_user_id" not in locked.client.session


def test_four_failures_do_not_lock(alice, axes_clock) -> None:
    for _ in range(4):
        attempt(alice.email, WRONG, "198.51.100.7")

    assert password_accepted(attempt(alice.email, PASSWORD, "198.51.100.7"))


def test_the_lockout_counts_the_email_in_any_case(alice, axes_clock) -> None:
    for _ in range(5):
        attempt(alice.email.upper(), WRONG, "198.51.100.7")

    assert attempt(alice.email, PASSWORD, "198.51.100.7").status_code == 429


def test_a_locked_account_does_not_lock_others_at_that_address(alice, bob, axes_clock) -> None:
    for _ in range(5):
        attempt(alice.email, WRONG, "198.51.100.7")

    assert password_accepted(attempt(bob.email, PASSWORD, "198.51.100.7"))


def test_it_locks_an_account_attacked_from_many_addresses(alice, axes_clock) -> None:
    limit = settings.SIGN_IN_LOCKOUT[1][1]
    for n in range(limit):
        attempt(alice.email, WRONG, f"203.0.113.{n + 1}")

    # Her own, fresh address: the account itself is locked.
    assert attempt(alice.email, PASSWORD, "192.0.2.50").status_code == 429


def test_an_account_takes_its_own_limit_across_addresses(alice, axes_clock) -> None:
    # One failure short of the account-wide limit, from addresses each below their own limit.
    limit = settings.SIGN_IN_LOCKOUT[1][1]
    for n in range(limit - 1):
        attempt(alice.email, WRONG, f"203.0.113.{n // 2 + 1}")

    assert password_accepted(attempt(alice.email, PASSWORD, "192.0.2.50"))


def test_an_address_takes_its_own_limit_across_accounts(bob, axes_clock) -> None:
    limit = settings.SIGN_IN_LOCKOUT[2][1]
    for n in range(limit - 1):
        attempt(f"nobody{n}@contoso.example", WRONG, "198.51.100.99")

    assert password_accepted(attempt(bob.email, PASSWORD, "198.51.100.99"))


def test_it_locks_an_address_spraying_many_accounts(bob, axes_clock) -> None:
    limit = settings.SIGN_IN_LOCKOUT[2][1]
    for n in range(limit):
        attempt(f"nobody{n}@contoso.example", WRONG, "198.51.100.99")

    assert attempt(bob.email, PASSWORD, "198.51.100.99").status_code == 429
    assert password_accepted(attempt(bob.email, PASSWORD, "192.0.2.1"))


def test_it_lets_the_account_in_again_after_the_cool_off(alice, axes_clock) -> None:
    for _ in range(5):
        attempt(alice.email, WRONG, "198.51.100.7")

    axes_clock.advance(minutes=14)
    assert attempt(alice.email, PASSWORD, "198.51.100.7").status_code == 429

    axes_clock.advance(minutes=2)  # 16 minutes after the last counted failure
    assert password_accepted(attempt(alice.email, PASSWORD, "198.51.100.7"))


def test_failures_during_a_lockout_do_not_extend_it(alice, axes_clock) -> None:
    for _ in range(5):
        attempt(alice.email, WRONG, "198.51.100.7")
    axes_clock.advance(minutes=10)
    attempt(alice.email, WRONG, "198.51.100.7")

    axes_clock.advance(minutes=6)

    assert password_accepted(attempt(alice.email, PASSWORD, "198.51.100.7"))


def test_a_success_clears_earlier_failures(alice, axes_clock) -> None:
    for _ in range(4):
        attempt(alice.email, WRONG, "198.51.100.7")
    assert signed_in(client_sign_in(Client(), alice, REMOTE_ADDR="198.51.100.7"))

    for _ in range(4):
        attempt(alice.email, WRONG, "198.51.100.7")

    assert password_accepted(attempt(alice.email, PASSWORD, "198.51.100.7"))


def test_the_password_alone_does_not_sign_in(alice) -> None:
    response = attempt(alice.email, PASSWORD, "192.0.2.1")

    assert password_accepted(response)
    assert "_auth_user_id" not in response.client.session
    assert response.client.get("/").status_code == 302


# --- issue 12's attacks, and what lifts a lock ----------------------------------------------------


def test_signing_in_to_ones_own_account_does_not_clear_the_victims_failures(
    alice, bob, axes_clock
) -> None:
    # The attacker (bob's account, same address) guesses alice's password four times, then signs
    # in to his own account to wipe the count, and guesses again. The count is alice's own.
    for _ in range(4):
        attempt(alice.email, WRONG, "198.51.100.7")
    assert signed_in(client_sign_in(Client(), bob, REMOTE_ADDR="198.51.100.7"))

    fifth = attempt(alice.email, WRONG, "198.51.100.7")

    assert fifth.status_code == 429
    assert attempt(alice.email, PASSWORD, "198.51.100.7").status_code == 429
    # Bob's own sign-ins from there keep working: only alice is locked at that address.
    assert password_accepted(attempt(bob.email, PASSWORD, "198.51.100.7"))


def test_interleaved_own_sign_ins_never_give_more_than_the_limit(alice, bob, axes_clock) -> None:
    statuses = []
    for _round in range(3):
        for _ in range(2):
            statuses.append(attempt(alice.email, WRONG, "198.51.100.7").status_code)
        client_sign_in(Client(), bob, REMOTE_ADDR="198.51.100.7")

    # Guesses 1-4 are answered, the 5th locks; the 6th is refused without being tried.
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_failures_from_two_addresses_do_not_lock_the_owner_out_where_she_signs_in(
    alice, axes_clock
) -> None:
    assert signed_in(client_sign_in(Client(), alice, REMOTE_ADDR="192.0.2.10"))  # her office
    for address in ("203.0.113.1", "203.0.113.2"):
        for _ in range(5):
            attempt(alice.email, WRONG, address)
    assert attempt(alice.email, PASSWORD, "203.0.113.1").status_code == 429
    assert attempt(alice.email, PASSWORD, "198.51.100.30").status_code == 429  # a new place

    at_the_office = client_sign_in(Client(), alice, REMOTE_ADDR="192.0.2.10")

    assert signed_in(at_the_office)


def test_failures_from_two_addresses_do_not_lock_staff_out_of_the_admin(root, axes_clock) -> None:
    client = Client()
    client_sign_in(client, root, REMOTE_ADDR="192.0.2.11")
    client.post("/accounts/logout/", REMOTE_ADDR="192.0.2.11")
    for address in ("203.0.113.1", "203.0.113.2"):
        for _ in range(5):
            attempt(root.email, WRONG, address)

    client.post(
        LOGIN + "?next=/admin/",
        {"login": root.email, "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR="192.0.2.11",
    )
    done = client.post(SECOND_FACTOR_URL, {"code": totp_code(root)}, REMOTE_ADDR="192.0.2.11")

    assert done["Location"] == "/admin/"
    assert client.get("/admin/", REMOTE_ADDR="192.0.2.11").status_code == 200


def test_an_address_counts_as_known_only_after_the_second_factor(alice, axes_clock) -> None:
    # The right password from an address, without the code, does not make it "hers".
    attempt(alice.email, PASSWORD, "192.0.2.12")
    for address in ("203.0.113.1", "203.0.113.2"):
        for _ in range(5):
            attempt(alice.email, WRONG, address)

    assert attempt(alice.email, PASSWORD, "192.0.2.12").status_code == 429


def test_wrong_codes_count_as_failures(alice, axes_clock) -> None:
    client = Client()
    assert password_accepted(attempt(alice.email, PASSWORD, "198.51.100.8", client))
    statuses = [
        client.post(SECOND_FACTOR_URL, {"code": "000000"}, REMOTE_ADDR="198.51.100.8").status_code
        for _ in range(5)
    ]

    right_code = client.post(
        SECOND_FACTOR_URL, {"code": totp_code(alice)}, REMOTE_ADDR="198.51.100.8"
    )

    assert statuses == [200, 200, 200, 200, 429]
    assert right_code.status_code == 429
    assert "_auth_user_id" not in client.session
    assert attempt(alice.email, PASSWORD, "198.51.100.8").status_code == 429


def test_a_completed_password_reset_unlocks_the_account(alice, axes_clock) -> None:
    for address in ("203.0.113.1", "203.0.113.2"):
        for _ in range(5):
            attempt(alice.email, WRONG, address)
    assert attempt(alice.email, PASSWORD, "198.51.100.40").status_code == 429
    client = Client()
    form_url = client.get(_reset_link(alice.email), follow=True).redirect_chain[-1][0]
    new_password = "violet-otter-harbour-91"

    client.post(form_url, {"new_password1": new_password, "new_password2": new_password})

    assert password_accepted(attempt(alice.email, new_password, "198.51.100.40"))
    assert password_accepted(attempt(alice.email, new_password, "203.0.113.1"))


def test_asking_for_a_reset_alone_does_not_unlock(alice, axes_clock) -> None:
    for _ in range(5):
        attempt(alice.email, WRONG, "198.51.100.7")

    _reset(alice.email)

    assert attempt(alice.email, PASSWORD, "198.51.100.7").status_code == 429


# --- sessions --------------------------------------------------------------------------------------


def test_signing_in_gives_a_new_session_key(alice) -> None:
    client = Client()
    # A session planted before sign-in (session fixation) must not become the signed-in one.
    before = client.session
    before["planted"] = True
    before.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = before.session_key

    response = client_sign_in(client, alice, REMOTE_ADDR="192.0.2.1")

    assert signed_in(response)
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before.session_key
    assert not before.exists(before.session_key)


def test_signing_out_invalidates_the_session(alice) -> None:
    client = Client()
    client_sign_in(client, alice, REMOTE_ADDR="192.0.2.1")
    old_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get("/").status_code == 200

    response = client.post("/accounts/logout/")
    assert response.status_code == 302

    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    page = replay.get("/")
    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/login/")


def test_signing_out_rejects_get(alice, login) -> None:
    client = login(alice)

    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/").status_code == 200


def test_the_session_cookie_is_http_only_and_same_site(alice) -> None:
    client = Client()
    client_sign_in(client, alice, REMOTE_ADDR="192.0.2.1")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]

    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == settings.SESSION_COOKIE_AGE


# --- password reset and password rules ----------------------------------------------------------


def _reset(email: str):
    return Client().post("/accounts/password-reset/", {"email": email}, follow=True)


def test_password_reset_reveals_nothing_about_which_emails_exist(alice) -> None:
    known = _reset(alice.email)
    unknown = _reset("nobody@contoso.example")

    assert known.status_code == unknown.status_code == 200
    assert (
        known.redirect_chain == unknown.redirect_chain == [("/accounts/password-reset/sent/", 302)]
    )

    def page(response) -> str:  # the page, less the per-request CSRF token
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())

    assert page(known) == page(unknown)
    assert [message.to for message in mail.outbox] == [[alice.email]]


def _reset_link(email: str) -> str:
    mail.outbox.clear()
    _reset(email)
    (message,) = mail.outbox
    return re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)


@pytest.mark.parametrize(
    "weak",
    ["short1!", "password123", "1234567890123", "alice@contoso.example"],
    ids=["too-short", "common", "only-digits", "like-the-email"],
)
def test_a_new_password_must_pass_the_rules(alice, weak: str) -> None:
    client = Client()
    form_url = client.get(_reset_link(alice.email), follow=True).redirect_chain[-1][0]

    response = client.post(form_url, {"new_password1": weak, "new_password2": weak})

    assert response.status_code == 200
    assert b"errorlist" in response.content
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_strong_new_password_is_accepted(alice) -> None:
    client = Client()
    form_url = client.get(_reset_link(alice.email), follow=True).redirect_chain[-1][0]
    strong = "violet-otter-harbour-91"

    response = client.post(form_url, {"new_password1": strong, "new_password2": strong})

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(strong)


def test_an_inactive_account_cannot_sign_in(alice) -> None:
    User.objects.filter(pk=alice.pk).update(is_active=False)

    response = attempt(alice.email, PASSWORD, "192.0.2.1")

    assert response.status_code == 200
    assert "_auth_user_id" not in response.client.session
