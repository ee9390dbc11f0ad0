"""Adding a person: a one-time set-password link for newcomers, a notice for existing accounts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from core import clock
from membership.models import AuditEvent, Invitation, Role, User
from membership.services import invitation_token_hash, user_invite
from tests.membership.team_helpers import invitation_link
from tests.plugins.people import membership_of


def _invite(
    organization, actor, email="dana@contoso.example", roles=frozenset({Role.BILLING_ADMIN})
):
    return user_invite(
        organization=organization, email=email, full_name="Dana Newcomer", roles=roles, actor=actor
    )


def test_it_adds_a_newcomer_and_emails_a_one_time_link(
    contoso, alice, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = _invite(contoso, alice)

    dana = User.objects.get(email="dana@contoso.example")
    assert not dana.has_usable_password()
    assert membership_of(dana, contoso).role_set == {Role.BILLING_ADMIN}
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["dana@contoso.example"]
    assert "Contoso Ltd" in mailoutbox[0].subject
    assert result.token in invitation_link(mailoutbox[0])


def test_it_stores_only_a_hash_of_the_token(contoso, alice):
    result = _invite(contoso, alice)

    invitation = Invitation.objects.get(user__email="dana@contoso.example")
    assert invitation.token_hash == invitation_token_hash(result.token)
    assert result.token not in invitation.token_hash


def test_the_link_is_valid_for_the_configured_days(contoso, alice, settings):
    settings.INVITATION_VALID_DAYS = 7
    sent = dt.datetime(2026, 5, 4, 9, 30, tzinfo=dt.UTC)
    with clock.frozen_at(sent):
        _invite(contoso, alice)

    invitation = Invitation.objects.get(user__email="dana@contoso.example")
    assert invitation.expires_at == dt.datetime(2026, 5, 11, 9, 30, tzinfo=dt.UTC)


def test_an_existing_account_is_added_not_duplicated(
    contoso, alice, charlie, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = _invite(
            contoso, alice, email="Charlie@Fabrikam.example", roles={Role.ACCOUNT_ADMIN}
        )

    assert result.existing_account
    assert User.objects.filter(email__iexact="charlie@fabrikam.example").count() == 1
    assert membership_of(charlie, contoso).role_set == {Role.ACCOUNT_ADMIN}
    assert not Invitation.objects.filter(user=charlie).exists()
    assert len(mailoutbox) == 1
    assert "/invitations/" not in mailoutbox[0].body
    assert "/accounts/login/" in mailoutbox[0].body


def test_someone_who_never_set_a_password_gets_a_link_again(
    contoso, fabrikam, alice, charlie, mailoutbox, django_capture_on_commit_callbacks
):
    # Invited to Fabrikam but never accepted: an "existing account" that cannot sign in.
    user_invite(
        organization=fabrikam,
        email="dana@contoso.example",
        full_name="Dana",
        roles=set(),
        actor=charlie,
    )
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        result = _invite(contoso, alice)

    assert not result.existing_account
    assert "/invitations/" in mailoutbox[0].body


def test_a_member_cannot_be_added_twice(contoso, alice, bob):
    with pytest.raises(ValidationError, match="already a user"):
        _invite(contoso, alice, email="bob@contoso.example")


def test_it_records_who_added_whom_with_which_roles(contoso, alice):
    _invite(contoso, alice)

    event = AuditEvent.objects.get(action=AuditEvent.Action.USER_ADDED)
    assert event.organization == contoso
    assert event.actor == alice
    assert event.target == "dana@contoso.example"
    assert event.detail["roles"] == [Role.BILLING_ADMIN]
