"""The role matrix of docs/product.md, in the one place that answers "may this user do this"."""

from __future__ import annotations

import pytest

from membership.models import Role
from membership.permissions import PURCHASING_ROLES, Action, roles_allow

A = Action
MATRIX = {
    # role: actions it must allow (on top of what every member may do)
    Role.GLOBAL_ADMIN: set(Action),
    Role.MPN_PARTNER_ADMIN: {
        A.PURCHASE,
        A.CHANGE_SUBSCRIPTION_CARD,
        A.VIEW_ORDERS,
        A.MANAGE_BENEFITS,
        A.FILE_SUPPORT_REQUESTS,
    },
    Role.BILLING_ADMIN: {
        A.MANAGE_PAYMENT_METHODS,
        A.CHANGE_SUBSCRIPTION_CARD,
        A.VIEW_ORDERS,
        A.FILE_SUPPORT_REQUESTS,
    },
    Role.ACCOUNT_ADMIN: {A.MANAGE_PROFILE, A.FILE_SUPPORT_REQUESTS},
}
EVERYONE = {A.VIEW_DASHBOARD, A.VIEW_OFFERS, A.VIEW_MEMBERSHIP}


@pytest.mark.parametrize("role", list(MATRIX))
@pytest.mark.parametrize("action", list(Action))
def test_each_role_may_do_exactly_its_actions(role, action):
    expected = action in MATRIX[role] | EVERYONE
    assert roles_allow({role}, action) is expected


@pytest.mark.parametrize("action", list(Action))
def test_a_member_with_no_role_may_only_look(action):
    assert roles_allow(set(), action) is (action in EVERYONE)


def test_roles_add_up():
    both = {Role.BILLING_ADMIN, Role.ACCOUNT_ADMIN}
    assert roles_allow(both, A.MANAGE_PAYMENT_METHODS)
    assert roles_allow(both, A.MANAGE_PROFILE)
    assert not roles_allow(both, A.PURCHASE)


def test_only_global_admins_manage_users():
    assert {r for r in Role if roles_allow({r}, A.MANAGE_USERS)} == {Role.GLOBAL_ADMIN}


def test_whoever_may_purchase_may_enter_a_card_for_the_subscription():
    """The purchase and renewal wizards' card entry is behind CHANGE_SUBSCRIPTION_CARD too."""
    for role in Role:
        if roles_allow({role}, A.PURCHASE):
            assert roles_allow({role}, A.CHANGE_SUBSCRIPTION_CARD), role


def test_reminders_go_to_the_people_who_may_purchase():
    assert PURCHASING_ROLES == {Role.GLOBAL_ADMIN, Role.MPN_PARTNER_ADMIN}
