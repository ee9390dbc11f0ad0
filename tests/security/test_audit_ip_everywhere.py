"""Audit records made deep inside services carry the client's address without being passed it."""

from __future__ import annotations

from django.test import RequestFactory

from core.logging import client_ip_var
from core.middleware import RequestLogMiddleware
from membership.models import AuditEvent
from membership.services import audit_record


def test_a_service_called_during_a_request_records_the_clients_address(contoso, bob):
    def view(request):
        audit_record(action=AuditEvent.Action.PAYMENT_METHOD_ADDED, organization=contoso, actor=bob)
        from django.http import HttpResponse

        return HttpResponse("ok")

    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    RequestLogMiddleware(view)(request)

    assert AuditEvent.objects.get().ip_address == "203.0.113.9"


def test_a_job_records_no_address(contoso):
    client_ip_var.set(None)
    audit_record(action=AuditEvent.Action.RENEWAL, organization=contoso, actor_label="system")

    assert AuditEvent.objects.get().ip_address is None
