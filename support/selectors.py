"""Reads about support cases."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, Count, OuterRef, Prefetch, Q, QuerySet, Subquery, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from billing.models import Subscription, SubscriptionStatus
from billing.selectors.benefits import support_incidents_grant
from core import clock
from membership.models import Membership, Organization, Role
from support.models import (
    Attachment,
    Message,
    RecommendedSolution,
    RequestChange,
    RequestStatus,
    ServiceRequest,
)

OPEN, CLOSED, ALL = "open", "closed", "all"
LIST_FILTERS = (OPEN, CLOSED, ALL)


def service_requests_visible_to(*, membership: Membership) -> QuerySet[ServiceRequest]:
    """A partner sees the requests they filed; a Global admin sees all of the organization's."""
    requests = ServiceRequest.objects.filter(organization=membership.organization)
    if Role.GLOBAL_ADMIN not in membership.role_set:
        requests = requests.filter(requester=membership.user)
    return requests


def service_requests_for_list(*, membership: Membership, which: str) -> QuerySet[ServiceRequest]:
    """The Partner Center requests list: Open (anything not closed), Closed or All."""
    requests = service_requests_visible_to(membership=membership).select_related("requester")
    if which == OPEN:
        requests = requests.exclude(status=RequestStatus.CLOSED)
    elif which == CLOSED:
        requests = requests.filter(status=RequestStatus.CLOSED)
    return requests.order_by("-last_activity_at", "-id")


def recommended_solutions(*, issue_type: str) -> QuerySet[RecommendedSolution]:
    return RecommendedSolution.objects.filter(issue_type=issue_type).order_by("position", "id")


@dataclass(frozen=True)
class SupportIncidents:
    """The organization's technical support incidents this term, as the New request form
    shows them; the count starts again with each term of the Action Pack."""

    quantity: int
    remaining: int
    subscription: Subscription


def support_incidents_for(*, organization: Organization) -> SupportIncidents | None:
    """This term's incidents, or ``None`` without a live Action Pack (none can be used)."""
    grant = support_incidents_grant(organization=organization)
    if grant is None:
        return None
    return SupportIncidents(
        quantity=grant.quantity,
        remaining=max(grant.quantity - grant.used_quantity, 0),
        subscription=Subscription.objects.select_related("offer").get(pk=grant.subscription_id),
    )


def partner_attachments(*, service_request: ServiceRequest) -> QuerySet[Attachment]:
    """Files the partner may see: theirs, and those on staff's public replies."""
    return service_request.attachments.filter(
        Q(message__isnull=True) | Q(message__is_internal=False)
    ).order_by("created_at", "id")


@dataclass
class TimelineEntry:
    at: dt.datetime
    kind: str  # "message" or "change"
    text: str = ""
    message: Message | None = None
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def is_staff(self) -> bool:
        return self.message is not None and self.message.is_from_staff


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def change_summary(change: RequestChange) -> str:
    """One sentence about a history row, for the partner's timeline and the staff's history."""
    if change.field == "created":
        return _("Request submitted")
    if change.field == "status":
        return _("Status changed from %(old)s to %(new)s") % {
            "old": _label(RequestStatus, change.old_value),
            "new": _label(RequestStatus, change.new_value),
        }
    if change.field == "severity":
        return _("Severity changed from %(old)s to %(new)s") % {
            "old": change.old_value,
            "new": change.new_value,
        }
    if change.field == "assignee":
        return _("Assigned to %(new)s") % {"new": change.new_value or _("nobody")}
    if change.field == "first_response":
        return _("First response")
    if change.field == "subscription_canceled":
        return _("Subscription canceled (was %(old)s)") % {
            "old": _label(SubscriptionStatus, change.old_value)
        }
    if change.field == "subscription_cancel_scheduled":
        return _("Subscription set to cancel at the end of its term, on %(date)s") % {
            "date": change.new_value
        }
    if change.field == "support_incident_used":
        return _("One technical support incident used (%(remaining)s left this term)") % {
            "remaining": change.new_value
        }
    if change.field == "support_incident_given_back":
        return _("The technical support incident was given back (%(remaining)s left this term)") % {
            "remaining": change.new_value
        }
    if change.field == "refund":
        return _("Refund of %(amount)s issued") % {"amount": change.new_value}
    return f"{change.field}: {change.old_value} → {change.new_value}"


def service_request_timeline(
    *, service_request: ServiceRequest, include_internal: bool = False
) -> list[TimelineEntry]:
    """Messages and history in time order. Partners get public ones only."""
    messages = service_request.messages.select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "id"))
    )
    changes = service_request.changes.all()
    if not include_internal:
        messages = messages.filter(is_internal=False)
        changes = changes.filter(is_public=True)
    entries = [
        TimelineEntry(
            at=m.created_at, kind="message", message=m, attachments=list(m.attachments.all())
        )
        for m in messages
    ]
    entries += [
        TimelineEntry(at=c.created_at, kind="change", text=change_summary(c))
        for c in changes.exclude(field="created")
    ]
    return sorted(entries, key=lambda entry: entry.at)


def service_requests_for_staff() -> QuerySet[ServiceRequest]:
    """The admin changelist: one query for the page, whatever the number of cases.

    The reply count is a correlated subquery rather than a JOIN and GROUP BY, so the page's
    COUNT stays a plain count of cases (Django drops unused subquery annotations from it).
    """
    public_messages = (
        Message.objects.filter(request=OuterRef("pk"), is_internal=False)
        .order_by()
        .values("request")
        .annotate(count=Count("id"))
        .values("count")
    )
    return ServiceRequest.objects.select_related("organization", "assignee", "requester").annotate(
        public_message_count=Coalesce(Subquery(public_messages), 0),
    )


def response_due_soon(*, now: dt.datetime | None = None, within: dt.timedelta) -> Q:
    """Cases nobody has answered yet whose first response falls due within ``within``."""
    now = now or clock.now()
    return Q(
        first_responded_at__isnull=True,
        first_response_due__gte=now,
        first_response_due__lte=now + within,
    ) & ~Q(status=RequestStatus.CLOSED)


def response_overdue(*, now: dt.datetime | None = None) -> Q:
    now = now or clock.now()
    return Q(first_responded_at__isnull=True, first_response_due__lt=now) & ~Q(
        status=RequestStatus.CLOSED
    )


# The staff overview's warning: cases whose first response falls due within this (the admin's
# "Due within 1 hour" filter says the same).
RESPONSE_DUE_SOON = dt.timedelta(hours=1)


@dataclass(frozen=True)
class CasesOverview:
    """Cases per status (every status, 0 included, in the workflow's order), and unanswered
    cases whose first response is due within ``RESPONSE_DUE_SOON`` or overdue."""

    by_status: list[tuple[str, str, int]]  # (status, label, count)
    response_due_soon: int
    response_overdue: int


def cases_overview(*, now: dt.datetime | None = None) -> CasesOverview:
    """Two queries: a GROUP BY status, and the unanswered cases' two counts in one."""
    now = now or clock.now()
    counts = dict(
        ServiceRequest.objects.order_by()
        .values_list("status")
        .annotate(count=Count("pk"))
        .values_list("status", "count")
    )
    # Counted without the id, so that the partial index of unanswered cases (due date and
    # status) answers alone.
    due = ServiceRequest.objects.filter(first_responded_at__isnull=True).aggregate(
        soon=Count(Case(When(response_due_soon(now=now, within=RESPONSE_DUE_SOON), then=1))),
        overdue=Count(Case(When(response_overdue(now=now), then=1))),
    )
    return CasesOverview(
        by_status=[
            (status.value, str(status.label), counts.get(status.value, 0))
            for status in RequestStatus
        ],
        response_due_soon=due["soon"],
        response_overdue=due["overdue"],
    )
