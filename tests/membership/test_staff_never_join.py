"""Staff accounts never join partner organizations: not invited, not added in the admin, and a
member does not become staff (issue 13: root could be made a partner's Global admin)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from membership.models import Membership, Role
from membership.services import membership_add


def test_the_service_refuses_a_staff_account(contoso, agent):
    with pytest.raises(ValidationError, match="Staff accounts cannot be added"):
        membership_add(organization=contoso, user=agent, roles={Role.GLOBAL_ADMIN})

    assert not Membership.objects.filter(user=agent).exists()


def test_the_admin_refuses_a_staff_membership(login, root, contoso, agent):
    response = login(root).post(
        "/admin/membership/membership/add/",
        {
            "user": agent.pk,
            "organization": contoso.pk,
            "role_grants-TOTAL_FORMS": "1",
            "role_grants-INITIAL_FORMS": "0",
            "role_grants-0-role": Role.GLOBAL_ADMIN,
        },
    )

    assert response.status_code == 200
    assert b"Staff accounts cannot be added to partner organizations." in response.content
    assert not Membership.objects.filter(user=agent).exists()


def test_a_member_cannot_be_made_staff(alice):
    alice.is_staff = True

    with pytest.raises(ValidationError, match="cannot belong to a partner organization"):
        alice.full_clean()
