"""Inviting a person: an invitation they accept, whether or not the address has an account;
nothing changes for them until they do. The worker makes the link and emails it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from core import clock
from membership.invitations import invitation_token_hash, user_invite
from membership.models import AuditEvent, Invitation, Membership, Role, User
from tests.membership.team_helpers import invitation_link, invitation_token


def _invite(
    organization, actor, email="dana@contoso.example", roles=frozenset({Role.BILLING_ADMIN}), **kw
):
    return user_invite(
        organization=organization,
        email=email,
        full_name="Dana Newcomer",
        roles=roles,
        actor=actor,
        **kw,
    )


def test_it_invites_a_newcomer_and_emails_a_one_time_link(contoso, alice, mailoutbox):
    invitation = _invite(contoso, alice)

    dana = User.objects.get(email="dana@contoso.example")
    assert not dana.has_usable_password()
    assert invitation.roles == [Role.BILLING_ADMIN]
    # Not a member before accepting.
    assert not Membership.objects.filter(user=dana).exists()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["dana@contoso.example"]
    assert "Contoso Ltd" in mailoutbox[0].subject
    assert "Choose your password" in mailoutbox[0].body


def test_it_stores_only_a_hash_of_the_token(contoso, alice, mailoutbox):
    _invite(contoso, alice)

    token = invitation_token(mailoutbox[0])
    invitation = Invitation.objects.get(user__email="dana@contoso.example")
    assert invitation.token_hash == invitation_token_hash(token)
    assert token not in invitation.token_hash


def test_the_link_is_valid_for_the_configured_days(contoso, alice, settings):
    settings.INVITATION_VALID_DAYS = 7
    sent = dt.datetime(2026, 5, 4, 9, 30, tzinfo=dt.UTC)
    with clock.frozen_at(sent):
        _invite(contoso, alice)

    invitation = Invitation.objects.get(user__email="dana@contoso.example")
    assert invitation.expires_at == dt.datetime(2026, 5, 11, 9, 30, tzinfo=dt.UTC)


def test_an_existing_account_is_invited_and_nothing_changes_for_it(
    contoso, alice, charlie, mailoutbox
):
    # Issue 13: charlie (Fabrikam's Global admin) was made a member of Contoso with no consent.
    invitation = _invite(
        contoso, alice, email="Charlie@Fabrikam.example", roles={Role.GLOBAL_ADMIN}
    )

    assert invitation.user == charlie
    assert User.objects.filter(email__iexact="charlie@fabrikam.example").count() == 1
    assert not Membership.objects.filter(organization=contoso, user=charlie).exists()
    charlie.refresh_from_db()
    assert charlie.full_name == "Charlie Outsider"  # the name typed is the invitation's only
    assert len(mailoutbox) == 1
    assert "/invitations/" in invitation_link(mailoutbox[0])
    assert "sign in" in mailoutbox[0].body


def test_a_staff_account_gets_no_email_and_cannot_join(contoso, alice, root, mailoutbox):
    # Issue 13: root@partnerportal.example could be made a Global admin of a partner.
    invitation = _invite(contoso, alice, email=root.email, roles={Role.GLOBAL_ADMIN})

    assert invitation.user == root
    assert mailoutbox == []
    assert invitation.token_hash is None  # no link exists
    assert not Membership.objects.filter(user=root).exists()


def test_someone_who_never_set_a_password_gets_the_newcomers_link(
    contoso, fabrikam, alice, charlie, mailoutbox
):
    # Invited to Fabrikam but never accepted: an account that cannot sign in yet.
    user_invite(
        organization=fabrikam,
        email="dana@contoso.example",
        full_name="Dana",
        roles=set(),
        actor=charlie,
    )
    mailoutbox.clear()

    _invite(contoso, alice)

    assert "Choose your password" in mailoutbox[0].body


def test_a_member_cannot_be_invited_again(contoso, alice, bob):
    with pytest.raises(ValidationError, match="already a user"):
        _invite(contoso, alice, email="bob@contoso.example")


def test_a_new_invitation_replaces_the_open_one(contoso, alice, mailoutbox):
    _invite(contoso, alice, roles={Role.BILLING_ADMIN})
    first = invitation_token(mailoutbox[0])

    _invite(contoso, alice, roles={Role.ACCOUNT_ADMIN})

    (invitation,) = Invitation.objects.filter(user__email="dana@contoso.example")
    assert invitation.roles == [Role.ACCOUNT_ADMIN]
    assert invitation.token_hash != invitation_token_hash(first)


def test_it_records_who_invited_whom_with_which_roles(contoso, alice):
    _invite(contoso, alice)

    event = AuditEvent.objects.get(action=AuditEvent.Action.USER_INVITED)
    assert event.organization == contoso
    assert event.actor == alice
    assert event.target == "dana@contoso.example"
    assert event.detail["roles"] == [Role.BILLING_ADMIN]


def test_the_email_goes_out_in_the_inviters_language(contoso, alice, mailoutbox):
    # Issue 19: the invited person has no language yet; the inviter's is the best guess.
    _invite(contoso, alice, language="es")

    assert mailoutbox[0].subject == "Te han invitado a unirte a Contoso Ltd en Partner Portal"
    assert "Elige tu contraseña" in mailoutbox[0].body


def test_a_person_with_a_language_reads_it_in_theirs(contoso, alice, charlie, mailoutbox):
    charlie.language = "en"
    charlie.save(update_fields=["language"])

    _invite(contoso, alice, email=charlie.email, language="es")

    assert "invited you to join Contoso Ltd" in mailoutbox[0].body


def test_names_in_the_email_are_never_links(contoso, alice, mailoutbox):
    # Names stored before the rule (no_links) may still hold an address: shown, not linkable.
    contoso.name = "Contoso verify at evil.example/login"
    contoso.save(update_fields=["name"])
    alice.full_name = "Alice https://evil.example"
    alice.save(update_fields=["full_name"])

    _invite(contoso, alice)

    message = mailoutbox[0]
    html = message.alternatives[0][0]
    for text in (message.subject, message.body, html):
        assert "evil.example" not in text
        assert "evil.\u200bexample" in text
    assert 'href="https://evil' not in html
