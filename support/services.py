"""Writes about support cases: filing, replies, status changes, assignment, auto-close, and
cancelling a subscription from a case. Views, the admin and the Celery task only call these.

Every change is kept in the case history (``RequestChange``): who, what, from, to, when, and
whether the partner sees it on their timeline.

A little over the house's ~500 lines: a case's writes stay together, each one keeping its history
(filing, with the support incident it uses, replies, statuses, assignment).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import BenefitGrant, Order, Subscription
from billing.services.benefits import support_incident_give_back, support_incident_use
from billing.services.cancellations import (
    CANCEL_PERMISSION,
    CancellationOutcome,
    subscription_cancel,
)
from core import clock
from core.money import format_money
from membership.models import AuditEvent, Organization, User
from membership.services import audit_record
from support import emails
from support.attachments import attachments_check
from support.models import (
    Attachment,
    IssueType,
    Message,
    RequestChange,
    RequestStatus,
    ServiceRequest,
)

# Where staff may move a case. Closed is final: a partner with more to say files a new request.
STAFF_TRANSITIONS: dict[str, frozenset[str]] = {
    RequestStatus.NEW: frozenset(
        {
            RequestStatus.IN_PROGRESS,
            RequestStatus.WAITING_ON_PARTNER,
            RequestStatus.RESOLVED,
            RequestStatus.CLOSED,
        }
    ),
    RequestStatus.IN_PROGRESS: frozenset(
        {RequestStatus.WAITING_ON_PARTNER, RequestStatus.RESOLVED, RequestStatus.CLOSED}
    ),
    RequestStatus.WAITING_ON_PARTNER: frozenset(
        {RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED, RequestStatus.CLOSED}
    ),
    RequestStatus.RESOLVED: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.CLOSED}),
    RequestStatus.CLOSED: frozenset(),
}

# A partner's reply means the ball is back with us.
REOPENED_BY_PARTNER_REPLY = frozenset({RequestStatus.WAITING_ON_PARTNER, RequestStatus.RESOLVED})


def first_response_due(*, created_at: dt.datetime, severity: str) -> dt.datetime:
    return created_at + dt.timedelta(hours=settings.SUPPORT_RESPONSE_HOURS[severity])


def _change_record(
    service_request: ServiceRequest,
    *,
    actor: User | None,
    field: str,
    old: str = "",
    new: str = "",
    is_public: bool = True,
    at: dt.datetime,
) -> RequestChange:
    return RequestChange.objects.create(
        request=service_request,
        actor=actor,
        field=field,
        old_value=str(old)[:200],
        new_value=str(new)[:200],
        is_public=is_public,
        created_at=at,
    )


def _attachments_save(
    service_request: ServiceRequest,
    *,
    uploads: Sequence[UploadedFile],
    message: Message | None,
    uploaded_by: User,
    at: dt.datetime,
) -> list[Attachment]:
    saved = []
    for upload, content_type in attachments_check(list(uploads)):
        attachment = Attachment(
            request=service_request,
            message=message,
            original_name=upload.name[:255],
            content_type=content_type,
            size=upload.size,
            uploaded_by=uploaded_by,
            created_at=at,
        )
        attachment.file.save(upload.name, upload, save=False)
        attachment.save()
        saved.append(attachment)
    return saved


def _status_set(
    service_request: ServiceRequest, *, status: str, actor: User | None, at: dt.datetime
) -> None:
    """Move the (locked) case to ``status``, with its timestamps and a history row."""
    previous = service_request.status
    service_request.status = status
    if status == RequestStatus.RESOLVED:
        service_request.resolved_at = at
    elif status == RequestStatus.CLOSED:
        service_request.closed_at = at
    else:
        service_request.resolved_at = None
    service_request.last_activity_at = at
    service_request.save(update_fields=["status", "resolved_at", "closed_at", "last_activity_at"])
    _change_record(service_request, actor=actor, field="status", old=previous, new=status, at=at)


def _locked(service_request: ServiceRequest) -> ServiceRequest:
    return (
        ServiceRequest.objects.select_for_update(of=("self",))
        .select_related("organization", "requester", "assignee")
        .get(pk=service_request.pk)
    )


def _incident_detail(grant: BenefitGrant) -> dict:
    return {
        "subscription": grant.subscription_id,
        "term": grant.term_number,
        "used": grant.used_quantity,
        "quantity": grant.quantity,
    }


# Partners ------------------------------------------------------------------------------------


@transaction.atomic
def service_request_create(
    *,
    organization: Organization,
    requester: User,
    issue_type: str,
    title: str,
    description: str,
    severity: str,
    contact_email: str,
    contact_phone: str = "",
    subscription: Subscription | None = None,
    order: Order | None = None,
    uploads: Sequence[UploadedFile] = (),
) -> ServiceRequest:
    """File a request. Its first-response target comes from its severity.

    Technical product support uses one of the organization's technical support incidents,
    counted under a lock on the term's grant in this same transaction: when none is left (or
    there is no Action Pack) ``BenefitError`` is raised and nothing is filed.
    """
    if subscription is not None and subscription.organization_id != organization.pk:
        raise ValidationError(_("That subscription belongs to another organization."))
    if order is not None and order.organization_id != organization.pk:
        raise ValidationError(_("That order belongs to another organization."))
    incidents = None
    if issue_type == IssueType.PRODUCT_SUPPORT:
        incidents = support_incident_use(organization=organization)
    now = clock.now()
    service_request = ServiceRequest.objects.create(
        organization=organization,
        requester=requester,
        support_incident=incidents,
        issue_type=issue_type,
        title=title,
        description=description,
        severity=severity,
        subscription=subscription,
        order=order,
        contact_email=contact_email,
        contact_phone=contact_phone,
        created_at=now,
        last_activity_at=now,
        first_response_due=first_response_due(created_at=now, severity=severity),
    )
    _attachments_save(service_request, uploads=uploads, message=None, uploaded_by=requester, at=now)
    _change_record(service_request, actor=requester, field="created", new=RequestStatus.NEW, at=now)
    if incidents is not None:
        remaining = incidents.quantity - incidents.used_quantity
        _change_record(
            service_request,
            actor=requester,
            field="support_incident_used",
            new=str(remaining),
            at=now,
        )
        audit_record(
            action=AuditEvent.Action.SUPPORT_INCIDENT_USED,
            organization=organization,
            actor=requester,
            target=service_request.number,
            detail=_incident_detail(incidents),
        )
    transaction.on_commit(lambda: emails.email_request_received(service_request=service_request))
    transaction.on_commit(lambda: emails.email_staff_request_filed(service_request=service_request))
    return service_request


@transaction.atomic
def service_request_partner_reply(
    *,
    service_request: ServiceRequest,
    author: User,
    body: str,
    uploads: Sequence[UploadedFile] = (),
) -> Message:
    """The partner answers. Waiting on partner or Resolved goes back to In progress."""
    service_request = _locked(service_request)
    if service_request.status == RequestStatus.CLOSED:
        raise ValidationError(
            _("This request is closed. File a new request if you still need help.")
        )
    now = clock.now()
    message = Message.objects.create(
        request=service_request, author=author, body=body, is_from_staff=False, created_at=now
    )
    _attachments_save(service_request, uploads=uploads, message=message, uploaded_by=author, at=now)
    if service_request.status in REOPENED_BY_PARTNER_REPLY:
        _status_set(service_request, status=RequestStatus.IN_PROGRESS, actor=author, at=now)
    else:
        ServiceRequest.objects.filter(pk=service_request.pk).update(last_activity_at=now)
    transaction.on_commit(lambda: emails.email_staff_partner_replied(message=message))
    return message


@transaction.atomic
def service_request_partner_close(
    *, service_request: ServiceRequest, actor: User
) -> ServiceRequest:
    """The partner closes their request (solved, or no longer needed)."""
    service_request = _locked(service_request)
    if service_request.status == RequestStatus.CLOSED:
        return service_request
    _status_set(service_request, status=RequestStatus.CLOSED, actor=actor, at=clock.now())
    return service_request


# Staff ---------------------------------------------------------------------------------------


def _staff_check(user: User) -> None:
    if not user.is_staff:
        raise PermissionDenied(_("Only staff work on cases."))


@transaction.atomic
def service_request_staff_message(
    *,
    service_request: ServiceRequest,
    author: User,
    body: str,
    is_internal: bool,
    uploads: Sequence[UploadedFile] = (),
) -> Message:
    """A public reply (emailed to the requester, on their timeline) or an internal note.

    The first public reply is the first response; it also takes a New case into progress.
    Internal notes are invisible to the partner, so they do not count as activity they see.
    """
    _staff_check(author)
    service_request = _locked(service_request)
    now = clock.now()
    message = Message.objects.create(
        request=service_request,
        author=author,
        body=body,
        is_internal=is_internal,
        is_from_staff=True,
        created_at=now,
    )
    _attachments_save(service_request, uploads=uploads, message=message, uploaded_by=author, at=now)
    if is_internal:
        return message
    if service_request.first_responded_at is None:
        service_request.first_responded_at = now
        service_request.save(update_fields=["first_responded_at"])
        _change_record(
            service_request,
            actor=author,
            field="first_response",
            new=now.isoformat(timespec="minutes"),
            is_public=False,
            at=now,
        )
    if service_request.status == RequestStatus.NEW:
        _status_set(service_request, status=RequestStatus.IN_PROGRESS, actor=author, at=now)
    else:
        ServiceRequest.objects.filter(pk=service_request.pk).update(last_activity_at=now)
    transaction.on_commit(lambda: emails.email_request_replied(message=message))
    return message


@transaction.atomic
def service_request_set_status(
    *, service_request: ServiceRequest, status: str, actor: User
) -> ServiceRequest:
    """Staff move a case (Waiting on partner, Resolve, Close…); Resolved emails the partner."""
    _staff_check(actor)
    service_request = _locked(service_request)
    if service_request.status == status:
        return service_request
    if status not in STAFF_TRANSITIONS[service_request.status]:
        raise ValidationError(
            _("A case that is %(old)s cannot be set to %(new)s.")
            % {
                "old": RequestStatus(service_request.status).label,
                "new": RequestStatus(status).label,
            }
        )
    _status_set(service_request, status=status, actor=actor, at=clock.now())
    if status == RequestStatus.RESOLVED:
        transaction.on_commit(
            lambda: emails.email_request_resolved(service_request=service_request)
        )
    return service_request


@transaction.atomic
def service_request_assign(
    *, service_request: ServiceRequest, assignee: User | None, actor: User
) -> ServiceRequest:
    """Give the case to a staff member (or to nobody). Taking a New case starts work on it."""
    _staff_check(actor)
    if assignee is not None and not assignee.is_staff:
        raise ValidationError(_("Cases are assigned to staff only."))
    service_request = _locked(service_request)
    now = clock.now()
    if service_request.assignee_id != (assignee.pk if assignee else None):
        previous = service_request.assignee.email if service_request.assignee else ""
        service_request.assignee = assignee
        service_request.save(update_fields=["assignee"])
        _change_record(
            service_request,
            actor=actor,
            field="assignee",
            old=previous,
            new=assignee.email if assignee else "",
            is_public=False,
            at=now,
        )
    if assignee is not None and service_request.status == RequestStatus.NEW:
        _status_set(service_request, status=RequestStatus.IN_PROGRESS, actor=actor, at=now)
    return service_request


@transaction.atomic
def service_request_set_severity(
    *, service_request: ServiceRequest, severity: str, actor: User
) -> ServiceRequest:
    """Change the severity; until someone has answered, the response target follows it."""
    _staff_check(actor)
    service_request = _locked(service_request)
    if service_request.severity == severity:
        return service_request
    previous = service_request.severity
    service_request.severity = severity
    if service_request.first_responded_at is None:
        service_request.first_response_due = first_response_due(
            created_at=service_request.created_at, severity=severity
        )
    service_request.save(update_fields=["severity", "first_response_due"])
    _change_record(
        service_request, actor=actor, field="severity", old=previous, new=severity, at=clock.now()
    )
    return service_request


@transaction.atomic
def service_request_give_back_incident(
    *, service_request: ServiceRequest, actor: User, reason: str
) -> ServiceRequest:
    """Give the organization back the support incident this case used: it was not a product
    issue (a portal problem, a billing question…). Once per case, with a reason, audited; the
    partner's timeline says so, the reason stays an internal note.
    """
    _staff_check(actor)
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why the incident is given back."))
    service_request = _locked(service_request)
    if service_request.support_incident_id is None:
        raise ValidationError(_("This case did not use a support incident."))
    if service_request.support_incident_given_back_at is not None:
        raise ValidationError(_("This case's support incident was given back already."))
    grant = support_incident_give_back(grant=service_request.support_incident)
    now = clock.now()
    service_request.support_incident_given_back_at = now
    service_request.last_activity_at = now
    service_request.save(update_fields=["support_incident_given_back_at", "last_activity_at"])
    _change_record(
        service_request,
        actor=actor,
        field="support_incident_given_back",
        new=str(grant.quantity - grant.used_quantity),
        at=now,
    )
    Message.objects.create(
        request=service_request,
        author=actor,
        body=_("Support incident given back: %(reason)s") % {"reason": reason},
        is_internal=True,
        is_from_staff=True,
        created_at=now,
    )
    audit_record(
        action=AuditEvent.Action.SUPPORT_INCIDENT_GIVEN_BACK,
        organization=service_request.organization,
        actor=actor,
        target=service_request.number,
        detail={**_incident_detail(grant), "reason": reason[:500]},
    )
    return service_request


def service_request_cancel_subscription(
    *,
    service_request: ServiceRequest,
    actor: User,
    at_term_end: bool,
    refund_amount: int | None,
    reason: str,
) -> CancellationOutcome:
    """Cancel the case's subscription through billing and put it on the case's timeline.

    Not one transaction: billing refunds through Stripe between its own transactions (see
    ``billing.services.cancellations``). The case is written after billing has committed.
    """
    if not actor.has_perm(CANCEL_PERMISSION):
        raise PermissionDenied(_("You may not cancel subscriptions."))
    if service_request.subscription_id is None:
        raise ValidationError(_("This case has no subscription to cancel."))
    outcome = subscription_cancel(
        subscription=service_request.subscription,
        actor=actor,
        at_term_end=at_term_end,
        refund_amount=refund_amount,
        reason=reason,
        also_notify=[service_request.requester],
    )
    if not outcome.changed:
        return outcome
    with transaction.atomic():
        locked = _locked(service_request)
        now = clock.now()
        _change_record(
            locked,
            actor=actor,
            field="subscription_cancel_scheduled" if at_term_end else "subscription_canceled",
            old=outcome.previous_status,
            new=outcome.ends_on.isoformat(),
            at=now,
        )
        if outcome.refund is not None:
            _change_record(
                locked,
                actor=actor,
                field="refund",
                new=format_money(outcome.refund.amount, outcome.refund.currency, "en"),
                at=now,
            )
        if reason:
            Message.objects.create(
                request=locked,
                author=actor,
                body=_("Cancellation reason: %(reason)s") % {"reason": reason},
                is_internal=True,
                is_from_staff=True,
                created_at=now,
            )
        ServiceRequest.objects.filter(pk=locked.pk).update(last_activity_at=now)
    return outcome


# Jobs ----------------------------------------------------------------------------------------


def service_requests_auto_close(*, now: dt.datetime | None = None) -> int:
    """Close cases resolved ``SUPPORT_AUTO_CLOSE_DAYS`` ago without a reply since.

    A partner reply takes a case out of Resolved, so every case still Resolved has had no
    reply. Each case is claimed with a conditional update: two runs close nothing twice.
    """
    now = now or clock.now()
    cutoff = now - dt.timedelta(days=settings.SUPPORT_AUTO_CLOSE_DAYS)
    due = ServiceRequest.objects.filter(status=RequestStatus.RESOLVED, resolved_at__lte=cutoff)
    closed = 0
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            won = ServiceRequest.objects.filter(
                pk=pk, status=RequestStatus.RESOLVED, resolved_at__lte=cutoff
            ).update(status=RequestStatus.CLOSED, closed_at=now, last_activity_at=now)
            if won:
                RequestChange.objects.create(
                    request_id=pk,
                    actor=None,
                    field="status",
                    old_value=RequestStatus.RESOLVED,
                    new_value=RequestStatus.CLOSED,
                    created_at=now,
                )
                closed += 1
    return closed
