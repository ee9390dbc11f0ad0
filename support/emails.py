"""Support's emails: one ``email_<what>`` function each (see ``core.emails``), rendering the
subject/text/html trios in ``templates/emails/support_*``."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from core.emails import absolute_url, email_send
from membership.models import User
from support.models import Message, ServiceRequest


def _partner_recipients(service_request: ServiceRequest) -> list[User | str]:
    """The requester (in their language), and the contact email they gave if it differs."""
    recipients: list[User | str] = [service_request.requester]
    if service_request.contact_email.lower() != service_request.requester.email.lower():
        recipients.append(service_request.contact_email)
    return recipients


def _partner_context(service_request: ServiceRequest) -> dict:
    return {
        "service_request": service_request,
        "request_url": absolute_url(reverse("support:request_detail", args=[service_request.pk])),
        "response_hours": settings.SUPPORT_RESPONSE_HOURS[service_request.severity],
        "auto_close_days": settings.SUPPORT_AUTO_CLOSE_DAYS,
    }


def _staff_context(service_request: ServiceRequest) -> dict:
    return {
        "service_request": service_request,
        "case_url": absolute_url(
            reverse("admin:support_servicerequest_change", args=[service_request.pk])
        ),
    }


def email_request_received(*, service_request: ServiceRequest) -> int:
    return email_send(
        "support_request_received",
        recipients=_partner_recipients(service_request),
        context=_partner_context(service_request),
    )


def email_request_replied(*, message: Message) -> int:
    service_request = message.request
    return email_send(
        "support_request_replied",
        recipients=_partner_recipients(service_request),
        context={**_partner_context(service_request), "message": message},
    )


def email_request_resolved(*, service_request: ServiceRequest) -> int:
    return email_send(
        "support_request_resolved",
        recipients=_partner_recipients(service_request),
        context=_partner_context(service_request),
    )


def email_staff_request_filed(*, service_request: ServiceRequest) -> int:
    return email_send(
        "support_staff_request_filed",
        recipients=[settings.STAFF_ALERT_EMAIL],
        context=_staff_context(service_request),
    )


def email_staff_partner_replied(*, message: Message) -> int:
    """To the assignee, or to the support mailbox while nobody has the case."""
    service_request = message.request
    recipient = service_request.assignee or settings.STAFF_ALERT_EMAIL
    return email_send(
        "support_staff_partner_replied",
        recipients=[recipient],
        context={**_staff_context(service_request), "message": message},
    )
