"""Support > Report Partner Center issues."""

from __future__ import annotations

URL = "/support/"


def test_it_offers_a_new_request_and_the_request_list(login, bob, contoso, file_request):
    file_request(bob, contoso)

    page = login(bob).get(URL).content.decode()

    assert "Report Partner Center issues" in page
    assert 'href="/support/new/"' in page
    assert "1 open request." in page


def test_it_tells_a_member_without_a_role_why_they_cannot_file(login, victor, alice):
    page = login(victor).get(URL).content.decode()

    assert "Your role doesn't let you file support requests." in page
    assert 'href="mailto:alice@contoso.example"' in page


def test_it_rejects_post(login, bob):
    assert login(bob).post(URL).status_code == 405


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    assert client.get(URL).url.startswith("/accounts/login/")
