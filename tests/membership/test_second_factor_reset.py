"""Resetting a lost second factor: a Global admin for a member, staff in the admin for a partner.

Either way the person's factors are gone, every session of theirs ends, the reset is audited
and they are emailed in their language; at their next sign-in they set up a new factor.
"""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client

from membership.models import AuditEvent
from tests.plugins.people import PASSWORD, client_sign_in, membership_of
from tests.support.staff import staff_group

SETUP = "/account/security/setup/"


def _reset_url(membership) -> str:
    return f"/account/users/{membership.pk}/reset-second-factor/"


def test_a_global_admin_resets_a_members_second_factor(login, contoso, alice, bob) -> None:
    bobs_session = Client()
    client_sign_in(bobs_session, bob)
    assert bobs_session.get("/").status_code == 200

    response = login(alice).post(_reset_url(membership_of(bob, contoso)), REMOTE_ADDR="192.0.2.5")

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=bob).exists()
    # His open session ended; signing in again leads to setting up a new factor.
    assert bobs_session.get("/")["Location"].startswith("/accounts/login/")
    again = Client()
    again.post("/accounts/login/", {"login": bob.email, "password": PASSWORD})
    assert again.get("/")["Location"] == SETUP


def test_it_is_audited_in_the_organization(login, contoso, alice, bob) -> None:
    login(alice).post(_reset_url(membership_of(bob, contoso)), REMOTE_ADDR="192.0.2.5")

    (event,) = AuditEvent.objects.filter(action=AuditEvent.Action.SECOND_FACTOR_RESET)
    assert (event.organization, event.actor, event.target, event.ip_address) == (
        contoso,
        alice,
        bob.email,
        "192.0.2.5",
    )
    page = login(alice).get("/account/users/").content.decode()
    assert "Second factor reset" in page  # in the team's recent changes


def test_the_person_is_emailed_in_their_language(
    login, contoso, alice, bob, django_capture_on_commit_callbacks
) -> None:
    bob.language = "es"
    bob.save(update_fields=["language"])

    with django_capture_on_commit_callbacks(execute=True):
        login(alice).post(_reset_url(membership_of(bob, contoso)))

    (message,) = mail.outbox
    assert message.to == [bob.email]
    assert message.subject == "Se ha restablecido tu segundo factor de inicio de sesión"
    assert "/accounts/login/" in message.body


def test_the_email_is_in_english_by_default(
    login, contoso, alice, bob, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        login(alice).post(_reset_url(membership_of(bob, contoso)))

    (message,) = mail.outbox
    assert message.subject == "Your second sign-in factor was reset"
    assert "Global admin" in message.body


def test_a_global_admin_cannot_reset_their_own(login, contoso, alice) -> None:
    response = login(alice).post(_reset_url(membership_of(alice, contoso)), follow=True)

    assert "You cannot reset your own second factor" in response.content.decode()
    assert Authenticator.objects.filter(user=alice, type="totp").exists()


def test_it_requires_the_global_admin_role(login, contoso, bob, bea) -> None:
    response = login(bea).post(_reset_url(membership_of(bob, contoso)))

    assert response.status_code == 403
    assert Authenticator.objects.filter(user=bob).exists()


def test_another_organizations_member_is_not_found(login, contoso, bob, charlie) -> None:
    response = login(charlie).post(_reset_url(membership_of(bob, contoso)))

    assert response.status_code == 404
    assert Authenticator.objects.filter(user=bob).exists()


def test_it_rejects_get(login, contoso, alice, bob) -> None:
    assert login(alice).get(_reset_url(membership_of(bob, contoso))).status_code == 405


def test_the_edit_page_offers_the_reset_for_others_only(login, contoso, alice, bob) -> None:
    others = login(alice).get(f"/account/users/{membership_of(bob, contoso).pk}/")
    own = login(alice).get(f"/account/users/{membership_of(alice, contoso).pk}/")

    assert f"Reset the second factor of {bob.email}" in others.content.decode()
    assert "Reset the second factor" not in own.content.decode()


# --- staff, in the admin --------------------------------------------------------------------------


def _agent_with_reset(agent):
    agent.groups.add(staff_group("Support agent"))
    return agent


def test_a_support_agent_resets_a_partners_second_factor(
    login, contoso, agent, bob, django_capture_on_commit_callbacks
) -> None:
    client = login(_agent_with_reset(agent))
    url = f"/admin/membership/user/{bob.pk}/reset-second-factor/"

    confirm = client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)

    assert confirm.status_code == 200
    assert "confirm who is asking" in confirm.content.decode()
    assert response["Location"] == f"/admin/membership/user/{bob.pk}/change/"
    assert not Authenticator.objects.filter(user=bob).exists()
    (event,) = AuditEvent.objects.filter(action=AuditEvent.Action.SECOND_FACTOR_RESET)
    assert (event.organization, event.actor, event.detail["by_staff"]) == (contoso, agent, True)
    (message,) = mail.outbox
    assert "Partner Portal support reset" in message.body


def test_the_user_page_shows_the_reset_button_to_staff_who_may(login, agent, bob) -> None:
    page = login(_agent_with_reset(agent)).get(f"/admin/membership/user/{bob.pk}/change/")

    assert "Reset second factor" in page.content.decode()


def test_staff_without_the_permission_cannot_reset(login, agent, bob) -> None:
    # A staff account outside the support groups.
    response = login(agent).post(f"/admin/membership/user/{bob.pk}/reset-second-factor/")

    assert response.status_code == 403
    assert Authenticator.objects.filter(user=bob).exists()
