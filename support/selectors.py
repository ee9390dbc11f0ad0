"""Reads about support cases."""

from __future__ import annotations

from django.db.models import QuerySet

from membership.models import Membership, Role
from support.models import ServiceRequest


def service_requests_visible_to(*, membership: Membership) -> QuerySet[ServiceRequest]:
    """A partner sees the requests they filed; a Global admin sees all of the organization's."""
    requests = ServiceRequest.objects.filter(organization=membership.organization)
    if Role.GLOBAL_ADMIN not in membership.role_set:
        requests = requests.filter(requester=membership.user)
    return requests
