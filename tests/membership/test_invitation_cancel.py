"""User management > Cancel invitation: the link stops working; the team sees who canceled."""

from __future__ import annotations

from django.core import mail
from django.test import Client

from membership.models import AuditEvent, Invitation
from tests.membership.team_helpers import invitation_path


def _url(invitation: Invitation) -> str:
    return f"/account/users/invitations/{invitation.pk}/cancel/"


def test_it_cancels_and_the_link_stops_working(login, alice, invitation):
    link = invitation_path(mail.outbox[-1])

    response = login(alice).post(_url(invitation), follow=True)

    assert "The invitation to dana@contoso.example was canceled" in response.content.decode()
    assert not Invitation.objects.filter(pk=invitation.pk).exists()
    assert Client().get(link).status_code == 404
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.INVITATION_CANCELED, target="dana@contoso.example"
    ).exists()


def test_it_rejects_get(login, alice, invitation):
    assert login(alice).get(_url(invitation)).status_code == 405
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_another_organizations_invitation_is_not_found(login, charlie, invitation):
    assert login(charlie).post(_url(invitation)).status_code == 404
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_it_requires_the_global_admin_role(login, bob, bea, axel, victor, invitation):
    for person in (bob, bea, axel, victor):
        assert login(person).post(_url(invitation)).status_code == 403
    assert Invitation.objects.filter(pk=invitation.pk).exists()
