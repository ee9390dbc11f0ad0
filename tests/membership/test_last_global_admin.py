"""An organization always keeps a Global admin: the last one can be neither demoted nor removed."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from membership.models import Role, RoleGrant
from membership.services import membership_change_roles, membership_remove, membership_set_roles
from tests.membership.concurrency import run_at_once
from tests.plugins.people import membership_of


def test_the_last_global_admin_cannot_be_removed(contoso, alice, agent):
    with pytest.raises(ValidationError, match="last Global admin"):
        membership_remove(membership=membership_of(alice, contoso), actor=agent)


def test_the_last_global_admin_cannot_be_demoted(contoso, alice):
    with pytest.raises(ValidationError, match="last Global admin"):
        membership_change_roles(
            membership=membership_of(alice, contoso), roles={Role.MPN_PARTNER_ADMIN}, actor=alice
        )


def test_another_organizations_global_admin_does_not_count(contoso, alice, charlie):
    with pytest.raises(ValidationError, match="last Global admin"):
        membership_change_roles(membership=membership_of(alice, contoso), roles=set(), actor=alice)


def test_with_two_global_admins_one_may_go(contoso, alice, bob):
    membership_set_roles(membership=membership_of(bob, contoso), roles={Role.GLOBAL_ADMIN})

    membership_remove(membership=membership_of(alice, contoso), actor=bob)

    assert list(
        RoleGrant.objects.filter(membership__organization=contoso).values_list("role", flat=True)
    ) == [Role.GLOBAL_ADMIN]


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one(contoso, alice, bob):
    membership_set_roles(membership=membership_of(bob, contoso), roles={Role.GLOBAL_ADMIN})
    alices, bobs = membership_of(alice, contoso), membership_of(bob, contoso)

    outcomes = run_at_once(
        lambda: membership_change_roles(membership=alices, roles=set(), actor=bob),
        lambda: membership_change_roles(membership=bobs, roles=set(), actor=alice),
    )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == [
        "Membership",
        "ValidationError",
    ]
    assert (
        RoleGrant.objects.filter(membership__organization=contoso, role=Role.GLOBAL_ADMIN).count()
        == 1
    )
