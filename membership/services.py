"""Writes about people and organizations."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from functools import partial

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.utils import decrypt
from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from core import clock
from core.logging import client_ip_var
from membership.emails import (
    email_added_to_organization,
    email_invitation,
    email_second_factor_reset,
)
from membership.models import (
    AuditEvent,
    Invitation,
    Membership,
    Organization,
    Role,
    RoleGrant,
    User,
)
from membership.vat_ids import vat_id_clean


def audit_record(
    *,
    action: str,
    organization: Organization | None = None,
    actor: User | None = None,
    actor_label: str = "",
    target: str = "",
    detail: dict | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Record who did what, when and from where (shown read-only to staff in the admin).

    Without ``ip_address``, the address of the current request's client is used (none in jobs).
    """
    event = audit_event(
        action=action,
        organization=organization,
        actor=actor,
        actor_label=actor_label,
        target=target,
        detail=detail,
        ip_address=ip_address,
    )
    event.save(force_insert=True)
    return event


def audit_event(
    *,
    action: str,
    organization: Organization | None = None,
    actor: User | None = None,
    actor_label: str = "",
    target: str = "",
    detail: dict | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """An unsaved ``audit_record``, for writing many at once with ``bulk_create``."""
    return AuditEvent(
        action=action,
        organization=organization,
        actor=actor,
        actor_label=actor_label or (actor.email if actor else ""),
        target=target[:200],
        detail=detail or {},
        ip_address=ip_address or client_ip_var.get(),
        created_at=clock.now(),
    )


@transaction.atomic
def membership_set_roles(*, membership: Membership, roles: set[str] | frozenset[str]) -> Membership:
    """Replace the member's roles with ``roles`` (no checks: callers enforce the rules)."""
    RoleGrant.objects.filter(membership=membership).exclude(role__in=roles).delete()
    existing = set(RoleGrant.objects.filter(membership=membership).values_list("role", flat=True))
    RoleGrant.objects.bulk_create(
        [RoleGrant(membership=membership, role=role) for role in sorted(set(roles) - existing)]
    )
    return membership


@transaction.atomic
def membership_add(
    *, organization: Organization, user: User, roles: set[str] | frozenset[str] = frozenset()
) -> Membership:
    membership, _created = Membership.objects.get_or_create(organization=organization, user=user)
    membership_set_roles(membership=membership, roles=roles)
    return membership


# --- Team: invitations, roles, removal, organization profile ----------------------------------


class InvitationError(ValidationError):
    """An invitation link that cannot be used; ``code`` says why (``invalid``/``used``/``expired``)."""


def invitation_token_hash(token: str) -> str:
    """Only this hash is stored, so a database leak does not hand out working links."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class InviteResult:
    membership: Membership
    invitation: Invitation | None
    token: str | None
    existing_account: bool


def _invitation_create(
    *, organization: Organization, user: User, invited_by: User | None
) -> tuple[Invitation, str]:
    """A new one-time link for ``user``; earlier unused links to this organization stop working."""
    Invitation.objects.filter(organization=organization, user=user, used_at__isnull=True).delete()
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        user=user,
        token_hash=invitation_token_hash(token),
        invited_by=invited_by,
        expires_at=clock.now() + dt.timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    return invitation, token


def _organization_lock(organization: Organization) -> Organization:
    """Serialize team changes per organization, so two admins never demote the last two Global
    admins at the same moment (select_for_update is a no-op on SQLite, whose writes are serial)."""
    return Organization.objects.select_for_update().get(pk=organization.pk)


def _role_labels(roles: set[str] | frozenset[str]) -> list[str]:
    return sorted(roles)


@transaction.atomic
def user_invite(
    *,
    organization: Organization,
    email: str,
    full_name: str,
    roles: set[str] | frozenset[str],
    actor: User,
    ip_address: str | None = None,
) -> InviteResult:
    """Add a person to the organization with ``roles``.

    A person who can already sign in (an account with a password) is added and notified; anyone
    else gets a one-time link, valid ``INVITATION_VALID_DAYS`` days, to set a password. The same
    email never makes a second account.
    """
    organization = _organization_lock(organization)
    email = User.objects.normalize_email(email).strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if (
        user is not None
        and Membership.objects.filter(organization=organization, user=user).exists()
    ):
        raise ValidationError(
            _("%(email)s is already a user of your organization.") % {"email": user.email},
            code="already_member",
        )
    existing_account = user is not None and user.has_usable_password()
    if user is None:
        user = User.objects.create_user(email=email, password=None, full_name=full_name.strip())
    elif not user.full_name and full_name:
        user.full_name = full_name.strip()
        user.save(update_fields=["full_name"])
    membership = membership_add(organization=organization, user=user, roles=roles)
    invitation, token = (None, None)
    if not existing_account:
        invitation, token = _invitation_create(
            organization=organization, user=user, invited_by=actor
        )
    audit_record(
        action=AuditEvent.Action.USER_ADDED,
        organization=organization,
        actor=actor,
        target=user.email,
        detail={"roles": _role_labels(roles), "existing_account": existing_account},
        ip_address=ip_address,
    )
    # Emails leave only once the rows they point at are committed.
    if existing_account:
        transaction.on_commit(
            partial(
                email_added_to_organization, user=user, organization=organization, invited_by=actor
            )
        )
    else:
        transaction.on_commit(partial(email_invitation, invitation=invitation, token=token))
    return InviteResult(
        membership=membership, invitation=invitation, token=token, existing_account=existing_account
    )


@transaction.atomic
def invitation_resend(*, membership: Membership, actor: User, ip_address: str | None = None) -> str:
    """Send a fresh link to a person who has not set a password yet (the old link stops working)."""
    user = membership.user
    if user.has_usable_password():
        raise ValidationError(_("%(email)s has already set a password.") % {"email": user.email})
    invitation, token = _invitation_create(
        organization=membership.organization, user=user, invited_by=actor
    )
    audit_record(
        action=AuditEvent.Action.USER_ADDED,
        organization=membership.organization,
        actor=actor,
        target=user.email,
        detail={"invitation_resent": True},
        ip_address=ip_address,
    )
    transaction.on_commit(partial(email_invitation, invitation=invitation, token=token))
    return token


def _invitation_check(invitation: Invitation | None) -> None:
    if invitation is None:
        raise InvitationError(
            _(
                "This invitation link is not valid. If you received a newer invitation, use the "
                "link in that email."
            ),
            code="invalid",
        )
    if invitation.used_at is not None or invitation.user.has_usable_password():
        raise InvitationError(
            _("This invitation link was already used. Sign in with the password you chose."),
            code="used",
        )
    if invitation.expires_at <= clock.now():
        raise InvitationError(
            _(
                "This invitation link expired. Ask your organization's Global admin to send a new one."
            ),
            code="expired",
        )


def invitation_usable(*, token: str) -> Invitation:
    """The invitation of ``token``, or ``InvitationError`` saying why the link cannot be used."""
    invitation = (
        Invitation.objects.filter(token_hash=invitation_token_hash(token))
        .select_related("user", "organization")
        .first()
    )
    _invitation_check(invitation)
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str) -> User:
    """Set the invited person's password and use up the link (once: a second try is refused)."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("user")
        .filter(token_hash=invitation_token_hash(token))
        .first()
    )
    _invitation_check(invitation)
    user = invitation.user
    user.set_password(password)
    user.save(update_fields=["password"])
    # Every open link to this account is spent now, including another organization's: a link
    # must never set a password the person has already chosen.
    Invitation.objects.filter(user=user, used_at__isnull=True).update(used_at=clock.now())
    return user


def _global_admin_count(organization: Organization) -> int:
    return RoleGrant.objects.filter(
        membership__organization=organization, role=Role.GLOBAL_ADMIN
    ).count()


def _refuse_losing_last_global_admin(membership: Membership, message: str) -> None:
    is_global_admin = RoleGrant.objects.filter(
        membership=membership, role=Role.GLOBAL_ADMIN
    ).exists()
    if is_global_admin and _global_admin_count(membership.organization) <= 1:
        raise ValidationError(message, code="last_global_admin")


@transaction.atomic
def membership_change_roles(
    *,
    membership: Membership,
    roles: set[str] | frozenset[str],
    actor: User,
    ip_address: str | None = None,
) -> Membership:
    """Give the member exactly ``roles``; the last Global admin keeps that role."""
    _organization_lock(membership.organization)
    before = set(RoleGrant.objects.filter(membership=membership).values_list("role", flat=True))
    roles = set(roles)
    if before == roles:
        return membership
    if Role.GLOBAL_ADMIN not in roles:
        _refuse_losing_last_global_admin(
            membership,
            _("%(email)s is the organization's last Global admin: add another Global admin first.")
            % {"email": membership.user.email},
        )
    membership_set_roles(membership=membership, roles=roles)
    audit_record(
        action=AuditEvent.Action.ROLES_CHANGED,
        organization=membership.organization,
        actor=actor,
        target=membership.user.email,
        detail={"before": _role_labels(before), "after": _role_labels(roles)},
        ip_address=ip_address,
    )
    return membership


@transaction.atomic
def membership_remove(
    *, membership: Membership, actor: User, ip_address: str | None = None
) -> None:
    """Take a person out of the organization (their account stays: it may belong elsewhere)."""
    organization = _organization_lock(membership.organization)
    if membership.user_id == actor.pk:
        raise ValidationError(
            _("You cannot remove yourself. Ask another Global admin to do it."), code="self"
        )
    _refuse_losing_last_global_admin(
        membership,
        _("%(email)s is the organization's last Global admin and cannot be removed.")
        % {"email": membership.user.email},
    )
    roles = set(RoleGrant.objects.filter(membership=membership).values_list("role", flat=True))
    Invitation.objects.filter(organization=organization, user_id=membership.user_id).delete()
    email = membership.user.email
    membership.delete()
    audit_record(
        action=AuditEvent.Action.USER_REMOVED,
        organization=organization,
        actor=actor,
        target=email,
        detail={"roles": _role_labels(roles)},
        ip_address=ip_address,
    )


PROFILE_FIELDS = (
    "name",
    "address_line1",
    "address_line2",
    "city",
    "postal_code",
    "region",
    "vat_id",
    "invoice_language",
    "contact_email",
    "contact_phone",
)


@transaction.atomic
def organization_update_profile(
    *, organization: Organization, changes: dict, actor: User, ip_address: str | None = None
) -> Organization:
    """Update the profile (name, invoice address, VAT ID, invoice language, contact). Partner
    ID, country and currency are not the partner's to change: they decide prices and invoices.
    Invoices already issued keep the details they were issued with."""
    organization = _organization_lock(organization)
    if "vat_id" in changes:
        # However the change comes in, a VAT id that does not pass for the country is refused.
        changes = {
            **changes,
            "vat_id": vat_id_clean(country=organization.country, vat_id=changes["vat_id"]),
        }
    changed = {
        field: {"before": getattr(organization, field), "after": changes[field]}
        for field in PROFILE_FIELDS
        if field in changes and getattr(organization, field) != changes[field]
    }
    if not changed:
        return organization
    for field, values in changed.items():
        setattr(organization, field, values["after"])
    organization.full_clean()
    organization.save(update_fields=list(changed))
    audit_record(
        action=AuditEvent.Action.PROFILE_CHANGED,
        organization=organization,
        actor=actor,
        target=organization.name,
        detail={"changed": changed},
        ip_address=ip_address,
    )
    return organization


# --- Second factor: reset by a Global admin or by staff, the lockout, the demo -----------------


def sign_in_failures_clear(*, email: str) -> int:
    """Forget every counted sign-in failure of the account, from every address (a completed
    password reset proves the owner's mailbox). Returns how many attempt rows were removed."""
    count, _rows = AccessAttempt.objects.filter(username=email.strip().lower()).delete()
    return count


@transaction.atomic
def second_factor_reset(
    *,
    user: User,
    actor: User,
    organization: Organization | None = None,
    ip_address: str | None = None,
) -> int:
    """Remove every second factor of ``user`` (authenticator app, passkeys, recovery codes) and
    end all their sessions: at the next sign-in they set up a new factor. Audited in each of
    their organizations (or ``organization`` only, when a Global admin does it) and emailed to
    them. Returns how many authenticators were removed.

    For a person who lost their phone or key and their recovery codes: nobody needs the database.
    """
    if user.pk == actor.pk:
        raise ValidationError(
            _(
                "You cannot reset your own second factor. Use a recovery code, or ask another "
                "Global admin or Partner Portal support."
            ),
            code="self",
        )
    removed, _rows = Authenticator.objects.filter(user_id=user.pk).delete()
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    organizations = (
        [organization]
        if organization is not None
        else list(Organization.objects.filter(memberships__user=user).order_by("name"))
    )
    detail = {"by_staff": actor.is_staff and organization is None, "authenticators": removed}
    for audited in organizations or [None]:
        audit_record(
            action=AuditEvent.Action.SECOND_FACTOR_RESET,
            organization=audited,
            actor=actor,
            target=user.email,
            detail=detail,
            ip_address=ip_address,
        )
    transaction.on_commit(
        partial(email_second_factor_reset, user=user, by_staff=detail["by_staff"])
    )
    return removed


def second_factor_enroll_totp(*, user: User, secret: str) -> Authenticator:
    """Give ``user`` an authenticator app with a known ``secret`` (base32), and recovery codes,
    unless they have exactly those already (so that running it twice changes nothing).

    Only for the demo data and tests, where everyone's code must be computable; people set up
    their own through the second-factor pages.
    """
    if not Authenticator.objects.filter(
        user_id=user.pk, type=Authenticator.Type.RECOVERY_CODES
    ).exists():
        RecoveryCodes.activate(user)  # as setting up the app in the pages does
    current = Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).first()
    if current is not None:
        if decrypt(current.data.get("secret", "")) == secret:
            return current
        current.delete()
    return TOTP.activate(user, secret).instance
