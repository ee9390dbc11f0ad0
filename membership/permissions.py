"""The one place that answers "may this user do this in this organization" (docs/product.md)."""

from __future__ import annotations

from enum import StrEnum

from membership.models import Role


class Action(StrEnum):
    VIEW_DASHBOARD = "view_dashboard"
    VIEW_OFFERS = "view_offers"
    VIEW_MEMBERSHIP = "view_membership"
    PURCHASE = "purchase"  # subscribe, renew, turn auto-renew off
    MANAGE_BENEFITS = "manage_benefits"
    MANAGE_PAYMENT_METHODS = "manage_payment_methods"
    # Choose or add the card a subscription's renewals are charged to. Both the people who buy
    # and the people who keep the cards may: a Billing admin replacing an expiring card must be
    # able to move the subscription onto the new one before removing the old.
    CHANGE_SUBSCRIPTION_CARD = "change_subscription_card"
    VIEW_ORDERS = "view_orders"  # order history and invoices
    FILE_SUPPORT_REQUESTS = "file_support_requests"
    VIEW_ALL_SUPPORT_REQUESTS = "view_all_support_requests"
    MANAGE_USERS = "manage_users"
    MANAGE_PROFILE = "manage_profile"


# Every member (even with no role) may sign in and view the dashboard, offers and membership.
EVERYONE: frozenset[Action] = frozenset(
    {Action.VIEW_DASHBOARD, Action.VIEW_OFFERS, Action.VIEW_MEMBERSHIP}
)

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.GLOBAL_ADMIN: frozenset(Action),
    Role.MPN_PARTNER_ADMIN: frozenset(
        {
            Action.PURCHASE,
            Action.CHANGE_SUBSCRIPTION_CARD,
            Action.VIEW_ORDERS,
            Action.MANAGE_BENEFITS,
            Action.FILE_SUPPORT_REQUESTS,
        }
    ),
    Role.BILLING_ADMIN: frozenset(
        {
            Action.MANAGE_PAYMENT_METHODS,
            Action.CHANGE_SUBSCRIPTION_CARD,
            Action.VIEW_ORDERS,
            Action.FILE_SUPPORT_REQUESTS,
        }
    ),
    Role.ACCOUNT_ADMIN: frozenset({Action.MANAGE_PROFILE, Action.FILE_SUPPORT_REQUESTS}),
}

# Who receives renewal reminders and billing emails: the people who may purchase.
PURCHASING_ROLES: frozenset[str] = frozenset(
    role for role, actions in ROLE_ACTIONS.items() if Action.PURCHASE in actions
)


def actions_for_roles(roles: frozenset[str] | set[str]) -> frozenset[Action]:
    allowed = set(EVERYONE)
    for role in roles:
        allowed |= ROLE_ACTIONS.get(role, frozenset())
    return frozenset(allowed)


def roles_allow(roles: frozenset[str] | set[str], action: Action | str) -> bool:
    return Action(action) in actions_for_roles(roles)


def roles_that_allow(action: Action | str) -> frozenset[str]:
    return frozenset(role for role, actions in ROLE_ACTIONS.items() if Action(action) in actions)
