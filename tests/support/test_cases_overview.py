"""The staff overview's cases (``support.selectors.cases_overview``)."""

from __future__ import annotations

import datetime as dt

import pytest

from support.models import RequestStatus, ServiceRequest
from support.selectors import cases_overview

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)


def case(contoso, bob, *, status=RequestStatus.NEW, due_in_minutes=240, answered=False):
    return ServiceRequest.objects.create(
        organization=contoso,
        requester=bob,
        issue_type="technical",
        title="A case",
        description="…",
        status=status,
        contact_email=bob.email,
        first_response_due=NOW + dt.timedelta(minutes=due_in_minutes),
        first_responded_at=NOW if answered else None,
    )


def test_it_counts_every_status_and_the_unanswered_cases_due_soon_or_overdue(contoso, bob):
    case(contoso, bob, due_in_minutes=30)  # due within the hour
    case(contoso, bob, due_in_minutes=90)  # not yet
    case(contoso, bob, due_in_minutes=-5)  # overdue
    case(contoso, bob, due_in_minutes=-5, answered=True, status=RequestStatus.IN_PROGRESS)
    case(contoso, bob, due_in_minutes=-5, status=RequestStatus.CLOSED)  # closed: not overdue

    cases = cases_overview(now=NOW)

    assert [(status, count) for status, _label, count in cases.by_status] == [
        ("new", 3),
        ("in_progress", 1),
        ("waiting_on_partner", 0),
        ("resolved", 0),
        ("closed", 1),
    ]
    assert (cases.response_due_soon, cases.response_overdue) == (1, 1)
