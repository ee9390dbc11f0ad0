from __future__ import annotations

from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils import translation

from membership.second_factor import State, check_url, second_factor_state
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
    one they used last (``User.last_organization``), else the first one. Staff without a
    membership get ``None`` for both.
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
            chosen = request.session.get(SESSION_ORGANIZATION_KEY) or user.last_organization_id
            current = next((m for m in memberships if m.organization_id == chosen), None)
            if current is None and memberships:
                current = memberships[0]
            if current is not None:
                request.membership = current
                request.organization = current.organization
        return self.get_response(request)


class SecondFactorRequiredMiddleware:
    """A signed-in session reaches the portal and the admin only once it passed its second factor.

    Signing in with allauth asks for the factor before the session is signed in at all; this is
    the gate for every other way a session can hold a user (an invitation accepted, a session
    from before the factor was set up or reset) and for accounts without a factor: with
    ``MFA_REQUIRED`` they may set one up and sign out, nothing else (docs/sign-in.md).
    """

    # URL names open in each state, besides signing out and choosing the language.
    SETUP_PAGES = frozenset(
        {"membership:second_factor_setup", "mfa_activate_totp", "mfa_add_webauthn"}
    )
    CHECK_PAGES = frozenset({"mfa_reauthenticate", "mfa_reauthenticate_webauthn"})
    ALWAYS_OPEN = frozenset(
        {
            "logout",
            "account_logout",
            "membership:set_language",
            "healthz",
            "healthz_live",
            "healthz_ready",
        }
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response = self._gate(request)
            if response is not None:
                return response
        return self.get_response(request)

    def _gate(self, request):
        state = second_factor_state(request)
        if state in (State.VERIFIED, State.NOT_REQUIRED):
            return None
        try:
            name = resolve(request.path_info).view_name
        except Resolver404:
            name = ""
        if name in self.ALWAYS_OPEN:
            return None
        if state == State.SETUP_REQUIRED:
            return None if name in self.SETUP_PAGES else redirect("membership:second_factor_setup")
        return None if name in self.CHECK_PAGES else redirect(check_url(request.get_full_path()))
