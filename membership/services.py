"""Writes about people and organizations: the audit trail, memberships and roles, the
organization's profile, the password reset, second factors. Invitations, the way in with the
person's consent, are ``membership.invitations``."""

from __future__ import annotations

import logging
from functools import partial

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.utils import decrypt
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from core import clock
from core.logging import client_ip_var
from core.rate_limits import rate_limit_hit, rate_limits_hit
from core.tasks import task_queue_after_commit
from membership.emails import (
    email_password_reset,
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

logger = logging.getLogger(__name__)


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
    """Make ``user`` a member with ``roles`` (no consent asked: for the demo data, tests and the
    acceptance of an invitation). Staff accounts never join a partner organization."""
    if user.is_staff:
        raise ValidationError(
            _("Staff accounts cannot be added to partner organizations."), code="staff"
        )
    membership, _created = Membership.objects.get_or_create(organization=organization, user=user)
    membership_set_roles(membership=membership, roles=roles)
    return membership


def user_organization_remember(*, user: User, organization: Organization) -> None:
    """Where the person worked last: their next session starts there (not in the first
    organization of the alphabet, which someone else may have added them to)."""
    if user.last_organization_id != organization.pk:
        User.objects.filter(pk=user.pk).update(last_organization=organization)
        user.last_organization = organization


# --- Team: roles, removal, organization profile -----------------------------------------------


def organization_lock(organization: Organization) -> Organization:
    """Serialize team changes per organization, so two admins never demote the last two Global
    admins at the same moment (select_for_update is a no-op on SQLite, whose writes are serial)."""
    return Organization.objects.select_for_update().get(pk=organization.pk)


def role_codes(roles: set[str] | frozenset[str]) -> list[str]:
    """Roles as stored in audit details and invitations: their codes, sorted."""
    return sorted(roles)


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
    organization_lock(membership.organization)
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
        detail={"before": role_codes(before), "after": role_codes(roles)},
        ip_address=ip_address,
    )
    return membership


@transaction.atomic
def membership_remove(
    *, membership: Membership, actor: User, ip_address: str | None = None
) -> None:
    """Take a person out of the organization (their account stays: it may belong elsewhere)."""
    organization = organization_lock(membership.organization)
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
        detail={"roles": role_codes(roles)},
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
    organization = organization_lock(organization)
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


# --- Password reset: the same answer, in the same time, whatever the address ------------------


def sign_in_emails_exhausted(email: str) -> bool:
    """Emails that let someone in (reset and invitation links) one address gets, from anyone."""
    return rate_limit_hit(
        scope="sign-in-emails",
        subject=email,
        rate=settings.RATE_LIMIT_SIGN_IN_EMAILS_PER_RECIPIENT,
    )


def password_reset_request(*, email: str, ip_address: str | None, language: str) -> None:
    """Ask for a reset link for ``email``. The request only counts and queues: whether the address
    has an account is decided by the worker (``password_reset_email_send``), so the page answers
    the same, in the same time, for every address. Limited per address asked for and per client
    address (``RATE_LIMIT_PASSWORD_RESET_PER_RECIPIENT``, ``…_PER_ADDRESS``)."""
    email = User.objects.normalize_email(email).strip().lower()
    over = rate_limits_hit(
        ("password-reset-recipient", email, settings.RATE_LIMIT_PASSWORD_RESET_PER_RECIPIENT),
        (
            "password-reset-address",
            ip_address or "unknown",
            settings.RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS,
        ),
    )
    if over:
        raise ValidationError(
            _("Too many password reset requests for now. Try again later."), code="rate_limited"
        )
    task_queue_after_commit(
        "membership.tasks.password_reset_email_send", email=email, language=language
    )


def password_reset_email_send(*, email: str, language: str = "") -> int:
    """Email a reset link to the account of ``email``, if there is one that can sign in with a
    password (from ``membership.tasks``). The link is built on ``SITE_URL``, never on a request's
    host. Returns how many were sent (0 or 1)."""
    sent = 0
    for user in User.objects.filter(email__iexact=email, is_active=True):
        if not user.has_usable_password():
            continue  # an invitation not accepted yet: the invitation's link is the way in
        if sign_in_emails_exhausted(user.email):
            logger.warning("password reset for user %s not sent: sign-in emails exhausted", user.pk)
            continue
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        email_password_reset(user=user, uid=uid, token=token, language=language)
        sent += 1
    return sent


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
