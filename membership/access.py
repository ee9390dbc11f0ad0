"""Access helpers every partner view starts with.

``member_required(action)`` lets in signed-in members of an organization whose roles allow
``action`` (403 otherwise); ``get_for_organization_or_404`` loads an object only if it belongs to
the request's organization, so another organization's id gives 404 and reveals nothing.
"""

from __future__ import annotations

from functools import wraps
from typing import TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from membership.permissions import Action, roles_allow

M = TypeVar("M", bound=Model)


def member_required(action: Action = Action.VIEW_DASHBOARD):
    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = getattr(request, "membership", None)
            if membership is None or not roles_allow(membership.role_set, action):
                raise PermissionDenied(action.value)
            return view(request, *args, **kwargs)

        wrapped.required_action = action  # read by the URL boundary walker test
        return wrapped

    return decorator


def get_for_organization_or_404(queryset: QuerySet[M], request: HttpRequest, **lookup) -> M:
    """The object matching ``lookup`` within the request's organization, or 404."""
    try:
        return queryset.get(organization=request.organization, **lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404("No such object in your organization.")
