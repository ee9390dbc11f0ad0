"""Case rules: status transitions, first response, assignment, severity, history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from core import clock
from support.models import RequestChange
from support.services import (
    service_request_assign,
    service_request_partner_reply,
    service_request_set_severity,
    service_request_set_status,
    service_request_staff_message,
)

NOON = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC)


def history(service_request) -> list[tuple[str, str, str]]:
    return [
        (change.field, change.old_value, change.new_value)
        for change in RequestChange.objects.filter(request=service_request).order_by("id")
    ]


def test_the_first_public_reply_is_the_first_response(bob, contoso, support_agent, file_request):
    with clock.frozen_at(NOON):
        service_request = file_request(bob, contoso)
    with clock.frozen_at(NOON + dt.timedelta(minutes=90)):
        service_request_staff_message(
            service_request=service_request, author=support_agent, body="On it.", is_internal=False
        )
    with clock.frozen_at(NOON + dt.timedelta(hours=3)):
        service_request_staff_message(
            service_request=service_request, author=support_agent, body="Fixed?", is_internal=False
        )

    service_request.refresh_from_db()
    assert service_request.first_responded_at == NOON + dt.timedelta(minutes=90)
    assert service_request.status == "in_progress"
    assert service_request.last_activity_at == NOON + dt.timedelta(hours=3)


def test_an_internal_note_is_not_a_response_nor_news_for_the_partner(
    bob, contoso, support_agent, file_request, django_capture_on_commit_callbacks
):
    with clock.frozen_at(NOON):
        service_request = file_request(bob, contoso)
    with (
        clock.frozen_at(NOON + dt.timedelta(hours=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        service_request_staff_message(
            service_request=service_request, author=support_agent, body="Hmm.", is_internal=True
        )

    service_request.refresh_from_db()
    assert (service_request.first_responded_at, service_request.status) == (None, "new")
    assert service_request.last_activity_at == NOON
    assert mail.outbox == []


def test_a_public_reply_is_emailed_to_the_requester(
    bob, contoso, support_agent, file_request, django_capture_on_commit_callbacks
):
    service_request = file_request(bob, contoso)

    with django_capture_on_commit_callbacks(execute=True):
        service_request_staff_message(
            service_request=service_request,
            author=support_agent,
            body="Please send a screenshot.",
            is_internal=False,
        )

    assert [m.to for m in mail.outbox] == [["bob@contoso.example"]]
    assert "Please send a screenshot." in mail.outbox[0].body
    assert f"/support/requests/{service_request.pk}/" in mail.outbox[0].body


def test_only_staff_write_as_staff(bob, contoso, file_request):
    service_request = file_request(bob, contoso)

    with pytest.raises(PermissionDenied):
        service_request_staff_message(
            service_request=service_request, author=bob, body="I'm staff", is_internal=True
        )


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("new", "waiting_on_partner"),
        ("new", "resolved"),
        ("in_progress", "waiting_on_partner"),
        ("waiting_on_partner", "resolved"),
        ("resolved", "in_progress"),
        ("resolved", "closed"),
    ],
)
def test_staff_move_a_case(bob, contoso, support_agent, file_request, start, target):
    service_request = file_request(bob, contoso)
    service_request.status = start
    service_request.save()

    service_request_set_status(service_request=service_request, status=target, actor=support_agent)

    service_request.refresh_from_db()
    assert service_request.status == target
    assert history(service_request)[-1] == ("status", start, target)
    assert RequestChange.objects.last().actor == support_agent


@pytest.mark.parametrize("target", ["new", "in_progress", "resolved", "waiting_on_partner"])
def test_a_closed_case_stays_closed(bob, contoso, support_agent, file_request, target):
    service_request = file_request(bob, contoso)
    service_request_set_status(
        service_request=service_request, status="closed", actor=support_agent
    )

    with pytest.raises(ValidationError):
        service_request_set_status(
            service_request=service_request, status=target, actor=support_agent
        )


def test_resolving_records_when_and_tells_the_partner(
    bob, contoso, support_agent, file_request, django_capture_on_commit_callbacks
):
    service_request = file_request(bob, contoso)

    with clock.frozen_at(NOON), django_capture_on_commit_callbacks(execute=True):
        service_request_set_status(
            service_request=service_request, status="resolved", actor=support_agent
        )

    service_request.refresh_from_db()
    assert service_request.resolved_at == NOON
    assert "is resolved" in mail.outbox[0].subject
    assert "reply within 7 days" in mail.outbox[0].body


def test_a_partner_reply_reopens_a_resolved_case(bob, contoso, support_agent, file_request):
    service_request = file_request(bob, contoso)
    service_request_set_status(
        service_request=service_request, status="resolved", actor=support_agent
    )

    service_request_partner_reply(service_request=service_request, author=bob, body="Not fixed.")

    service_request.refresh_from_db()
    assert (service_request.status, service_request.resolved_at) == ("in_progress", None)
    assert history(service_request)[-1] == ("status", "resolved", "in_progress")
    assert RequestChange.objects.last().actor == bob


def test_taking_a_new_case_starts_work_on_it(bob, contoso, support_agent, file_request):
    service_request = file_request(bob, contoso)

    service_request_assign(
        service_request=service_request, assignee=support_agent, actor=support_agent
    )

    service_request.refresh_from_db()
    assert (service_request.assignee, service_request.status) == (support_agent, "in_progress")
    assert history(service_request)[-2:] == [
        ("assignee", "", "agent@partnerportal.example"),
        ("status", "new", "in_progress"),
    ]
    assignee_change = RequestChange.objects.get(field="assignee")
    assert assignee_change.is_public is False  # who works on it is ours to know


def test_cases_go_to_staff_only(bob, alice, contoso, support_agent, file_request):
    service_request = file_request(bob, contoso)

    with pytest.raises(ValidationError):
        service_request_assign(service_request=service_request, assignee=alice, actor=support_agent)


def test_severity_moves_the_response_target_until_answered(
    bob, contoso, support_agent, file_request
):
    with clock.frozen_at(NOON):
        service_request = file_request(bob, contoso, severity="C")

    service_request_set_severity(service_request=service_request, severity="A", actor=support_agent)

    service_request.refresh_from_db()
    assert service_request.first_response_due == NOON + dt.timedelta(hours=2)
    assert history(service_request)[-1] == ("severity", "C", "A")


def test_response_targets_come_from_settings(bob, contoso, file_request, settings):
    settings.SUPPORT_RESPONSE_HOURS = {"A": 1, "B": 3, "C": 24}

    with clock.frozen_at(NOON):
        service_request = file_request(bob, contoso, severity="C")

    assert service_request.first_response_due == NOON + dt.timedelta(hours=24)


def test_a_request_cannot_point_at_another_organizations_subscription(
    bob, contoso, fabrikam, offer, file_request
):
    from tests.billing.factories import make_subscription

    theirs = make_subscription(fabrikam, offer, started_on=dt.date(2026, 4, 1))

    with pytest.raises(ValidationError):
        file_request(bob, contoso, subscription=theirs)
