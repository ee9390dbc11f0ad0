from __future__ import annotations

from django.conf import settings

from membership.permissions import Action, actions_for_roles


def portal(request) -> dict:
    membership = getattr(request, "membership", None)
    allowed = actions_for_roles(membership.role_set) if membership is not None else frozenset()
    return {
        "current_organization": getattr(request, "organization", None),
        "user_memberships": getattr(request, "memberships", []),
        "may": {action.value: action in allowed for action in Action},
        "step_up_minutes": settings.MFA_STEP_UP_MINUTES,
    }
