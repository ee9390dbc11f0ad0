"""Reads about people and organizations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db.models import F, QuerySet

from core import clock
from membership.models import AuditEvent, Invitation, Membership, Organization, Role, User
from membership.permissions import Action, roles_allow, roles_that_allow


def memberships_for_user(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .prefetch_related("role_grants")
        .order_by("organization__name")
    )


def membership_get(*, user: User, organization_id: int) -> Membership | None:
    return (
        Membership.objects.filter(user=user, organization_id=organization_id)
        .select_related("organization")
        .prefetch_related("role_grants")
        .first()
    )


def user_may(*, membership: Membership | None, action: Action | str) -> bool:
    """May the member do ``action`` in their organization? (the role matrix of docs/product.md)."""
    if membership is None:
        return False
    return roles_allow(membership.role_set, action)


def organization_members(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .prefetch_related("role_grants")
        .order_by("user__email")
    )


def organization_people_who_may(*, organization: Organization, action: Action | str) -> list[User]:
    """Active people of the organization allowed to do ``action`` (e.g. recipients of reminders)."""
    return organizations_people_who_may(organization_ids=[organization.pk], action=action).get(
        organization.pk, []
    )


def organizations_people_who_may(
    *, organization_ids: Iterable[int], action: Action | str
) -> dict[int, list[User]]:
    """``organization_people_who_may`` for several organizations in one query, by organization id."""
    people: dict[int, list[User]] = {}
    users = (
        User.objects.filter(
            is_active=True,
            memberships__organization_id__in=list(organization_ids),
            memberships__role_grants__role__in=roles_that_allow(action),
        )
        .annotate(organization_id=F("memberships__organization_id"))
        .distinct()
        .order_by("email")
    )
    for user in users:
        people.setdefault(user.organization_id, []).append(user)
    return people


TEAM_AUDIT_ACTIONS = (
    AuditEvent.Action.SECOND_FACTOR_RESET,
    AuditEvent.Action.USER_INVITED,
    AuditEvent.Action.INVITATION_CANCELED,
    AuditEvent.Action.INVITATION_DECLINED,
    AuditEvent.Action.USER_ADDED,
    AuditEvent.Action.USER_REMOVED,
    AuditEvent.Action.ROLES_CHANGED,
    AuditEvent.Action.PROFILE_CHANGED,
)


def role_labels(roles: Iterable[str]) -> list[str]:
    """Roles in the matrix's order with their translated labels, for pages and the audit list."""
    roles = set(roles)
    return [str(label) for value, label in Role.choices if value in roles]


@dataclass(frozen=True)
class TeamMember:
    membership: Membership
    roles: list[str]
    is_global_admin: bool
    has_second_factor: bool


def organization_team(*, organization: Organization) -> list[TeamMember]:
    """The organization's people with their roles (invitations are not people yet)."""
    members = list(organization_members(organization=organization))
    with_second_factor = users_with_second_factor(user_ids=[m.user_id for m in members])
    return [
        TeamMember(
            membership=member,
            roles=role_labels(member.role_set),
            is_global_admin=Role.GLOBAL_ADMIN in member.role_set,
            has_second_factor=member.user_id in with_second_factor,
        )
        for member in members
    ]


@dataclass(frozen=True)
class PendingInvitation:
    invitation: Invitation
    roles: list[str]
    expired: bool


def organization_invitations(*, organization: Organization) -> list[PendingInvitation]:
    """Invitations nobody answered yet, newest first. What the team sees of each is what the
    inviter typed (the address, the name, the roles): the same whether the address has an
    account or not."""
    now = clock.now()
    invitations = (
        Invitation.objects.filter(organization=organization, used_at__isnull=True)
        .select_related("user")
        .order_by("-created_at", "-id")
    )
    return [
        PendingInvitation(
            invitation=invitation,
            roles=role_labels(invitation.roles),
            expired=invitation.expires_at <= now,
        )
        for invitation in invitations
    ]


@dataclass(frozen=True)
class TeamChange:
    event: AuditEvent
    roles: list[str]
    roles_before: list[str]
    roles_after: list[str]
    fields: list[str]  # profile fields changed (their labels)


def organization_team_changes(*, organization: Organization, limit: int = 50) -> list[TeamChange]:
    """Recent changes to the team and profile, newest first: who, whom, what, when."""
    events = (
        AuditEvent.objects.filter(organization=organization, action__in=TEAM_AUDIT_ACTIONS)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )
    labels = {
        field.name: str(field.verbose_name)
        for field in Organization._meta.get_fields()
        if hasattr(field, "verbose_name")
    }
    return [
        TeamChange(
            event=event,
            roles=role_labels(event.detail.get("roles", [])),
            roles_before=role_labels(event.detail.get("before", [])),
            roles_after=role_labels(event.detail.get("after", [])),
            fields=[labels.get(name, name) for name in event.detail.get("changed", {})],
        )
        for event in events
    ]


def sign_in_address_known(*, email: str, ip_address: str) -> bool:
    """Did the account sign in with its second factor from ``ip_address`` recently
    (``SIGN_IN_KNOWN_ADDRESS_DAYS``)? The sign-in lockout spares such an address the
    account-wide limit (partnerportal/sign_in_limits.py)."""
    since = clock.now() - dt.timedelta(days=settings.SIGN_IN_KNOWN_ADDRESS_DAYS)
    return AuditEvent.objects.filter(
        target=email.strip().lower(),
        action=AuditEvent.Action.SIGN_IN,
        ip_address=ip_address,
        created_at__gte=since,
        detail__has_key="second_factor",
    ).exists()


@dataclass(frozen=True)
class SecondFactorSummary:
    """What a person has set up, in words for the team page and the admin."""

    authenticator_app: bool
    passkeys: int
    recovery_codes_left: int | None  # None: no recovery codes

    @property
    def enrolled(self) -> bool:
        return self.authenticator_app or self.passkeys > 0


def second_factor_summary(*, user: User) -> SecondFactorSummary:
    authenticator_app, passkeys, codes_left = False, 0, None
    for authenticator in Authenticator.objects.filter(user_id=user.pk):
        if authenticator.type == Authenticator.Type.TOTP:
            authenticator_app = True
        elif authenticator.type == Authenticator.Type.WEBAUTHN:
            passkeys += 1
        elif authenticator.type == Authenticator.Type.RECOVERY_CODES:
            codes_left = len(authenticator.wrap().get_unused_codes())
    return SecondFactorSummary(authenticator_app, passkeys, codes_left)


def users_with_second_factor(*, user_ids: Iterable[int]) -> set[int]:
    """Which of ``user_ids`` have an authenticator app or a passkey (one query)."""
    return set(
        Authenticator.objects.filter(
            user_id__in=list(user_ids),
            type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN],
        ).values_list("user_id", flat=True)
    )
