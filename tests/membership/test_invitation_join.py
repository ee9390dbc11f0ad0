"""An invitation to someone who already has an account: they sign in (second factor included)
and accept or decline; nothing changes for them until they do (issue 13)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from membership.invitations import invitation_token_hash, user_invite
from membership.models import AuditEvent, Invitation, Membership, Role
from tests.membership.team_helpers import invitation_path
from tests.plugins.people import client_sign_in, membership_of, second_factor_checked


@pytest.fixture
def link(contoso, alice, charlie) -> str:
    """Alice invites Fabrikam's charlie to Contoso as Global admin: the path of the emailed link."""
    mail.outbox.clear()
    user_invite(
        organization=contoso,
        email=charlie.email,
        full_name="Charlie",
        roles={Role.GLOBAL_ADMIN},
        actor=alice,
    )
    return invitation_path(mail.outbox[-1])


def _is_member(user, organization) -> bool:
    return Membership.objects.filter(user=user, organization=organization).exists()


def test_signed_out_it_asks_to_sign_in_and_changes_nothing(client, contoso, charlie, link):
    response = client.get(link)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Join Contoso Ltd?" in page
    assert "Sign in to answer" in page
    assert f"/accounts/login/?next={link}" in page
    assert "new_password1" not in page
    assert not _is_member(charlie, contoso)


def test_signing_in_with_the_second_factor_brings_the_person_back(
    client, contoso, fabrikam, charlie, link
):
    response = client_sign_in(client, charlie)  # password, then the authenticator code

    # Where they work is their own organization, not the one that invited them.
    assert client.get("/").context["current_organization"] == fabrikam
    page = client.get(link)
    assert page.status_code == 200
    assert b"Join Contoso Ltd" in page.content
    assert response.status_code == 302
    assert not _is_member(charlie, contoso)


def test_without_the_second_factor_it_asks_for_it_first(client, charlie, link):
    # A session holding the user but not the factor (a password alone) is sent to the check.
    client.force_login(charlie)

    response = client.get(link)

    assert response.status_code == 302
    assert response["Location"].startswith("/account/security/reauthenticate/")


def test_joining_makes_them_a_member_with_the_roles(login, contoso, charlie, link):
    client = login(charlie)

    response = client.post(link, {"answer": "join"}, follow=True)

    assert membership_of(charlie, contoso).role_set == {Role.GLOBAL_ADMIN}
    assert "You joined Contoso Ltd." in response.content.decode()
    assert response.context["current_organization"] == contoso
    charlie.refresh_from_db()
    assert charlie.last_organization == contoso
    event = AuditEvent.objects.get(action=AuditEvent.Action.USER_ADDED, organization=contoso)
    assert event.actor == charlie
    assert event.detail["invited_by"] == "alice@contoso.example"
    assert Invitation.objects.get(user=charlie).used_at is not None


def test_declining_changes_nothing_for_them(login, contoso, charlie, link):
    client = login(charlie)

    response = client.post(link, {"answer": "decline"}, follow=True)

    assert not _is_member(charlie, contoso)
    assert "You declined the invitation to Contoso Ltd. Nothing changed." in (
        response.content.decode()
    )
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.INVITATION_DECLINED, organization=contoso, actor=charlie
    ).exists()
    assert client.get(link).status_code == 410  # answered: the link is spent


def test_an_old_second_factor_check_is_asked_again_before_joining(login, contoso, charlie, link):
    client = login(charlie)
    second_factor_checked(client, charlie, minutes_ago=16)

    response = client.post(link, {"answer": "join"}, HTTP_REFERER=f"http://testserver{link}")

    assert response.status_code == 302
    assert response["Location"].startswith("/account/security/reauthenticate/")
    assert not _is_member(charlie, contoso)


def test_someone_else_signed_in_cannot_answer_it(login, contoso, alice, bob, charlie, link):
    # bob has the link (a forwarded email): it is charlie's invitation, not his.
    client = login(bob)

    page = client.get(link)
    answer = client.post(link, {"answer": "join"})

    assert page.status_code == 403
    assert b"not for the account you are signed in with" in page.content
    assert answer.status_code == 403
    assert not _is_member(charlie, contoso)
    assert membership_of(bob, contoso).role_set == {Role.MPN_PARTNER_ADMIN}


def test_a_garbage_answer_changes_nothing(login, contoso, charlie, link):
    client = login(charlie)

    response = client.post(link, {"answer": "sure-why-not"})

    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert not _is_member(charlie, contoso)


def test_a_staff_account_cannot_join_even_with_a_link(client, contoso, alice, root):
    invitation = user_invite(
        organization=contoso,
        email=root.email,
        full_name="Root",
        roles={Role.GLOBAL_ADMIN},
        actor=alice,
    )
    # No email was sent, so no link exists; even a forged one would be refused.
    Invitation.objects.filter(pk=invitation.pk).update(token_hash=invitation_token_hash("forged"))

    response = Client().get("/invitations/forged/")

    assert response.status_code == 403
    assert b"Staff accounts cannot join" in response.content
    assert not Membership.objects.filter(user=root).exists()
