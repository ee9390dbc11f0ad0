"""Invitations: how a person joins an organization, with their consent (docs/abuse.md).

An invitation is the same whether or not the address has an account, and nothing changes for the
person until they accept it: someone new chooses a password through its link; someone with an
account signs in (second factor included) and joins or declines. The link's token is made and
emailed by a worker (``membership.tasks``); only its hash is stored. Invitations and new links are
rate-limited per organization, per person sending and per address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core import clock
from core.rate_limits import rate_limits_hit
from core.tasks import task_queue_after_commit
from membership.emails import email_invitation
from membership.models import AuditEvent, Invitation, Membership, Organization, User
from membership.services import (
    audit_record,
    membership_add,
    organization_lock,
    role_codes,
    sign_in_emails_exhausted,
    user_organization_remember,
)

logger = logging.getLogger(__name__)


class InvitationError(ValidationError):
    """An invitation link that cannot be used; ``code`` says why: ``invalid``, ``used``,
    ``expired``, ``staff``, ``other_account`` or ``has_password``."""


def invitation_token_hash(token: str) -> str:
    """Only this hash is stored, so a database leak does not hand out working links."""
    return hashlib.sha256(token.encode()).hexdigest()


def _invitations_rate_limit(*, organization: Organization, actor: User, email: str) -> None:
    """Invitations and new links: per organization, per person sending, and per address within
    the organization (never across organizations: that would tell one about another's)."""
    over = rate_limits_hit(
        (
            "invitations-organization",
            str(organization.pk),
            settings.RATE_LIMIT_INVITATIONS_PER_ORGANIZATION,
        ),
        ("invitations-actor", str(actor.pk), settings.RATE_LIMIT_INVITATIONS_PER_ACTOR),
        (
            "invitations-recipient",
            f"{organization.pk}:{email}",
            settings.RATE_LIMIT_INVITATIONS_PER_RECIPIENT,
        ),
    )
    if "invitations-organization" in over:
        message = _("Your organization has sent too many invitations for now. Try again later.")
    elif "invitations-actor" in over:
        message = _("You have sent too many invitations for now. Try again later.")
    elif over:
        message = _("Too many invitations were sent to %(email)s for now. Try again later.") % {
            "email": email
        }
    else:
        return
    raise ValidationError(message, code="rate_limited")


def _invitation_send_later(invitation: Invitation, *, language: str) -> None:
    # The worker makes the link's token and emails it (membership.tasks): the request's time
    # says nothing about the address, and the token never passes through the broker.
    task_queue_after_commit(
        "membership.tasks.invitation_email_send", invitation_id=invitation.pk, language=language
    )


@transaction.atomic
def user_invite(
    *,
    organization: Organization,
    email: str,
    full_name: str,
    roles: set[str] | frozenset[str],
    actor: User,
    ip_address: str | None = None,
    language: str | None = None,
) -> Invitation:
    """Invite a person to join the organization with ``roles``, whether or not the address has
    an account: the same answer either way, and nothing changes for the person until they accept
    (docs/abuse.md). The email goes out from a worker, in the person's language, else
    ``language`` (the inviter's). An invitation to a staff account is never sent nor accepted.
    An earlier open invitation of the same person to this organization is replaced.
    """
    organization = organization_lock(organization)
    email = User.objects.normalize_email(email).strip().lower()
    full_name = " ".join(full_name.split())
    user = User.objects.filter(email__iexact=email).first()
    if (
        user is not None
        and Membership.objects.filter(organization=organization, user=user).exists()
    ):
        raise ValidationError(
            _("%(email)s is already a user of your organization.") % {"email": user.email},
            code="already_member",
        )
    _invitations_rate_limit(organization=organization, actor=actor, email=email)
    if user is None:
        user = User.objects.create_user(email=email, password=None, full_name=full_name)
    Invitation.objects.filter(organization=organization, user=user, used_at__isnull=True).delete()
    invitation = Invitation.objects.create(
        organization=organization,
        user=user,
        full_name=full_name,
        roles=role_codes(roles),
        invited_by=actor,
        expires_at=clock.now() + dt.timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    audit_record(
        action=AuditEvent.Action.USER_INVITED,
        organization=organization,
        actor=actor,
        target=email,
        detail={"roles": role_codes(roles)},
        ip_address=ip_address,
    )
    _invitation_send_later(invitation, language=language or actor.language or "")
    return invitation


def invitation_email_send(*, invitation_id: int, language: str = "") -> bool:
    """Make the invitation's one-time link and email it (from ``membership.tasks``). Returns
    whether it was sent: not for an invitation used, canceled or expired meanwhile, not to a staff
    account, and not past the limit of sign-in emails one address gets
    (``RATE_LIMIT_SIGN_IN_EMAILS_PER_RECIPIENT``). A new link replaces the previous one."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("user", "organization", "invited_by")
            .filter(pk=invitation_id, used_at__isnull=True)
            .first()
        )
        if invitation is None or invitation.expires_at <= clock.now():
            return False
        if invitation.user.is_staff:
            logger.info("invitation %s not sent: the address is a staff account", invitation.pk)
            return False
        if sign_in_emails_exhausted(invitation.user.email):
            logger.warning(
                "invitation %s not sent: the address had its sign-in emails", invitation.pk
            )
            return False
        token = secrets.token_urlsafe(32)
        invitation.token_hash = invitation_token_hash(token)
        invitation.save(update_fields=["token_hash"])
    email_invitation(invitation=invitation, token=token, language=language)
    return True


@transaction.atomic
def invitation_resend(
    *,
    invitation: Invitation,
    actor: User,
    ip_address: str | None = None,
    language: str | None = None,
) -> Invitation:
    """A fresh link, valid ``INVITATION_VALID_DAYS`` again; the previous link stops working."""
    invitation = Invitation.objects.select_for_update().select_related("user").get(pk=invitation.pk)
    if invitation.used_at is not None:
        raise ValidationError(
            _("%(email)s has already answered this invitation.") % {"email": invitation.user.email},
            code="used",
        )
    _invitations_rate_limit(
        organization=invitation.organization, actor=actor, email=invitation.user.email
    )
    invitation.expires_at = clock.now() + dt.timedelta(days=settings.INVITATION_VALID_DAYS)
    invitation.token_hash = None
    invitation.save(update_fields=["expires_at", "token_hash"])
    audit_record(
        action=AuditEvent.Action.USER_INVITED,
        organization=invitation.organization,
        actor=actor,
        target=invitation.user.email,
        detail={"roles": invitation.roles, "invitation_resent": True},
        ip_address=ip_address,
    )
    _invitation_send_later(invitation, language=language or actor.language or "")
    return invitation


@transaction.atomic
def invitation_cancel(
    *, invitation: Invitation, actor: User, ip_address: str | None = None
) -> None:
    """Withdraw an open invitation: its link stops working."""
    invitation = Invitation.objects.select_for_update().select_related("user").get(pk=invitation.pk)
    if invitation.used_at is not None:
        raise ValidationError(
            _("%(email)s has already answered this invitation.") % {"email": invitation.user.email},
            code="used",
        )
    email = invitation.user.email
    invitation.delete()
    audit_record(
        action=AuditEvent.Action.INVITATION_CANCELED,
        organization=invitation.organization,
        actor=actor,
        target=email,
        detail={"roles": invitation.roles},
        ip_address=ip_address,
    )


def _invitation_check(invitation: Invitation | None) -> Invitation:
    if invitation is None:
        raise InvitationError(
            _(
                "This invitation link is not valid. If you received a newer invitation, use the "
                "link in that email."
            ),
            code="invalid",
        )
    if invitation.used_at is not None:
        raise InvitationError(
            _("This invitation link was already used. Sign in with your password."),
            code="used",
        )
    if invitation.expires_at <= clock.now():
        raise InvitationError(
            _(
                "This invitation link expired. Ask your organization's Global admin to send a new one."
            ),
            code="expired",
        )
    if invitation.user.is_staff:
        raise InvitationError(_("Staff accounts cannot join partner organizations."), code="staff")
    return invitation


def _invitation_by_token(token: str, *, lock: bool = False) -> Invitation | None:
    invitations = Invitation.objects.select_related("user", "organization", "invited_by")
    if lock:
        invitations = invitations.select_for_update(of=("self",))
    return invitations.filter(token_hash=invitation_token_hash(token)).first()


def invitation_usable(*, token: str) -> Invitation:
    """The invitation of ``token``, or ``InvitationError`` saying why the link cannot be used."""
    return _invitation_check(_invitation_by_token(token))


def _invitation_join(invitation: Invitation, *, ip_address: str | None) -> Membership:
    """The person said yes: they become a member with the invitation's roles, and work there."""
    user = invitation.user
    membership = membership_add(
        organization=invitation.organization, user=user, roles=set(invitation.roles)
    )
    invitation.used_at = clock.now()
    invitation.save(update_fields=["used_at"])
    user_organization_remember(user=user, organization=invitation.organization)
    audit_record(
        action=AuditEvent.Action.USER_ADDED,
        organization=invitation.organization,
        actor=user,
        target=user.email,
        detail={
            "roles": invitation.roles,
            "invited_by": invitation.invited_by.email if invitation.invited_by else "",
        },
        ip_address=ip_address,
    )
    return membership


@transaction.atomic
def invitation_accept(*, token: str, password: str, ip_address: str | None = None) -> Invitation:
    """A newcomer chooses their password through the link and joins (once: a second try is
    refused). Someone who has a password already accepts after signing in (``invitation_join``):
    a link never sets a password the person has chosen."""
    invitation = _invitation_check(_invitation_by_token(token, lock=True))
    user = User.objects.select_for_update().get(pk=invitation.user_id)
    if user.has_usable_password():
        raise InvitationError(
            _("You already have a password: sign in to answer the invitation."),
            code="has_password",
        )
    user.set_password(password)
    user.save(update_fields=["password"])
    invitation.user = user
    _invitation_join(invitation, ip_address=ip_address)
    return invitation


def _invitation_of(token: str, user: User) -> Invitation:
    invitation = _invitation_check(_invitation_by_token(token, lock=True))
    if invitation.user_id != user.pk:
        raise InvitationError(
            _(
                "This invitation is for another account. Sign out, then sign in as the person it was sent to."
            ),
            code="other_account",
        )
    return invitation


@transaction.atomic
def invitation_join(*, token: str, user: User, ip_address: str | None = None) -> Invitation:
    """The signed-in person (second factor passed) accepts the invitation sent to them."""
    invitation = _invitation_of(token, user)
    _invitation_join(invitation, ip_address=ip_address)
    return invitation


@transaction.atomic
def invitation_decline(*, token: str, user: User, ip_address: str | None = None) -> Invitation:
    """The signed-in person says no: nothing changes for them; the team sees the answer."""
    invitation = _invitation_of(token, user)
    invitation.used_at = clock.now()
    invitation.save(update_fields=["used_at"])
    audit_record(
        action=AuditEvent.Action.INVITATION_DECLINED,
        organization=invitation.organization,
        actor=user,
        target=user.email,
        detail={"roles": invitation.roles},
        ip_address=ip_address,
    )
    return invitation
