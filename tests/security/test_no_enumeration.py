"""No enumeration by time: the reset, invitation and sign-in pages answer in the same time
whether or not an address has an account (issue 13).

Before, a reset for an existing address took 250–650 ms (the email was sent in the request)
against 20–30 ms for an unknown one. Here the mail server is as slow as that (300 ms a
message), and the tasks go to a real broker (Redis, or the in-memory one without it) as in
production: each page only queues, and a worker — not started here — would decide and send.
Each comparison interleaves the two paths and compares medians, with a generous bound.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator

import pytest
from django.core import mail
from django.test import Client

from partnerportal.celery import app
from tests.core.smtp_sink import smtp_sink
from tests.plugins.people import client_for
from tests.plugins.services import private_queue

ROUNDS = 25
SLOW_MAIL_SERVER = 0.3  # seconds a message, like the provider of issue 13
# Generous: a tenth of the slow mail server's delay, on a busy machine.
BOUND = SLOW_MAIL_SERVER / 10


@pytest.fixture
def production_like(settings) -> Iterator[None]:
    """Email through SMTP to a slow server, tasks to the broker; limits out of the way."""
    with smtp_sink(delay=SLOW_MAIL_SERVER) as sink, private_queue() as queue:
        settings.EMAIL_TASKS_EAGER = False
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        for name in (
            "RATE_LIMIT_PASSWORD_RESET_PER_RECIPIENT",
            "RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS",
            "RATE_LIMIT_INVITATIONS_PER_ORGANIZATION",
            "RATE_LIMIT_INVITATIONS_PER_ACTOR",
            "RATE_LIMIT_INVITATIONS_PER_RECIPIENT",
        ):
            setattr(settings, name, "100000/h")
        try:
            yield
        finally:
            assert sink.messages == [], "a page sent an email itself"
            with app.connection_for_write() as connection:
                connection.default_channel._purge(queue)


def medians(paths: dict[str, Callable[[int], object]]) -> dict[str, float]:
    """Each path ``ROUNDS`` times, interleaved (so load on the machine hits both alike)."""
    durations: dict[str, list[float]] = {name: [] for name in paths}
    for round_number in range(ROUNDS + 2):
        for name, path in paths.items():
            started = time.perf_counter()
            path(round_number)
            if round_number >= 2:  # the first rounds warm caches and connections up
                durations[name].append(time.perf_counter() - started)
    found = {name: statistics.median(values) for name, values in durations.items()}
    print({name: f"{value * 1000:.1f} ms" for name, value in found.items()})
    return found


def assert_same_time(found: dict[str, float]) -> None:
    spread = max(found.values()) - min(found.values())
    assert spread < BOUND, f"medians differ by {spread * 1000:.1f} ms: {found}"


def test_a_reset_answers_in_the_same_time_for_every_address(production_like, alice) -> None:
    def reset(email: str) -> Callable[[int], object]:
        def ask(_round: int) -> None:
            response = Client().post("/accounts/password-reset/", {"email": email})
            assert response.status_code == 302

        return ask

    found = medians({"account": reset(alice.email), "no account": reset("nobody@contoso.example")})

    assert_same_time(found)
    assert mail.outbox == []


def test_an_invitation_answers_in_the_same_time_for_every_address(
    production_like, alice, charlie, root
) -> None:
    client = client_for(alice)

    def invite(email: Callable[[int], str]) -> Callable[[int], object]:
        def post(round_number: int) -> None:
            data = {"email": email(round_number), "full_name": "Someone", "roles": []}
            assert client.post("/account/users/add/", data).status_code == 302

        return post

    found = medians(
        {
            "new address": invite(lambda n: f"new-{n}@example.org"),
            "another organization's admin": invite(lambda n: charlie.email),
            "staff": invite(lambda n: root.email),
        }
    )

    assert_same_time(found)


def test_signing_in_fails_in_the_same_time_for_every_address(settings, alice) -> None:
    # Many failures from many addresses: the lockout would otherwise answer first.
    settings.SIGN_IN_LOCKOUT = [
        (("username", "ip_address"), 1000),
        (("username",), 1000),
        (("ip_address",), 1000),
    ]
    settings.AXES_FAILURE_LIMIT = 1000

    def sign_in(email: str) -> Callable[[int], object]:
        def post(round_number: int) -> None:
            response = Client().post(
                "/accounts/login/",
                {"login": email, "password": "not-the-password-1"},
                REMOTE_ADDR=f"198.51.100.{round_number + 1}",
            )
            assert response.status_code == 200

        return post

    found = medians({"account": sign_in(alice.email), "no account": sign_in("nobody@x.example")})

    assert_same_time(found)
