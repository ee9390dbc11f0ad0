"""The case list and the case page.

Every change goes through ``support.services`` so that it is kept in the case history and the
partner is emailed when they should be; the admin never saves a case or a message itself.
"""

from __future__ import annotations

import re
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from billing.admin.cancellations import cancel_page
from billing.models import LIVE_STATUSES
from billing.services.cancellations import CANCEL_PERMISSION
from core import clock
from core.admin import EMAIL, PARTNER_ID, LargeTableAdmin, exactly
from membership.models import User
from support.admin.filters import AssigneeFilter, ResponseDueFilter, StatusFilter
from support.admin.inlines import (
    ConversationInline,
    HistoryInline,
    NewMessageInline,
    StaffMessageForm,
    attachment_links,
)
from support.models import (
    CannedReply,
    RequestStatus,
    ServiceRequest,
)
from support.selectors import (
    service_requests_for_staff,
)
from support.services import (
    STAFF_TRANSITIONS,
    service_request_assign,
    service_request_cancel_subscription,
    service_request_give_back_incident,
    service_request_set_severity,
    service_request_set_status,
    service_request_staff_message,
)
from support.views import attachment_response

# Buttons on the case page and actions on the list: (name, label, status to set).
STATUS_BUTTONS = [
    ("in_progress", gettext_lazy("Set in progress"), RequestStatus.IN_PROGRESS),
    ("waiting", gettext_lazy("Waiting on partner"), RequestStatus.WAITING_ON_PARTNER),
    ("resolve", gettext_lazy("Resolve"), RequestStatus.RESOLVED),
    ("close", gettext_lazy("Close"), RequestStatus.CLOSED),
]


class GiveBackIncidentForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Why this case was not a product issue (kept as an internal note and in the audit "
            "trail)."
        ),
    )


class CaseForm(forms.ModelForm):
    class Meta:
        model = ServiceRequest
        fields = ["assignee", "severity"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "assignee" in self.fields:
            self.fields["assignee"].queryset = User.objects.filter(
                is_staff=True, is_active=True
            ).order_by("email")


def _short_time(moment) -> str:
    """Compact enough for a column: ``2026-05-04 14:00`` (the admin's time zone)."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


@admin.register(ServiceRequest)
class ServiceRequestAdmin(LargeTableAdmin):
    form = CaseForm
    list_display = [
        "case_number",
        "title",
        "organization_name",
        "issue_type",
        "severity_code",
        "status_label",
        "assignee_name",
        "response_due",
        "last_update",
        "public_messages",
    ]
    list_display_links = ["case_number", "title"]
    list_filter = [StatusFilter, "issue_type", "severity", AssigneeFilter, ResponseDueFilter]
    list_select_related = ["organization", "assignee", "requester"]
    # Free text; a number, a Partner ID or an email address is found through its index instead.
    search_fields = ["title", "organization__name", "requester__email", "contact_email"]
    exact_searches = [
        (re.compile(r"SR-?0*(\d{1,12})", re.IGNORECASE), exactly("pk", transform=int)),
        (PARTNER_ID, exactly("organization__partner_id", "pk")),
        (re.compile(r"0*(\d{1,12})"), exactly("pk", transform=int)),
        (EMAIL, exactly("requester__email__iexact", "contact_email__iexact")),
    ]
    search_help_text = gettext_lazy(
        "Number (SR-0000123), title, organization, Partner ID or requester email."
    )
    ordering = ["-last_activity_at", "-id"]
    actions = ["assign_to_me", "set_waiting_on_partner", "resolve", "close"]
    inlines = [ConversationInline, NewMessageInline, HistoryInline]
    fieldsets = [
        (
            gettext_lazy("Submission"),
            {
                "fields": [
                    "case_number",
                    ("organization_link", "requester_label"),
                    "issue_type",
                    "title",
                    "description_text",
                    ("subscription_label", "order"),
                    ("contact_email", "contact_phone"),
                    "submission_files",
                    "created_at",
                    "support_incident_label",
                ]
            },
        ),
        (
            gettext_lazy("Case"),
            {
                "fields": [
                    "status_label",
                    "assignee",
                    "severity",
                    ("first_response_due", "first_responded_at"),
                    ("last_activity_at", "resolved_at", "closed_at"),
                ]
            },
        ),
    ]
    readonly_fields = [
        "case_number",
        "organization_link",
        "requester_label",
        "issue_type",
        "title",
        "description_text",
        "subscription_label",
        "order",
        "contact_email",
        "contact_phone",
        "submission_files",
        "created_at",
        "support_incident_label",
        "status_label",
        "first_response_due",
        "first_responded_at",
        "last_activity_at",
        "resolved_at",
        "closed_at",
    ]

    class Media:
        css = {"all": ["support/admin_case.css"]}
        js = ["support/admin_case.js"]

    # The list --------------------------------------------------------------------------------

    def get_queryset(self, request):
        return service_requests_for_staff().select_related("subscription__offer", "order")

    @admin.display(description=gettext_lazy("number"), ordering="id")
    def case_number(self, case: ServiceRequest) -> str:
        return case.number

    @admin.display(description=gettext_lazy("severity"), ordering="severity")
    def severity_code(self, case: ServiceRequest) -> str:
        return case.severity

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_label(self, case: ServiceRequest) -> str:
        return format_html(
            '<span class="case-status case-status-{}">{}</span>',
            case.status,
            case.get_status_display(),
        )

    @admin.display(description=gettext_lazy("first response due"), ordering="first_response_due")
    def response_due(self, case: ServiceRequest) -> str:
        due = _short_time(case.first_response_due)
        if case.first_responded_at is not None or case.status == RequestStatus.CLOSED:
            return format_html('<span class="case-answered">{} ✓</span>', due)
        if case.first_response_due < clock.now():
            return format_html('<strong class="case-overdue">{}<br>{}</strong>', due, _("overdue"))
        return due

    @admin.display(description=gettext_lazy("last update"), ordering="last_activity_at")
    def last_update(self, case: ServiceRequest) -> str:
        return _short_time(case.last_activity_at)

    @admin.display(description=gettext_lazy("organization"), ordering="organization__name")
    def organization_name(self, case: ServiceRequest) -> str:
        return case.organization.name

    @admin.display(description=gettext_lazy("assignee"), ordering="assignee__email")
    def assignee_name(self, case: ServiceRequest) -> str:
        return case.assignee.get_short_name() if case.assignee else "—"

    @admin.display(description=gettext_lazy("replies"), ordering="public_message_count")
    def public_messages(self, case: ServiceRequest) -> int:
        return case.public_message_count

    # The case page ---------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("organization"))
    def organization_link(self, case: ServiceRequest) -> str:
        return format_html(
            "{} · {} {}", case.organization.name, _("Partner ID"), case.organization.partner_id
        )

    @admin.display(description=gettext_lazy("requester"))
    def requester_label(self, case: ServiceRequest) -> str:
        return f"{case.requester.get_full_name()} <{case.requester.email}>"

    @admin.display(description=gettext_lazy("description"))
    def description_text(self, case: ServiceRequest) -> str:
        return format_html('<span class="case-message">{}</span>', case.description)

    @admin.display(description=gettext_lazy("subscription"))
    def subscription_label(self, case: ServiceRequest) -> str:
        subscription = case.subscription
        if subscription is None:
            return "—"
        return format_html(
            "{} — {} ({} {})",
            subscription.offer.name,
            subscription.get_status_display(),
            _("anniversary"),
            subscription.current_term_end.isoformat(),
        )

    @admin.display(description=gettext_lazy("attachments"))
    def submission_files(self, case: ServiceRequest) -> str:
        return attachment_links(case.pk, case.attachments.filter(message__isnull=True)) or "—"

    @admin.display(description=gettext_lazy("support incident"))
    def support_incident_label(self, case: ServiceRequest) -> str:
        grant = case.support_incident
        if grant is None:
            return "—"
        used = _("Used one of term %(term)s's %(quantity)s incidents") % {
            "term": grant.term_number,
            "quantity": grant.quantity,
        }
        if case.support_incident_given_back_at is None:
            return used
        return _("%(used)s; given back on %(when)s") % {
            "used": used,
            "when": _short_time(case.support_incident_given_back_at),
        }

    def has_add_permission(self, request):
        return False  # cases come from partners

    def has_delete_permission(self, request, obj=None):
        return False  # a case and its history are kept

    def save_model(self, request, obj, form, change):
        """Edits on the case page go through the services, which keep the history."""
        if "assignee" in form.changed_data:
            service_request_assign(
                service_request=obj, assignee=form.cleaned_data["assignee"], actor=request.user
            )
        if "severity" in form.changed_data:
            service_request_set_severity(
                service_request=obj, severity=form.cleaned_data["severity"], actor=request.user
            )

    def save_formset(self, request, form, formset, change):
        """Only the new-message form saves anything, and through the service; the conversation
        and the history are read-only. The lists feed the admin's own change log."""
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if not issubclass(formset.form, StaffMessageForm):
            return
        for message_form in formset.forms:
            if not message_form.has_changed():
                continue
            data = message_form.cleaned_data
            formset.new_objects.append(
                service_request_staff_message(
                    service_request=form.instance,
                    author=request.user,
                    body=data["body"],
                    is_internal=data["kind"] == StaffMessageForm.INTERNAL,
                    uploads=data.get("attachments") or [],
                )
            )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if case is not None:
            allowed = STAFF_TRANSITIONS[case.status]
            extra_context |= {
                "status_buttons": [
                    (name, label) for name, label, status in STATUS_BUTTONS if status in allowed
                ],
                "may_assign_to_me": case.assignee_id != request.user.pk,
                "may_cancel_subscription": request.user.has_perm(CANCEL_PERMISSION)
                and case.subscription is not None
                and case.subscription.status in LIVE_STATUSES,
                "may_give_back_incident": case.support_incident_id is not None
                and case.support_incident_given_back_at is None,
                "canned_replies": {str(c.pk): c.body for c in CannedReply.objects.all()},
            }
        return super().change_view(request, object_id, form_url, extra_context)

    # Buttons and actions ---------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/do/<str:button>/",
                view(require_POST(self.button_view)),
                name="support_servicerequest_button",
            ),
            path(
                "<path:object_id>/cancel-subscription/",
                view(self.cancel_subscription_view),
                name="support_servicerequest_cancel_subscription",
            ),
            path(
                "<path:object_id>/give-back-incident/",
                view(self.give_back_incident_view),
                name="support_servicerequest_give_back_incident",
            ),
            path(
                "<path:object_id>/files/<int:attachment_pk>/",
                view(self.attachment_view),
                name="support_servicerequest_attachment",
            ),
            *super().get_urls(),
        ]

    def _case_or_404(self, request: HttpRequest, object_id: str) -> ServiceRequest:
        case = self.get_object(request, object_id)
        if case is None:
            raise Http404(_("No such case."))
        return case

    def _case_url(self, case: ServiceRequest) -> str:
        return reverse("admin:support_servicerequest_change", args=[case.pk])

    def button_view(self, request: HttpRequest, object_id: str, button: str) -> HttpResponse:
        """The case page's buttons: Assign to me, Waiting on partner, Resolve, Close, Reopen."""
        case = self._case_or_404(request, object_id)
        if not self.has_change_permission(request, case):
            raise PermissionDenied
        try:
            if button == "assign_to_me":
                service_request_assign(
                    service_request=case, assignee=request.user, actor=request.user
                )
                done = _("%(case)s is assigned to you.")
            else:
                status = next(s for name, _label, s in STATUS_BUTTONS if name == button)
                service_request_set_status(service_request=case, status=status, actor=request.user)
                done = _("%(case)s is now %(status)s.")
        except StopIteration:
            raise Http404(_("No such button.")) from None
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            case.refresh_from_db()
            self.message_user(
                request,
                done % {"case": case.number, "status": case.get_status_display()},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(self._case_url(case))

    def cancel_subscription_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        case = self._case_or_404(request, object_id)
        if not (
            self.has_change_permission(request, case) and request.user.has_perm(CANCEL_PERMISSION)
        ):
            raise PermissionDenied
        if case.subscription is None:
            self.message_user(request, _("This case has no subscription."), messages.ERROR)
            return HttpResponseRedirect(self._case_url(case))
        return cancel_page(
            request,
            model_admin=self,
            subscription=case.subscription,
            data=request.POST if request.method == "POST" else None,
            cancel=partial(
                service_request_cancel_subscription, service_request=case, actor=request.user
            ),
            done=lambda: HttpResponseRedirect(self._case_url(case)),
            extra_context={"original": case, "back_url": self._case_url(case)},
        )

    def give_back_incident_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Give the organization back the incident a case used, when it was not a product issue:
        a page with the reason (GET), then the service (POST)."""
        case = self._case_or_404(request, object_id)
        if not self.has_change_permission(request, case):
            raise PermissionDenied
        form = GiveBackIncidentForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                service_request_give_back_incident(
                    service_request=case, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("The support incident of %(case)s was given back to %(organization)s.")
                    % {"case": case.number, "organization": case.organization.name},
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(self._case_url(case))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": case,
            "form": form,
            "back_url": self._case_url(case),
            "title": _("Give back the support incident"),
        }
        return TemplateResponse(
            request, "admin/support/servicerequest/give_back_incident.html", context
        )

    def attachment_view(self, request: HttpRequest, object_id: str, attachment_pk: int):
        case = self._case_or_404(request, object_id)
        if not self.has_view_permission(request, case):
            raise PermissionDenied
        return attachment_response(get_object_or_404(case.attachments, pk=attachment_pk))

    def _bulk(self, request: HttpRequest, queryset: QuerySet[ServiceRequest], act) -> None:
        done, failed = 0, []
        for case in queryset:
            try:
                act(case)
            except ValidationError as error:
                failed.append(f"{case.number}: {' '.join(error.messages)}")
            else:
                done += 1
        if done:
            self.message_user(
                request, _("%(count)d case(s) updated.") % {"count": done}, messages.SUCCESS
            )
        for failure in failed:
            self.message_user(request, failure, messages.WARNING)

    @admin.action(description=gettext_lazy("Assign to me"), permissions=["change"])
    def assign_to_me(self, request, queryset):
        self._bulk(
            request,
            queryset,
            lambda case: service_request_assign(
                service_request=case, assignee=request.user, actor=request.user
            ),
        )

    def _bulk_status(self, request, queryset, status: str) -> None:
        self._bulk(
            request,
            queryset,
            lambda case: service_request_set_status(
                service_request=case, status=status, actor=request.user
            ),
        )

    @admin.action(description=gettext_lazy("Set waiting on partner"), permissions=["change"])
    def set_waiting_on_partner(self, request, queryset):
        self._bulk_status(request, queryset, RequestStatus.WAITING_ON_PARTNER)

    @admin.action(description=gettext_lazy("Resolve"), permissions=["change"])
    def resolve(self, request, queryset):
        self._bulk_status(request, queryset, RequestStatus.RESOLVED)

    @admin.action(description=gettext_lazy("Close"), permissions=["change"])
    def close(self, request, queryset):
        self._bulk_status(request, queryset, RequestStatus.CLOSED)
