"""Emails about people and organizations: one function per email (see ``core.emails``)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from core.emails import absolute_url, email_send
from membership.models import Invitation, Role, User


def email_invitation(*, invitation: Invitation, token: str, language: str = "") -> int:
    """The invitation and its one-time link: a newcomer chooses a password through it; someone
    with an account signs in and accepts. In the person's language, else ``language`` (the
    inviter's)."""
    inviter = invitation.invited_by
    return email_send(
        "membership_invitation",
        recipients=[invitation.user],
        context={
            "organization": invitation.organization,
            "invited_by": inviter.get_full_name() if inviter else "",
            # Lazy labels: rendered in the recipient's language.
            "roles": [label for value, label in Role.choices if value in set(invitation.roles)],
            "has_account": invitation.user.has_usable_password(),
            "accept_url": absolute_url(reverse("membership:invitation_accept", args=[token])),
            "expires_at": invitation.expires_at,
            "valid_days": settings.INVITATION_VALID_DAYS,
        },
        language=language,
    )


def email_password_reset(*, user: User, uid: str, token: str, language: str = "") -> int:
    """The link to choose a new password, on ``SITE_URL`` (never the request's host)."""
    return email_send(
        "membership_password_reset",
        recipients=[user],
        context={
            "reset_url": absolute_url(
                reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
            ),
        },
        language=language,
    )


def email_second_factor_reset(*, user: User, by_staff: bool) -> int:
    """The person's second factor was reset: how to set up a new one, and whom to ask if it was
    not them who asked for it."""
    return email_send(
        "membership_second_factor_reset",
        recipients=[user],
        context={"by_staff": by_staff, "sign_in_url": absolute_url(reverse("login"))},
    )
