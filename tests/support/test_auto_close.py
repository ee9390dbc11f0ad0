"""Resolved cases close after SUPPORT_AUTO_CLOSE_DAYS without a reply (the Celery task)."""

from __future__ import annotations

import datetime as dt

from core import clock
from support.models import RequestChange
from support.services import (
    service_request_partner_reply,
    service_request_set_status,
    service_requests_auto_close,
)
from support.tasks import service_requests_auto_close as auto_close_task

RESOLVED_AT = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def resolved(file_request, bob, contoso, agent):
    service_request = file_request(bob, contoso)
    with clock.frozen_at(RESOLVED_AT):
        service_request_set_status(service_request=service_request, status="resolved", actor=agent)
    return service_request


def test_it_closes_a_case_resolved_seven_days_ago(bob, contoso, support_agent, file_request):
    service_request = resolved(file_request, bob, contoso, support_agent)
    later = RESOLVED_AT + dt.timedelta(days=7)

    with clock.frozen_at(later):
        assert service_requests_auto_close() == 1

    service_request.refresh_from_db()
    assert (service_request.status, service_request.closed_at) == ("closed", later)
    change = RequestChange.objects.filter(field="status").last()
    assert (change.actor, change.old_value, change.new_value) == (None, "resolved", "closed")


def test_it_leaves_a_case_resolved_less_than_seven_days_ago(
    bob, contoso, support_agent, file_request
):
    service_request = resolved(file_request, bob, contoso, support_agent)

    with clock.frozen_at(RESOLVED_AT + dt.timedelta(days=6, hours=23)):
        assert service_requests_auto_close() == 0

    service_request.refresh_from_db()
    assert service_request.status == "resolved"


def test_a_partner_reply_stops_the_countdown(bob, contoso, support_agent, file_request):
    service_request = resolved(file_request, bob, contoso, support_agent)
    with clock.frozen_at(RESOLVED_AT + dt.timedelta(days=2)):
        service_request_partner_reply(service_request=service_request, author=bob, body="Not yet!")

    with clock.frozen_at(RESOLVED_AT + dt.timedelta(days=30)):
        assert service_requests_auto_close() == 0

    service_request.refresh_from_db()
    assert service_request.status == "in_progress"


def test_the_wait_comes_from_settings(bob, contoso, support_agent, file_request, settings):
    settings.SUPPORT_AUTO_CLOSE_DAYS = 2
    resolved(file_request, bob, contoso, support_agent)

    with clock.frozen_at(RESOLVED_AT + dt.timedelta(days=2)):
        assert service_requests_auto_close() == 1


def test_running_twice_closes_once(bob, contoso, support_agent, file_request):
    resolved(file_request, bob, contoso, support_agent)

    with clock.frozen_at(RESOLVED_AT + dt.timedelta(days=8)):
        assert service_requests_auto_close() == 1
        assert service_requests_auto_close() == 0

    assert RequestChange.objects.filter(new_value="closed").count() == 1


def test_the_celery_task_runs_the_service(bob, contoso, support_agent, file_request):
    service_request = resolved(file_request, bob, contoso, support_agent)

    with clock.frozen_at(RESOLVED_AT + dt.timedelta(days=8)):
        assert auto_close_task.apply().get() == 1

    service_request.refresh_from_db()
    assert service_request.status == "closed"


def test_the_task_is_scheduled():
    from partnerportal.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "support.tasks.service_requests_auto_close" in tasks
    assert auto_close_task.name == "support.tasks.service_requests_auto_close"
