"""Emails about people and organizations: one function per email (see ``core.emails``)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from core.emails import absolute_url, email_send
from membership.models import Invitation, Organization, User


def email_invitation(*, invitation: Invitation, token: str) -> int:
    """The one-time link to set a password and join ``invitation.organization``."""
    inviter = invitation.invited_by
    return email_send(
        "membership_invitation",
        recipients=[invitation.user],
        context={
            "organization": invitation.organization,
            "invited_by": inviter.get_full_name() if inviter else "",
            "accept_url": absolute_url(reverse("membership:invitation_accept", args=[token])),
            "expires_at": invitation.expires_at,
            "valid_days": settings.INVITATION_VALID_DAYS,
        },
    )


def email_added_to_organization(
    *, user: User, organization: Organization, invited_by: User | None
) -> int:
    """A person who already has an account was added: a notice, no password link."""
    return email_send(
        "membership_added",
        recipients=[user],
        context={
            "organization": organization,
            "invited_by": invited_by.get_full_name() if invited_by else "",
            "sign_in_url": absolute_url(reverse("login")),
        },
    )


def email_second_factor_reset(*, user: User, by_staff: bool) -> int:
    """The person's second factor was reset: how to set up a new one, and whom to ask if it was
    not them who asked for it."""
    return email_send(
        "membership_second_factor_reset",
        recipients=[user],
        context={"by_staff": by_staff, "sign_in_url": absolute_url(reverse("login"))},
    )
