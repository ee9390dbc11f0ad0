"""Account settings: User management, Organization profile, and the invitation link."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.middleware import client_ip
from membership import invitations, services
from membership.access import get_for_organization_or_404, member_required
from membership.forms import (
    InvitationAcceptForm,
    InvitationAnswerForm,
    OrganizationProfileForm,
    UserAddForm,
    UserRolesForm,
)
from membership.middleware import SESSION_ORGANIZATION_KEY
from membership.models import Invitation, Membership, Organization, Role
from membership.permissions import Action
from membership.second_factor import second_factor_required, step_up_response
from membership.selectors import (
    organization_invitations,
    organization_team,
    organization_team_changes,
    role_labels,
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
        "invitations": organization_invitations(organization=organization),
        "changes": organization_team_changes(organization=organization),
    }
    return render(request, "membership/users.html", context)


@require_http_methods(["GET", "POST"])
@member_required(Action.MANAGE_USERS)
@second_factor_required
def user_add(request: HttpRequest) -> HttpResponse:
    form = UserAddForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = invitations.user_invite(
                organization=request.organization,
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                roles=set(form.cleaned_data["roles"]),
                actor=request.user,
                ip_address=client_ip(request),
                language=translation.get_language(),
            )
        except ValidationError as error:
            form.add_error("email", error)
        else:
            # The same words whether or not the address has an account (docs/abuse.md).
            messages.success(
                request,
                _("We emailed an invitation to %(email)s. They join once they accept it.")
                % {"email": invitation.user.email},
            )
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


@require_http_methods(["GET", "POST"])
@member_required(Action.MANAGE_USERS)
@second_factor_required
def user_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    """**Remove**: a page naming the person and what they lose (GET), then the removal (POST)."""
    member = _member_or_404(request, membership_id)
    if request.method == "GET":
        context = {
            "member": member,
            "roles": role_labels(grant.role for grant in member.role_grants.all()),
            "is_self": member.user_id == request.user.pk,
        }
        return render(request, "membership/user_remove.html", context)
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


def _invitation_or_404(request: HttpRequest, invitation_id: int) -> Invitation:
    return get_for_organization_or_404(
        Invitation.objects.select_related("user", "organization").filter(used_at__isnull=True),
        request,
        pk=invitation_id,
    )


@require_POST
@member_required(Action.MANAGE_USERS)
@second_factor_required
def invitation_resend(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = _invitation_or_404(request, invitation_id)
    try:
        invitations.invitation_resend(
            invitation=invitation,
            actor=request.user,
            ip_address=client_ip(request),
            language=translation.get_language(),
        )
    except ValidationError as error:
        messages.error(request, _first_error(error))
    else:
        messages.success(
            request,
            _("A new invitation link was sent to %(email)s.") % {"email": invitation.user.email},
        )
    return redirect("membership:users")


@require_POST
@member_required(Action.MANAGE_USERS)
@second_factor_required
def invitation_cancel(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = _invitation_or_404(request, invitation_id)
    try:
        invitations.invitation_cancel(
            invitation=invitation, actor=request.user, ip_address=client_ip(request)
        )
    except ValidationError as error:
        messages.error(request, _first_error(error))
    else:
        messages.success(
            request,
            _("The invitation to %(email)s was canceled; its link no longer works.")
            % {"email": invitation.user.email},
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


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the link of an invitation email; the token is its key. A newcomer chooses a
    password here and joins; someone with an account signs in first (second factor included) and
    then accepts or declines. Nothing changes for them before that."""
    try:
        invitation = invitations.invitation_usable(token=token)
    except invitations.InvitationError as error:
        return _invitation_problem(request, error)
    if not invitation.user.has_usable_password():
        return _invitation_choose_password(request, token, invitation)
    return _invitation_answer(request, token, invitation)


def _invitation_problem(request: HttpRequest, error: invitations.InvitationError) -> HttpResponse:
    context = {"problem": _first_error(error), "code": error.code}
    status = {"invalid": 404, "staff": 403, "other_account": 403}.get(error.code, 410)
    return render(request, "membership/invitation_invalid.html", context, status=status)


def _invitation_choose_password(
    request: HttpRequest, token: str, invitation: Invitation
) -> HttpResponse:
    form = InvitationAcceptForm(invitation.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            accepted = invitations.invitation_accept(
                token=token,
                password=form.cleaned_data["new_password1"],
                ip_address=client_ip(request),
            )
        except invitations.InvitationError as error:
            return _invitation_problem(request, error)
        # The account as saved with its new password (the session is signed with it).
        login(request, accepted.user, backend="django.contrib.auth.backends.ModelBackend")
        request.session[SESSION_ORGANIZATION_KEY] = invitation.organization_id
        messages.success(
            request,
            _("Welcome to %(name)s. Your password is set.")
            % {"name": invitation.organization.name},
        )
        return redirect("dashboard")
    context = {"form": form, "invitation": invitation}
    return render(request, "membership/invitation_accept.html", context)


def _invitation_answer(request: HttpRequest, token: str, invitation: Invitation) -> HttpResponse:
    """Someone with an account: signed in as the invited person, second factor passed (the
    gate, SecondFactorRequiredMiddleware) and recent (the step-up), they join or decline."""
    context = {
        "invitation": invitation,
        "roles": role_labels(invitation.roles),
        "sign_in_url": redirect_to_login(request.get_full_path())["Location"],
    }
    if not request.user.is_authenticated or request.user.pk != invitation.user_id:
        status = 200 if not request.user.is_authenticated else 403
        return render(request, "membership/invitation_join.html", context, status=status)
    form = InvitationAnswerForm(request.POST or None)
    if request.method == "POST":
        step_up = step_up_response(request)
        if step_up is not None:
            return step_up
    if request.method == "POST" and form.is_valid():
        join = form.cleaned_data["answer"] == "join"
        answer = invitations.invitation_join if join else invitations.invitation_decline
        try:
            answer(token=token, user=request.user, ip_address=client_ip(request))
        except invitations.InvitationError as error:
            return _invitation_problem(request, error)
        name = invitation.organization.name
        if join:
            request.session[SESSION_ORGANIZATION_KEY] = invitation.organization_id
            messages.success(request, _("You joined %(name)s.") % {"name": name})
        else:
            messages.success(
                request,
                _("You declined the invitation to %(name)s. Nothing changed.") % {"name": name},
            )
        return redirect("dashboard")
    return render(request, "membership/invitation_join.html", {**context, "form": form})
