"""Asking for a password reset: the same answer for every address, a link on SITE_URL whatever
the Host header, in the person's language, and limits per address asked for and per client."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client

URL = "/accounts/password-reset/"
LIMITED = "Too many password reset requests for now. Try again later."


def _ask(email: str, **extra):
    return Client().post(URL, {"email": email}, **extra)


def test_it_sends_the_link_to_an_account(alice):
    response = _ask(alice.email)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password-reset/sent/"
    (message,) = mail.outbox
    assert message.to == [alice.email]
    assert "/accounts/reset/" in message.body


def test_the_link_follows_site_url_never_the_host_header(alice, settings):
    # Issue 13: "Host: localhost" gave a localhost link; an attacker's host would get the token.
    settings.SITE_URL = "https://portal.example.com"

    _ask(alice.email, HTTP_HOST="localhost")

    (message,) = mail.outbox
    links = re.findall(
        r"https?://[^/\s\"]+/accounts/reset/", message.body + message.alternatives[0][0]
    )
    assert links and set(links) == {"https://portal.example.com/accounts/reset/"}


def test_it_is_in_the_language_of_the_page_for_someone_without_one(alice):
    _ask(alice.email, HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")

    assert mail.outbox[0].subject == "Restablece tu contraseña de Partner Portal"


def test_an_unknown_address_gets_the_same_answer_and_no_email(db):
    response = _ask("nobody@contoso.example")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_resets_to_one_address_are_limited(alice, settings):
    # Issue 13: twenty resets to one person, from our own sender.
    settings.RATE_LIMIT_PASSWORD_RESET_PER_RECIPIENT = "3/h"

    answers = [_ask(alice.email, REMOTE_ADDR=f"192.0.2.{n}") for n in range(1, 21)]

    assert [a.status_code for a in answers[:3]] == [302, 302, 302]
    assert {a.status_code for a in answers[3:]} == {200}
    assert LIMITED in answers[-1].content.decode()
    assert len(mail.outbox) == 3


def test_the_limit_says_the_same_for_an_address_without_an_account(alice, settings):
    settings.RATE_LIMIT_PASSWORD_RESET_PER_RECIPIENT = "1/h"

    def limited_page(email: str) -> str:
        _ask(email)
        page = _ask(email).content.decode().replace(email, "EMAIL")
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)

    assert limited_page(alice.email) == limited_page("nobody@contoso.example")
    assert LIMITED in limited_page("someone@contoso.example")


def test_resets_from_one_client_address_are_limited(alice, settings):
    settings.RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS = "5/h"

    answers = [_ask(f"person-{n}@example.org", REMOTE_ADDR="203.0.113.9") for n in range(5)]
    refused = _ask(alice.email, REMOTE_ADDR="203.0.113.9")
    elsewhere = _ask(alice.email, REMOTE_ADDR="203.0.113.10")

    assert {a.status_code for a in answers} == {302}
    assert refused.status_code == 200
    assert LIMITED in refused.content.decode()
    assert elsewhere.status_code == 302
    assert len(mail.outbox) == 1


def test_sign_in_emails_to_one_address_are_capped_whoever_asks(alice, settings):
    # The worker's backstop: reset and invitation links one address gets, from anywhere.
    settings.RATE_LIMIT_SIGN_IN_EMAILS_PER_RECIPIENT = "2/d"

    for n in range(1, 5):
        _ask(alice.email, REMOTE_ADDR=f"192.0.2.{n}")

    assert len(mail.outbox) == 2


def test_a_malformed_address_is_explained(db):
    response = _ask("not-an-address")

    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert mail.outbox == []


def test_it_rejects_other_methods(db):
    assert Client().put(URL).status_code == 405
