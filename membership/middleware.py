from __future__ import annotations

from django.utils import translation

from membership.selectors import memberships_for_user

SESSION_ORGANIZATION_KEY = "organization_id"


class UserLanguageMiddleware:
    """A signed-in user's saved language wins over the browser's Accept-Language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        return response


class CurrentOrganizationMiddleware:
    """Sets ``request.membership`` and ``request.organization`` for signed-in partners.

    The organization is the one chosen in the session (a user may belong to several), else the
    first one. Staff without a membership get ``None`` for both.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        request.organization = None
        request.memberships = []
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/admin/"):
            memberships = list(memberships_for_user(user=user))
            request.memberships = memberships
            chosen = request.session.get(SESSION_ORGANIZATION_KEY)
            current = next((m for m in memberships if m.organization_id == chosen), None)
            if current is None and memberships:
                current = memberships[0]
            if current is not None:
                request.membership = current
                request.organization = current.organization
        return self.get_response(request)
