"""No card data, passwords or secrets in the logs, whatever a request carries.

The logs are what the configured JSON handler writes (tests/core/logs.py), captured
while people sign in, fail to sign in, and send requests full of card numbers and keys.
"""

from __future__ import annotations

import logging
import re

import pytest
from django.test import Client

from core.logging import redact
from tests.core.logs import captured_log
from tests.plugins.people import PASSWORD

CARD = "4242424242424242"
CARD_SPACED = "4000 0025 0000 3155"
SECRET_KEY = "sk_live_51HsecretKEYvalue0123456789"
WEBHOOK_SECRET = "whsec_0123456789abcdefSECRET"
CLIENT_SECRET = "pi_3Nabc123_secret_XyZ987"
WRONG_PASSWORD = "hunter2-Wrong-Password"

NEVER_LOGGED = [
    CARD,
    CARD_SPACED,
    SECRET_KEY,
    WEBHOOK_SECRET,
    CLIENT_SECRET,
    PASSWORD,
    WRONG_PASSWORD,
    "0025 0000",  # a fragment of the spaced card
    "secretKEYvalue",
]


def assert_clean(text: str) -> None:
    leaked = [secret for secret in NEVER_LOGGED if secret in text]
    assert not leaked, f"found in the logs: {leaked}\n{text}"


@pytest.fixture
def logs():
    with captured_log() as log:
        yield log


def test_signing_in_and_failing_logs_no_password(alice, logs) -> None:
    client = Client()
    for _ in range(5):  # up to the lockout: axes logs each failure
        client.post("/accounts/login/", {"login": alice.email, "password": WRONG_PASSWORD})
    Client().post("/accounts/login/", {"login": "bob@x.example", "password": PASSWORD})
    Client().post(
        "/accounts/login/", {"login": alice.email, "password": PASSWORD}, REMOTE_ADDR="192.0.2.9"
    )

    assert len(logs.of("partnerportal.request")) == 7
    assert_clean(logs.text)


def test_requests_carrying_card_numbers_and_keys_log_none_of_them(alice, login, logs) -> None:
    client = login(alice)
    body = {
        "card_number": CARD,
        "number": CARD_SPACED,
        "cvc": "123",
        "api_key": SECRET_KEY,
        "note": f"my card is {CARD} and key {SECRET_KEY}",
    }
    client.post("/", body)  # the dashboard refuses POST: logged as 405
    client.post(f"/no-such-page/{CARD}/", body)  # "Not Found: <path>" is logged
    client.get(f"/no-such-page/{SECRET_KEY}/", {"card": CARD_SPACED, "secret": WEBHOOK_SECRET})
    client.get(f"/no-such-page/{CLIENT_SECRET}/")
    client.post(
        "/healthz",
        data=f'{{"card": "{CARD}", "client_secret": "{CLIENT_SECRET}"}}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {SECRET_KEY}",
    )

    assert len(logs.of("partnerportal.request")) == 5
    assert any(line["status"] == 404 for line in logs.of("partnerportal.request"))
    assert_clean(logs.text)


def test_code_that_logs_card_data_by_mistake_is_redacted(logs) -> None:
    logger = logging.getLogger("billing.example")
    logger.warning("charge failed for card %s with key %s", CARD, SECRET_KEY)
    logger.info("form data %r", {"password": [PASSWORD], "number": CARD_SPACED})
    logger.info("query password=%s&secret=%s", WRONG_PASSWORD, WEBHOOK_SECRET)
    try:
        raise ValueError(f"Stripe said no to {CARD} / {CLIENT_SECRET}")
    except ValueError:
        logger.exception("payment error")

    assert len(logs.records) == 4
    assert "exception" in logs.records[-1]
    assert_clean(logs.text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"card {CARD} ok", "card [card] ok"),
        ("card 4242-4242-4242-4242 ok", "card [card] ok"),
        ("card 4242 4242 4242 4242 ok", "card [card] ok"),
        (f"charged {CARD}.", "charged [card]."),
        (f"key={SECRET_KEY}", "key=[secret]"),
        ("rk_test_abc123 and whsec_abc", "[secret] and [secret]"),
        ("password=abc&next=/", "password=[redacted]&next=/"),
        ("{'new_password1': ['s3cret!']}", "{'new_password1': ['[redacted]']}"),
        ('{"cvc": "123"}', '{"cvc": "[redacted]"}'),
        # One-time tokens in paths, and query strings (issue 13: links were logged in clear).
        ("GET /invitations/Zk3_-abc/ 200", "GET /invitations/[token]/ 200"),
        ("Not Found: /invitations/Zk3/x", "Not Found: /invitations/[token]/x"),
        ("/accounts/reset/MQ/c4x-9f8e/", "/accounts/reset/[token]/[token]/"),
        ("/accounts/reset/MQ/set-password/", "/accounts/reset/[token]/[token]/"),
        ("/accounts/reset/done/", "/accounts/reset/done/"),
        ("/accounts/password/reset/key/1-abc/", "/accounts/password/reset/key/[token]/"),
        ("/accounts/confirm-email/Zk3/", "/accounts/confirm-email/[token]/"),
        ("/accounts/login/?next=/invitations/Zk3/", "/accounts/login/?[redacted]"),
        ("https://portal.example/a/?key=Zk3 then", "https://portal.example/a/?[redacted] then"),
        ("and/or? yes", "and/or? yes"),
        # Ordinary numbers stay readable: order and partner ids, amounts, dates.
        (
            "order 1000001 of 47500 cents on 2026-02-28",
            "order 1000001 of 47500 cents on 2026-02-28",
        ),
        ("SR-0000123", "SR-0000123"),
        # A runtime is not a card number, however many decimals it has.
        ("took 0.12345678901234s", "took 0.12345678901234s"),
        (f"took 0.12345678901234s for {CARD}", "took 0.12345678901234s for [card]"),
        # Task ids (UUIDs) are left alone, even when a run of their digits is card-long.
        (
            "renewals_charge[12345678-1234-5678-9e9c-0123456789ab] succeeded",
            "renewals_charge[12345678-1234-5678-9e9c-0123456789ab] succeeded",
        ),
        (
            "task 42424242-4242-4242-4242-424242424242 received",
            "task 42424242-4242-4242-4242-424242424242 received",
        ),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_one_time_tokens_never_reach_the_logs(contoso, alice, charlie, logs) -> None:
    # Issue 13: /invitations/<token>/ and /accounts/reset/<uid>/<token>/ were logged in clear.
    from django.core import mail

    from membership.invitations import user_invite
    from membership.models import Role
    from tests.membership.team_helpers import invitation_path

    links = []
    for email in ("dana@contoso.example", charlie.email):
        user_invite(
            organization=contoso,
            email=email,
            full_name="X",
            roles={Role.BILLING_ADMIN},
            actor=alice,
        )
        links.append(invitation_path(mail.outbox[-1]))
    newcomer, existing = links
    Client().post("/accounts/password-reset/", {"email": alice.email})
    reset = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[-1].body).group(1)
    tokens = [link.strip("/").split("/")[-1] for link in links] + reset.strip("/").split("/")[-2:]

    visitor = Client()
    visitor.get(newcomer)  # the set-password page
    visitor.get(newcomer + "not-a-page/")  # Django logs "Not Found: <path>"
    visitor.get(existing)  # "Sign in to answer"
    visitor.get(f"/accounts/login/?next={existing}")  # the token in a query string
    visitor.post(newcomer, {"new_password1": "plum-orchard-42", "new_password2": "plum-orchard-42"})
    Client().get(newcomer)  # used: "Gone" is logged with the path
    resetting = Client()
    form = resetting.get(reset, follow=True).redirect_chain[-1][0]
    resetting.post(form, {"new_password1": "violet-otter-91", "new_password2": "violet-otter-91"})

    assert len(logs.of("partnerportal.request")) >= 8
    leaked = [token for token in tokens if token in logs.text]
    assert leaked == [], f"tokens in the logs: {leaked}\n{logs.text}"
    assert "/invitations/[token]/" in logs.text
    assert "/accounts/reset/[token]/[token]/" in logs.text
