from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.middleware import client_ip
from membership.forms import LanguageForm, PasswordResetRequestForm, SwitchOrganizationForm
from membership.middleware import SESSION_ORGANIZATION_KEY
from membership.second_factor import second_factor_enrolled
from membership.selectors import membership_get
from membership.services import (
    password_reset_request,
    sign_in_failures_clear,
    user_organization_remember,
)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset form; a completed reset also lifts the account's sign-in lockout (the reset
    link proves the mailbox, so failures sprayed by someone else no longer keep the owner out)."""

    def form_valid(self, form):
        response = super().form_valid(form)
        sign_in_failures_clear(email=self.user.email)
        return response


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link. The page says the same, in the same time, whatever the address:
    the worker decides whether there is an account to email (membership.tasks)."""
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password_reset_request(
                email=form.cleaned_data["email"],
                ip_address=client_ip(request),
                language=translation.get_language(),
            )
        except ValidationError as error:
            form.add_error("email", error)
        else:
            return redirect("password_reset_done")
    return render(request, "registration/password_reset_form.html", {"form": form})


@require_safe
@login_required
def second_factor_setup(request: HttpRequest) -> HttpResponse:
    """ "Set up your second factor": where an account without one is taken after its password."""
    if second_factor_enrolled(request.user):
        return redirect("mfa_index")
    return render(request, "membership/second_factor_setup.html")


def _safe_next(request: HttpRequest, target: str | None) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return target
    return "/"


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Save the language for the signed-in user (and in a cookie for the sign-in pages)."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return redirect("/")
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        request.user.language = language
        request.user.save(update_fields=["language"])
    translation.activate(language)
    response = redirect(_safe_next(request, form.cleaned_data["next"]))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=60 * 60 * 24 * 365,
        samesite="Lax",
        secure=request.is_secure(),
    )
    return response


@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    form = SwitchOrganizationForm(request.POST)
    if not form.is_valid():
        raise Http404
    membership = membership_get(
        user=request.user, organization_id=form.cleaned_data["organization"]
    )
    if membership is None:
        raise Http404
    request.session[SESSION_ORGANIZATION_KEY] = membership.organization_id
    user_organization_remember(user=request.user, organization=membership.organization)
    messages.success(
        request, _("You are now working in %(name)s.") % {"name": membership.organization.name}
    )
    return redirect("dashboard")
