"""The invitation link: sets a password once, within INVITATION_VALID_DAYS; then it says why not."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from core import clock
from membership.models import Membership, Role, User
from membership.services import invitation_resend, user_invite

SENT = dt.datetime(2026, 5, 4, 9, 30, tzinfo=dt.UTC)
NEW_PASSWORD = "plum-orchard-bicycle-42"


@pytest.fixture
def token(contoso, alice):
    with clock.frozen_at(SENT):
        return user_invite(
            organization=contoso,
            email="dana@contoso.example",
            full_name="Dana Newcomer",
            roles={Role.BILLING_ADMIN},
            actor=alice,
        ).token


def _accept(client: Client, token: str):
    return client.post(
        f"/invitations/{token}/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )


def test_it_shows_the_set_password_form(client, token):
    with clock.frozen_at(SENT + dt.timedelta(days=1)):
        response = client.get(f"/invitations/{token}/")

    assert response.status_code == 200
    assert b"Choose your password" in response.content
    assert b"dana@contoso.example" in response.content


def test_it_sets_the_password_and_signs_in(client, token):
    with clock.frozen_at(SENT + dt.timedelta(days=1)):
        response = _accept(client, token)

    assert response.status_code == 302
    assert response.url == "/"
    dana = User.objects.get(email="dana@contoso.example")
    assert dana.check_password(NEW_PASSWORD)
    # Signed in, and taken to set up a second factor before anything else (docs/sign-in.md).
    assert client.get("/")["Location"] == "/account/security/setup/"


def test_it_is_used_once(client, token):
    with clock.frozen_at(SENT + dt.timedelta(days=1)):
        _accept(client, token)
        second = _accept(Client(), token)

    assert second.status_code == 410
    assert b"already used" in second.content


def test_it_works_until_the_last_moment(client, token, settings):
    settings.INVITATION_VALID_DAYS = 7
    with clock.frozen_at(SENT + dt.timedelta(days=7, seconds=-1)):
        assert _accept(client, token).status_code == 302


def test_it_expires_after_the_configured_days(client, token, settings):
    settings.INVITATION_VALID_DAYS = 7
    with clock.frozen_at(SENT + dt.timedelta(days=7)):
        response = _accept(client, token)

    assert response.status_code == 410
    assert b"expired" in response.content
    assert not User.objects.get(email="dana@contoso.example").has_usable_password()


def test_an_unknown_token_is_not_found(client, token):
    response = client.get("/invitations/not-a-real-token/")

    assert response.status_code == 404
    assert b"not valid" in response.content


def test_a_weak_password_is_refused(client, token):
    with clock.frozen_at(SENT + dt.timedelta(days=1)):
        response = client.post(
            f"/invitations/{token}/", {"new_password1": "12345", "new_password2": "12345"}
        )

    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert not User.objects.get(email="dana@contoso.example").has_usable_password()


def test_a_new_link_replaces_the_old_one(client, contoso, alice, token):
    dana = Membership.objects.get(organization=contoso, user__email="dana@contoso.example")
    with clock.frozen_at(SENT + dt.timedelta(days=10)):
        new_token = invitation_resend(membership=dana, actor=alice)
        assert client.get(f"/invitations/{token}/").status_code == 404
        assert _accept(client, new_token).status_code == 302


def test_accepting_spends_the_links_of_other_organizations_too(client, fabrikam, charlie, token):
    # Dana was also invited to Fabrikam; that second link must not reset her password later.
    fabrikam_token = user_invite(
        organization=fabrikam,
        email="dana@contoso.example",
        full_name="Dana",
        roles=set(),
        actor=charlie,
    ).token
    with clock.frozen_at(SENT + dt.timedelta(days=1)):
        _accept(client, token)
        second = _accept(Client(), fabrikam_token)

    assert second.status_code == 410
    assert User.objects.get(email="dana@contoso.example").check_password(NEW_PASSWORD)
    assert Membership.objects.filter(user__email="dana@contoso.example").count() == 2
