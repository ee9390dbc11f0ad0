"""The invitation link of a newcomer: chooses a password once, within INVITATION_VALID_DAYS, and
joins with the invitation's roles; then it says why not."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import Client

from core import clock
from membership.invitations import invitation_resend, user_invite
from membership.models import AuditEvent, Membership, Role, User
from tests.membership.team_helpers import invitation_token
from tests.plugins.people import membership_of

SENT = dt.datetime(2026, 5, 4, 9, 30, tzinfo=dt.UTC)
NEW_PASSWORD = "plum-orchard-bicycle-42"


def _invite(organization, actor, **kwargs) -> str:
    """Invite Dana; the token of the link the worker emailed."""
    mail.outbox.clear()
    user_invite(
        organization=organization,
        email="dana@contoso.example",
        full_name=kwargs.pop("full_name", "Dana Newcomer"),
        roles=kwargs.pop("roles", {Role.BILLING_ADMIN}),
        actor=actor,
        **kwargs,
    )
    return invitation_token(mail.outbox[-1])


@pytest.fixture
def token(contoso, alice):
    with clock.frozen_at(SENT):
        return _invite(contoso, alice)


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


def test_it_sets_the_password_joins_and_signs_in(client, contoso, token):
    with clock.frozen_at(SENT + dt.timedelta(days=1)):
        response = _accept(client, token)

    assert response.status_code == 302
    assert response.url == "/"
    dana = User.objects.get(email="dana@contoso.example")
    assert dana.check_password(NEW_PASSWORD)
    assert membership_of(dana, contoso).role_set == {Role.BILLING_ADMIN}
    assert dana.last_organization == contoso
    assert AuditEvent.objects.filter(action=AuditEvent.Action.USER_ADDED, actor=dana).exists()
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
    assert not Membership.objects.filter(user__email="dana@contoso.example").exists()


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
    assert not Membership.objects.filter(user__email="dana@contoso.example").exists()


def test_a_new_link_replaces_the_old_one(client, contoso, alice, token):
    invitation = User.objects.get(email="dana@contoso.example").invitations.get()
    with clock.frozen_at(SENT + dt.timedelta(days=10)):
        mail.outbox.clear()
        invitation_resend(invitation=invitation, actor=alice)
        new_token = invitation_token(mail.outbox[-1])
        assert client.get(f"/invitations/{token}/").status_code == 404
        assert _accept(client, new_token).status_code == 302


def test_another_organizations_link_never_sets_the_password_again(client, fabrikam, charlie, token):
    # Dana was also invited to Fabrikam. Once she has a password, that link asks her to sign
    # in and accept: it must never set a password she has chosen.
    with clock.frozen_at(SENT):
        fabrikam_token = _invite(fabrikam, charlie, roles=set())
    with clock.frozen_at(SENT + dt.timedelta(days=1)):
        _accept(client, token)
        page = Client().get(f"/invitations/{fabrikam_token}/")
        second = _accept(Client(), fabrikam_token)

    assert b"Sign in to answer" in page.content
    assert b"new_password1" not in page.content
    assert second.status_code == 200  # the same sign-in page: the form was not taken
    assert User.objects.get(email="dana@contoso.example").check_password(NEW_PASSWORD)
    assert Membership.objects.filter(user__email="dana@contoso.example").count() == 1


def test_it_takes_only_get_and_post(client, token):
    assert client.put(f"/invitations/{token}/").status_code == 405
    assert client.delete(f"/invitations/{token}/").status_code == 405
    assert not Membership.objects.filter(user__email="dana@contoso.example").exists()
