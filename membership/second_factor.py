"""The second sign-in factor: the one home of "has this session passed it, and how recently".

django-allauth's ``mfa`` app does the factors themselves (authenticator-app codes, passkeys,
recovery codes) and the sign-in step that asks for them (docs/sign-in.md). This module adds what
the portal needs on top:

- the **session mark**: when a factor was last checked in this session and by whom. Set by the
  receivers in ``membership.signals`` when allauth reports a factor used (signing in, the check
  again) or added (setting one up proves it works);
- ``second_factor_state``, read by ``SecondFactorRequiredMiddleware`` on every request: a
  signed-in session counts only with the mark of its own user; an account without a factor
  (``MFA_REQUIRED``) may do nothing but set one up;
- the **step-up**: ``second_factor_required`` (views) and ``step_up_response`` (admin actions)
  ask for the factor again when the last check is older than ``MFA_STEP_UP_MINUTES``;
- the allauth adapters: who may sign up (nobody: people are invited), the portal's messages.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from functools import wraps
from urllib.parse import urlencode

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

SESSION_KEY = "second_factor_checked"
# Factors that answer the sign-in step; recovery codes only stand in for a lost one.
SIGN_IN_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


class State(StrEnum):
    VERIFIED = "verified"  # the session passed this user's second factor
    CHECK_REQUIRED = "check_required"  # the user has a factor the session has not passed
    SETUP_REQUIRED = "setup_required"  # no factor yet, and MFA_REQUIRED
    NOT_REQUIRED = "not_required"  # no factor, MFA_REQUIRED off


def second_factor_enrolled(user) -> bool:
    """Has ``user`` an authenticator app or a passkey?"""
    return Authenticator.objects.filter(user_id=user.pk, type__in=SIGN_IN_FACTORS).exists()


def second_factor_mark_checked(request: HttpRequest, user, *, method: str) -> None:
    """Record in the session that ``user`` just passed a second factor (``method``: totp,
    webauthn, recovery_codes)."""
    request.session[SESSION_KEY] = {
        "user": str(user.pk),
        "at": timezone.now().timestamp(),
        "method": str(method),
    }


def _mark(request: HttpRequest) -> dict | None:
    mark = request.session.get(SESSION_KEY)
    user = getattr(request, "user", None)
    if not isinstance(mark, dict) or user is None or str(mark.get("user")) != str(user.pk):
        return None
    return mark


def second_factor_checked_at(request: HttpRequest) -> dt.datetime | None:
    """When the signed-in user last passed their second factor in this session, if ever."""
    mark = _mark(request)
    if mark is None:
        return None
    try:
        return dt.datetime.fromtimestamp(float(mark["at"]), tz=dt.UTC)
    except (KeyError, TypeError, ValueError):
        return None


def second_factor_method(request: HttpRequest) -> str | None:
    mark = _mark(request)
    return str(mark.get("method")) if mark is not None else None


def second_factor_state(request: HttpRequest) -> State:
    user = request.user
    if second_factor_enrolled(user):
        if second_factor_checked_at(request) is None:
            return State.CHECK_REQUIRED
        return State.VERIFIED
    return State.SETUP_REQUIRED if settings.MFA_REQUIRED else State.NOT_REQUIRED


def step_up_window() -> dt.timedelta:
    return dt.timedelta(minutes=settings.MFA_STEP_UP_MINUTES)


def step_up_needed(request: HttpRequest) -> bool:
    """Must the signed-in user pass their second factor again before changing money or people?

    Yes when they have a factor and its last check in this session is older than the window.
    Someone without a factor (only with ``MFA_REQUIRED`` off) has nothing to be asked for.
    """
    if not second_factor_enrolled(request.user):
        return False
    checked_at = second_factor_checked_at(request)
    # Real time, like the session's own expiry, not core.clock: moving the business clock (to an
    # anniversary, in tests) must not ask people again, and a real quarter of an hour must.
    return checked_at is None or timezone.now() - checked_at > step_up_window()


def check_url(next_url: str) -> str:
    """The page that asks for the second factor again, then returns to ``next_url``."""
    return f"{reverse('mfa_reauthenticate')}?{urlencode({'next': next_url}, safe='/')}"


def _return_to(request: HttpRequest) -> str:
    """Where to go back after the check: the page itself for a GET; for a POST, the page the form
    was on (the action is not replayed: the person confirms it again, now checked)."""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, {request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse("dashboard")


def step_up_response(request: HttpRequest) -> HttpResponse | None:
    """The one step-up check: a redirect to the second-factor check when it is due, else None.

    Views use it through ``second_factor_required``; admin actions and pages call it directly.
    """
    if not step_up_needed(request):
        return None
    if request.method not in ("GET", "HEAD"):
        messages.info(
            request,
            _("Confirm it is you with your second factor, then try again. Nothing was changed."),
        )
    return HttpResponseRedirect(check_url(_return_to(request)))


def second_factor_required(view):
    """Step-up for a view that changes money or people (docs/sign-in.md lists them).

    Goes inside ``member_required`` so that the organization and role checks answer first.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        response = step_up_response(request)
        if response is not None:
            return response
        return view(request, *args, **kwargs)

    wrapped.second_factor_required = True  # read by tests/membership/test_step_up.py
    return wrapped


def keep_a_sign_in_factor(view):
    """Refuse to remove a person's last passkey when it is their only second factor and
    ``MFA_REQUIRED`` (allauth refuses the same for the authenticator app, through the adapter)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if request.method == "POST" and _is_last_sign_in_factor(request.user, kwargs["pk"]):
            messages.error(request, str(PortalMFAAdapter.error_messages["last_factor"]))
            return HttpResponseRedirect(reverse("mfa_list_webauthn"))
        return view(request, *args, **kwargs)

    return wrapped


def _is_last_sign_in_factor(user, authenticator_id: int) -> bool:
    if not settings.MFA_REQUIRED:
        return False
    mine = Authenticator.objects.filter(user_id=user.pk, type__in=SIGN_IN_FACTORS)
    return (
        mine.filter(pk=authenticator_id).exists() and not mine.exclude(pk=authenticator_id).exists()
    )


class PortalAccountAdapter(DefaultAccountAdapter):
    """allauth's sign-in, the portal's way: nobody signs up (people are invited), our wording."""

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "email_password_mismatch": gettext_lazy("The email or password is not correct."),
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def add_message(self, request, level, message_template=None, message_context=None, **kw):
        # allauth's "Successfully signed in as …" and friends: the pages say what matters.
        if message_template and message_template.startswith("account/messages/"):
            return
        super().add_message(request, level, message_template, message_context, **kw)


class PortalMFAAdapter(DefaultMFAAdapter):
    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "cannot_delete_authenticator": gettext_lazy(
            "This is your only second factor: add a passkey first, then turn the app off."
        ),
        "last_factor": gettext_lazy(
            "This is your only second factor: set up an authenticator app or another passkey "
            "first, then remove this one."
        ),
    }

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        return not _is_last_sign_in_factor(authenticator.user, authenticator.pk)

    def get_totp_issuer(self) -> str:
        return settings.MFA_TOTP_ISSUER

    def generate_authenticator_name(self, user, type) -> str:
        count = Authenticator.objects.filter(user_id=user.pk, type=type).count()
        return _("Passkey %(number)s") % {"number": count + 1}
