"""Writes about people and organizations."""

from __future__ import annotations

from django.db import transaction

from membership.models import AuditEvent, Membership, Organization, RoleGrant, User
from partnerportal import clock


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
    """Record who did what, when and from where (shown read-only to staff in the admin)."""
    return AuditEvent.objects.create(
        action=action,
        organization=organization,
        actor=actor,
        actor_label=actor_label or (actor.email if actor else ""),
        target=target[:200],
        detail=detail or {},
        ip_address=ip_address,
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
