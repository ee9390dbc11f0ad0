"""Account settings: User management, Organization profile, and the invitation link."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.middleware import client_ip
from membership import services
from membership.access import get_for_organization_or_404, member_required
from membership.forms import (
    InvitationAcceptForm,
    OrganizationProfileForm,
    UserAddForm,
    UserRolesForm,
)
from membership.middleware import SESSION_ORGANIZATION_KEY
from membership.models import Membership, Organization, Role
from membership.permissions import Action
from membership.second_factor import second_factor_required
from membership.selectors import (
    organization_team,
    organization_team_changes,
    second_factor_summary,
)


def _member_or_404(request: HttpRequest, membership_id: int) -> Membership:
    return get_for_organization_or_404(
        Membership.objects.select_related("user", "organization").prefetch_related("role_grants"),
        request,
        pk=membership_id,
    )


def _first_error(error: ValidationError) -> str:
    return error.messages[0]


@member_required(Action.MANAGE_USERS)
def users(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    context = {
        "team": organization_team(organization=organization),
        "changes": organization_team_changes(organization=organization),
    }
    return render(request, "membership/users.html", context)


@member_required(Action.MANAGE_USERS)
@second_factor_required
def user_add(request: HttpRequest) -> HttpResponse:
    form = UserAddForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.user_invite(
                organization=request.organization,
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                roles=set(form.cleaned_data["roles"]),
                actor=request.user,
                ip_address=client_ip(request),
            )
        except ValidationError as error:
            form.add_error("email", error)
        else:
            email = result.membership.user.email
            if result.existing_account:
                message = _(
                    "%(email)s already had an account: they were added and notified by email."
                )
            else:
                message = _("%(email)s was added. We emailed them a link to choose a password.")
            messages.success(request, message % {"email": email})
            return redirect("membership:users")
    context = {"form": form, "valid_days": settings.INVITATION_VALID_DAYS}
    return render(request, "membership/user_add.html", context)


@member_required(Action.MANAGE_USERS)
@second_factor_required
def user_edit(request: HttpRequest, membership_id: int) -> HttpResponse:
    member = _member_or_404(request, membership_id)
    form = UserRolesForm(
        request.POST if request.method == "POST" else None,
        initial={"roles": sorted(member.role_set)},
    )
    if request.method == "POST" and form.is_valid():
        roles = set(form.cleaned_data["roles"])
        try:
            services.membership_change_roles(
                membership=member,
                roles=roles,
                actor=request.user,
                ip_address=client_ip(request),
            )
        except ValidationError as error:
            form.add_error("roles", error)
        else:
            messages.success(request, _("Roles of %(email)s saved.") % {"email": member.user.email})
            # A Global admin who gave up the role can no longer see this page.
            gave_up = member.user_id == request.user.pk and Role.GLOBAL_ADMIN not in roles
            return redirect("dashboard" if gave_up else "membership:users")
    context = {
        "member": member,
        "form": form,
        "second_factor": second_factor_summary(user=member.user),
    }
    return render(request, "membership/user_edit.html", context)


@require_POST
@member_required(Action.MANAGE_USERS)
@second_factor_required
def user_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    member = _member_or_404(request, membership_id)
    try:
        services.membership_remove(
            membership=member, actor=request.user, ip_address=client_ip(request)
        )
    except ValidationError as error:
        messages.error(request, _first_error(error))
    else:
        messages.success(
            request,
            _("%(email)s was removed from the organization.") % {"email": member.user.email},
        )
    return redirect("membership:users")


@require_POST
@member_required(Action.MANAGE_USERS)
@second_factor_required
def user_resend_invitation(request: HttpRequest, membership_id: int) -> HttpResponse:
    member = _member_or_404(request, membership_id)
    try:
        services.invitation_resend(
            membership=member, actor=request.user, ip_address=client_ip(request)
        )
    except ValidationError as error:
        messages.error(request, _first_error(error))
    else:
        messages.success(
            request,
            _("A new invitation link was sent to %(email)s.") % {"email": member.user.email},
        )
    return redirect("membership:users")


@require_POST
@member_required(Action.MANAGE_USERS)
@second_factor_required
def user_reset_second_factor(request: HttpRequest, membership_id: int) -> HttpResponse:
    """For a person who lost their authenticator app or passkey and their recovery codes."""
    member = _member_or_404(request, membership_id)
    try:
        services.second_factor_reset(
            user=member.user,
            actor=request.user,
            organization=request.organization,
            ip_address=client_ip(request),
        )
    except ValidationError as error:
        messages.error(request, _first_error(error))
    else:
        messages.success(
            request,
            _(
                "The second factor of %(email)s was reset and they were signed out. They set up "
                "a new one at their next sign-in; we emailed them."
            )
            % {"email": member.user.email},
        )
    return redirect("membership:user_edit", membership_id=member.pk)


@member_required(Action.MANAGE_PROFILE)
@second_factor_required
def profile(request: HttpRequest) -> HttpResponse:
    # A fresh copy: a form that fails validation must not rename the organization in the top bar.
    instance = Organization.objects.get(pk=request.organization.pk)
    form = OrganizationProfileForm(
        request.POST if request.method == "POST" else None, instance=instance
    )
    if request.method == "POST" and form.is_valid():
        services.organization_update_profile(
            organization=request.organization,
            changes={field: form.cleaned_data[field] for field in form.Meta.fields},
            actor=request.user,
            ip_address=client_ip(request),
        )
        messages.success(request, _("Organization profile saved."))
        return redirect("membership:profile")
    return render(
        request, "membership/profile.html", {"form": form, "organization": request.organization}
    )


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the invited person has no password yet. The token is the only key, used once."""
    try:
        invitation = services.invitation_usable(token=token)
    except services.InvitationError as error:
        context = {"problem": _first_error(error), "code": error.code}
        status = 404 if error.code == "invalid" else 410
        return render(request, "membership/invitation_invalid.html", context, status=status)
    form = InvitationAcceptForm(invitation.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.invitation_accept(token=token, password=form.cleaned_data["new_password1"])
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session[SESSION_ORGANIZATION_KEY] = invitation.organization_id
        messages.success(
            request,
            _("Welcome to %(name)s. Your password is set.")
            % {"name": invitation.organization.name},
        )
        return redirect("dashboard")
    context = {"form": form, "invitation": invitation}
    return render(request, "membership/invitation_accept.html", context)
