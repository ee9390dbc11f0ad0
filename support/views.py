"""Support for partners: Report Partner Center issues > New request, and Service requests >
Partner Center requests (list, open one, reply, close, download a file)."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.selectors.subscriptions import renewal_blocker
from membership.access import get_for_organization_or_404, member_required
from membership.models import Role
from membership.permissions import Action, roles_that_allow
from membership.selectors import organization_people_who_may, user_may
from support.forms import IssueTypeForm, ReplyForm, ServiceRequestForm
from support.models import Attachment, IssueType, RequestStatus, ServiceRequest
from support.selectors import (
    LIST_FILTERS,
    OPEN,
    partner_attachments,
    recommended_solutions,
    service_request_timeline,
    service_requests_for_list,
    service_requests_visible_to,
    support_incidents_for,
)
from support.services import (
    service_request_create,
    service_request_partner_close,
    service_request_partner_reply,
)


def _get_service_request(request: HttpRequest, pk: int) -> ServiceRequest:
    """The request if this member may see it (their own; any of the organization's for a
    Global admin). Anything else, another organization's included, is a 404."""
    visible = service_requests_visible_to(membership=request.membership).select_related(
        "requester", "subscription__offer", "order"
    )
    return get_for_organization_or_404(visible, request, pk=pk)


def _may_file(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return user_may(membership=membership, action=Action.FILE_SUPPORT_REQUESTS)


def _why_not_allowed(request: HttpRequest) -> dict:
    """What a member without a filing role needs, and who can give it to them."""
    roles = roles_that_allow(Action.FILE_SUPPORT_REQUESTS)
    return {
        "filing_roles": [Role(role).label for role in Role.values if role in roles],
        "global_admins": organization_people_who_may(
            organization=request.organization, action=Action.MANAGE_USERS
        ),
    }


def filing_required(view):
    """``member_required(FILE_SUPPORT_REQUESTS)``, but a member without a role that may file
    gets a page saying why (docs/product.md: no role may not file) and whom to ask."""
    guarded = member_required(Action.FILE_SUPPORT_REQUESTS)(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if getattr(request, "membership", None) is not None and not _may_file(request):
            context = _why_not_allowed(request)
            return render(request, "support/not_allowed.html", context, status=403)
        return guarded(request, *args, **kwargs)

    wrapped.required_action = Action.FILE_SUPPORT_REQUESTS
    return wrapped


@require_GET
@member_required(Action.VIEW_DASHBOARD)
def home(request: HttpRequest) -> HttpResponse:
    """Report Partner Center issues: file a new request, or follow the ones filed."""
    open_count = service_requests_for_list(membership=request.membership, which=OPEN).count()
    context = {"open_count": open_count, "may_file": _may_file(request)}
    if not context["may_file"]:
        context |= _why_not_allowed(request)
    return render(request, "support/home.html", context)


def _new_request_initial(request: HttpRequest, issue_type: str, form: ServiceRequestForm) -> dict:
    """Prefill from the link that brought the partner here (e.g. "Cancel subscription")."""
    initial = {
        "issue_type": issue_type,
        "contact_email": request.user.email,
        "contact_phone": request.user.phone,
    }
    subscription_id = request.GET.get("subscription", "")
    subscription = (
        form.fields["subscription"].queryset.filter(pk=subscription_id).first()
        if subscription_id.isdigit()
        else None
    )
    if subscription is not None:  # another organization's id is simply not offered
        initial["subscription"] = subscription.pk
        if issue_type == IssueType.INVOICE_PAYMENT:
            initial["title"] = _("Cancel my subscription: %(offer)s") % {
                "offer": subscription.offer.name
            }
    return initial


def _incidents_context(request: HttpRequest) -> dict:
    """Technical product support uses one of the term's incidents: how many are left, and
    where more come from (the Action Pack's renewal, or buying it)."""
    incidents = support_incidents_for(organization=request.organization)
    if incidents is None:
        return {"incidents": None, "more_incidents_url": reverse("billing:offers")}
    subscription = incidents.subscription
    may_renew_now = (
        user_may(membership=request.membership, action=Action.PURCHASE)
        and renewal_blocker(subscription=subscription) is None
    )
    more = "billing:renew_details" if may_renew_now else "billing:subscription"
    return {"incidents": incidents, "more_incidents_url": reverse(more, args=[subscription.pk])}


@require_http_methods(["GET", "POST"])
@filing_required
def new_request(request: HttpRequest) -> HttpResponse:
    """Issue type → recommended solutions and the details form → Submit."""
    organization = request.organization
    if request.method == "POST":
        form = ServiceRequestForm(request.POST, request.FILES, organization=organization)
        if form.is_valid():
            data = form.cleaned_data
            try:
                service_request = service_request_create(
                    organization=organization,
                    requester=request.user,
                    uploads=data.pop("attachments"),
                    **data,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect("support:request_submitted", pk=service_request.pk)
        issue_type = form.data.get("issue_type", "")
    else:
        chooser = IssueTypeForm(request.GET if "issue_type" in request.GET else None)
        if not chooser.is_valid():
            return render(request, "support/new_request_issue_type.html", {"form": chooser})
        issue_type = chooser.cleaned_data["issue_type"]
        form = ServiceRequestForm(organization=organization)
        form.initial = _new_request_initial(request, issue_type, form)
    if issue_type not in IssueType.values:
        raise Http404("No such issue type.")
    context = {
        "form": form,
        "issue_type_label": IssueType(issue_type).label,
        "solutions": recommended_solutions(issue_type=issue_type),
        "uses_incident": issue_type == IssueType.PRODUCT_SUPPORT,
    }
    if context["uses_incident"]:
        context |= _incidents_context(request)
    # A bound form here is one that did not go through: say so in the status too.
    return render(
        request, "support/new_request.html", context, status=400 if form.is_bound else 200
    )


@require_GET
@member_required(Action.VIEW_DASHBOARD)
def request_submitted(request: HttpRequest, pk: int) -> HttpResponse:
    service_request = _get_service_request(request, pk)
    return render(request, "support/request_submitted.html", {"service_request": service_request})


@require_GET
@member_required(Action.VIEW_DASHBOARD)
def requests(request: HttpRequest) -> HttpResponse:
    """Service requests > Partner Center requests: Open, Closed or All."""
    which = request.GET.get("status", OPEN)
    if which not in LIST_FILTERS:
        which = OPEN
    listing = service_requests_for_list(membership=request.membership, which=which)
    page = Paginator(listing, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "support/requests.html",
        {"page": page, "which": which, "filters": LIST_FILTERS, "may_file": _may_file(request)},
    )


def _detail(
    request: HttpRequest, service_request: ServiceRequest, reply_form: ReplyForm, status: int = 200
) -> HttpResponse:
    may_act = _may_file(request) and service_request.status != RequestStatus.CLOSED
    context = {
        "service_request": service_request,
        "submission_attachments": partner_attachments(service_request=service_request).filter(
            message__isnull=True
        ),
        "timeline": service_request_timeline(service_request=service_request),
        "reply_form": reply_form if may_act else None,
        "may_close": may_act,
    }
    return render(request, "support/request_detail.html", context, status=status)


@require_GET
@member_required(Action.VIEW_DASHBOARD)
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _get_service_request(request, pk), ReplyForm())


@require_POST
@member_required(Action.FILE_SUPPORT_REQUESTS)
def request_reply(request: HttpRequest, pk: int) -> HttpResponse:
    service_request = _get_service_request(request, pk)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            service_request_partner_reply(
                service_request=service_request,
                author=request.user,
                body=form.cleaned_data["body"],
                uploads=form.cleaned_data["attachments"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your reply was sent."))
            return redirect("support:request_detail", pk=service_request.pk)
    return _detail(request, service_request, form, status=400)


@require_POST
@member_required(Action.FILE_SUPPORT_REQUESTS)
def request_close(request: HttpRequest, pk: int) -> HttpResponse:
    service_request = _get_service_request(request, pk)
    service_request_partner_close(service_request=service_request, actor=request.user)
    messages.success(
        request, _("Request %(number)s is closed.") % {"number": service_request.number}
    )
    return redirect("support:request_detail", pk=service_request.pk)


def attachment_response(attachment: Attachment) -> FileResponse:
    """Always a download, with the type its content showed: never rendered as our page."""
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )


@require_GET
@member_required(Action.VIEW_DASHBOARD)
def attachment_download(request: HttpRequest, pk: int, attachment_pk: int) -> FileResponse:
    service_request = _get_service_request(request, pk)
    attachment = get_object_or_404(
        partner_attachments(service_request=service_request), pk=attachment_pk
    )
    return attachment_response(attachment)
