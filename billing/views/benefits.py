"""Partnership > Benefits: what the Action Pack gives this term, and the actions on it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.forms import PersonEmailForm
from billing.models import BenefitGrant, SeatAssignment
from billing.selectors.benefits import (
    assignments_for_organization,
    benefits_overview,
    grants_for_organization,
)
from billing.services import benefits as services
from core.templatetags.localized import localized
from membership.access import member_required
from membership.permissions import Action


def _grant_or_404(request: HttpRequest, grant_id: int) -> BenefitGrant:
    # Scoped to the request's organization: another organization's grant id gives 404.
    return get_object_or_404(
        grants_for_organization(organization=request.organization), pk=grant_id
    )


def _assignment_or_404(request: HttpRequest, assignment_id: int) -> SeatAssignment:
    queryset = assignments_for_organization(organization=request.organization)
    return get_object_or_404(queryset, pk=assignment_id)


def _done(request: HttpRequest, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("billing:benefits")


def _refused(request: HttpRequest, error: ValidationError) -> HttpResponse:
    messages.error(request, error.messages[0])
    return redirect("billing:benefits")


@member_required(Action.MANAGE_BENEFITS)
def benefits(request: HttpRequest) -> HttpResponse:
    overview = benefits_overview(organization=request.organization)
    return render(
        request,
        "billing/benefits.html",
        {"overview": overview, "email_form": PersonEmailForm()},
    )


@require_POST
@member_required(Action.MANAGE_BENEFITS)
def benefit_get_key(request: HttpRequest, grant_id: int) -> HttpResponse:
    grant = _grant_or_404(request, grant_id)
    try:
        key = services.product_key_issue(grant=grant, actor=request.user)
    except ValidationError as error:
        return _refused(request, error)
    return _done(request, _("Your product key: %(key)s") % {"key": key.key})


@require_POST
@member_required(Action.MANAGE_BENEFITS)
def benefit_activate(request: HttpRequest, grant_id: int) -> HttpResponse:
    grant = _grant_or_404(request, grant_id)
    try:
        services.benefit_activate(grant=grant, actor=request.user)
    except ValidationError as error:
        return _refused(request, error)
    return _done(request, _("Activated: %(name)s.") % {"name": localized(grant.benefit, "name")})


@require_POST
@member_required(Action.MANAGE_BENEFITS)
def benefit_assign(request: HttpRequest, grant_id: int) -> HttpResponse:
    grant = _grant_or_404(request, grant_id)
    form = PersonEmailForm(request.POST)
    if not form.is_valid():
        return _refused(request, ValidationError(_("Enter a valid email address.")))
    try:
        seat = services.seat_assign(
            grant=grant, email=form.cleaned_data["email"], actor=request.user
        )
    except ValidationError as error:
        return _refused(request, error)
    return _done(
        request,
        _("%(name)s assigned to %(email)s.")
        % {"name": localized(grant.benefit, "name"), "email": seat.email},
    )


@require_POST
@member_required(Action.MANAGE_BENEFITS)
def benefit_unassign(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _assignment_or_404(request, assignment_id)
    try:
        services.seat_unassign(assignment=assignment, actor=request.user)
    except ValidationError as error:
        return _refused(request, error)
    return _done(request, _("%(email)s no longer has it.") % {"email": assignment.email})


@require_POST
@member_required(Action.MANAGE_BENEFITS)
def benefit_reassign(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _assignment_or_404(request, assignment_id)
    form = PersonEmailForm(request.POST)
    if not form.is_valid():
        return _refused(request, ValidationError(_("Enter a valid email address.")))
    previous = assignment.email
    try:
        assignment = services.license_reassign(
            assignment=assignment, email=form.cleaned_data["email"], actor=request.user
        )
    except ValidationError as error:
        return _refused(request, error)
    return _done(
        request,
        _("Reassigned from %(before)s to %(after)s.")
        % {"before": previous, "after": assignment.email},
    )
