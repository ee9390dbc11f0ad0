"""Support fixtures: staff in their groups, requests filed the way partners file them, files."""

from __future__ import annotations

import pytest

from membership.models import User
from support.models import ServiceRequest
from support.services import service_request_create
from tests.support.staff import billing_specialist_create, staff_group


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Uploaded files go to a temporary directory (attachments live beside MEDIA_ROOT)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media-private"


@pytest.fixture
def support_agent(agent) -> User:
    agent.groups.add(staff_group("Support agent"))
    return agent


@pytest.fixture
def billing_specialist(db) -> User:
    return billing_specialist_create()


@pytest.fixture
def file_request():
    """``file_request(requester, organization, **fields)``: a request filed through the service."""

    def make(requester: User, organization, **fields) -> ServiceRequest:
        values = {
            "issue_type": "technical",
            "title": "The offers page is blank",
            "description": "Since this morning the page shows nothing.",
            "severity": "C",
            "contact_email": requester.email,
        }
        values.update(fields)
        return service_request_create(organization=organization, requester=requester, **values)

    return make
