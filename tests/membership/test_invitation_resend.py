"""User management > Send a new link: a fresh link, the old one stops working; limited."""

from __future__ import annotations

from django.core import mail

from membership.invitations import invitation_token_hash
from membership.models import AuditEvent, Invitation
from tests.membership.team_helpers import invitation_token


def _url(invitation: Invitation) -> str:
    return f"/account/users/invitations/{invitation.pk}/resend/"


def test_it_sends_a_new_link_and_the_old_one_stops_working(login, alice, invitation):
    old = invitation_token(mail.outbox[-1])
    mail.outbox.clear()

    response = login(alice).post(_url(invitation), follow=True)

    assert "A new invitation link was sent to dana@contoso.example." in response.content.decode()
    new = invitation_token(mail.outbox[-1])
    invitation.refresh_from_db()
    assert invitation.token_hash == invitation_token_hash(new) != invitation_token_hash(old)
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.USER_INVITED, detail__invitation_resent=True
    ).exists()


def test_resends_to_one_address_are_limited(login, alice, invitation, settings):
    # Issue 13: an invitation plus ten resends to an outside address, from our own sender.
    settings.RATE_LIMIT_INVITATIONS_PER_RECIPIENT = "3/d"  # the first invitation counted one
    client = login(alice)
    mail.outbox.clear()

    answers = [client.post(_url(invitation), follow=True).content.decode() for _ in range(10)]

    assert len(mail.outbox) == 2
    assert all("Too many invitations were sent to dana@contoso.example" in a for a in answers[2:])


def test_it_rejects_get(login, alice, invitation):
    assert login(alice).get(_url(invitation)).status_code == 405


def test_another_organizations_invitation_is_not_found(login, charlie, invitation):
    mail.outbox.clear()

    assert login(charlie).post(_url(invitation)).status_code == 404
    assert mail.outbox == []


def test_it_requires_the_global_admin_role(login, bob, bea, axel, victor, invitation):
    mail.outbox.clear()

    for person in (bob, bea, axel, victor):
        assert login(person).post(_url(invitation)).status_code == 403
    assert mail.outbox == []
