"""Two technical support requests filed at once when one incident is left: exactly one is
filed, the other is refused politely and leaves nothing behind.

Each thread is a browser tab with its own session and database connection; a barrier starts
them together. It needs real concurrent transactions: PostgreSQL from DATABASE_URL (CI). On
SQLite it is skipped, unless REQUIRE_SERVICES says nothing may be.
"""

from __future__ import annotations

import pytest
from django.db import connection

from billing.selectors.benefits import support_incidents_remaining
from membership.models import AuditEvent
from support.models import IssueType, ServiceRequest
from tests.billing.benefits_setup import grant_of
from tests.billing.factories import make_subscription
from tests.billing.test_purchase_concurrency import run_together
from tests.plugins.people import client_for
from tests.plugins.services import service_missing

URL = "/support/new/"


@pytest.fixture(autouse=True)
def postgresql(transactional_db):
    if connection.vendor != "postgresql":
        service_missing("the concurrency test needs PostgreSQL (DATABASE_URL=postgres://…)")


def test_two_requests_at_once_with_one_incident_left_file_one(contoso, offer, alice, bob):
    subscription = make_subscription(contoso, offer, benefits=True)
    grant = grant_of(subscription, "support-incidents")
    grant.used_quantity = grant.quantity - 1
    grant.save(update_fields=["used_quantity"])

    def file(client) -> str:
        response = client.post(
            URL,
            {
                "issue_type": IssueType.PRODUCT_SUPPORT,
                "title": "Windows 10 Enterprise does not activate",
                "description": "Error 0xC004F074.",
                "severity": "B",
                "contact_email": "it@contoso.example",
            },
        )
        return str(response.status_code)

    statuses = run_together(file, [client_for(alice), client_for(bob)])

    assert sorted(statuses) == ["302", "400"]
    assert ServiceRequest.objects.count() == 1
    assert support_incidents_remaining(organization=contoso) == 0
    assert grant_of(subscription, "support-incidents").used_quantity == grant.quantity
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SUPPORT_INCIDENT_USED).count() == 1
