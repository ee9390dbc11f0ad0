"""Reads about people and organizations."""

from __future__ import annotations

from django.db.models import QuerySet

from membership.models import Membership, Organization, User
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
    """May the member do ``action`` in their organization? (DESIGN.md's role matrix)."""
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
    return list(
        User.objects.filter(
            is_active=True,
            memberships__organization=organization,
            memberships__role_grants__role__in=roles_that_allow(action),
        )
        .distinct()
        .order_by("email")
    )
