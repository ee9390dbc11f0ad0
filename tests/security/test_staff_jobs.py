"""The staff walker for URLs that reach a staff member's own object: background jobs
(tests/security/url_rules.py, ``STAFF_RULES``)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.models import BackgroundJob, BackgroundJobKind
from tests.security.url_rules import (
    ADMIN_STANDARD_SUFFIXES,
    STAFF_OWNED_PREFIXES,
    STAFF_RULES,
    project_routes,
)
from tests.support.staff import billing_specialist_create

pytestmark = pytest.mark.django_db


def _export_job(owner) -> BackgroundJob:
    return BackgroundJob.objects.create(
        kind=BackgroundJobKind.INVOICES_EXPORT,
        created_by=owner,
        parameters={"start": "2026-03-01", "end": "2026-03-31"},
        result={"documents": 0},
    )


def _url(name: str, job: BackgroundJob) -> str:
    return reverse(name, kwargs={"job_id": job.pk})


def test_every_staff_owned_url_has_a_rule() -> None:
    custom = {
        route.name
        for route in project_routes()
        if route.name.startswith(STAFF_OWNED_PREFIXES)
        and not route.name.endswith(ADMIN_STANDARD_SUFFIXES)
    }

    assert custom == set(STAFF_RULES), f"add to STAFF_RULES: {sorted(custom - set(STAFF_RULES))}"


@pytest.mark.parametrize("name", sorted(STAFF_RULES))
def test_the_jobs_creator_with_the_permission_is_let_in(name, login, db):
    bill = billing_specialist_create()
    job = _export_job(bill)

    response = login(bill).get(_url(name, job))

    # The job wrote no file: its download is 404, the rest answer.
    assert response.status_code == (404 if name.endswith("_download") else 200)


@pytest.mark.parametrize("name", sorted(STAFF_RULES))
def test_staff_without_the_permission_get_403(name, login, agent):
    job = _export_job(agent)  # their own job, but not the right to export

    assert login(agent).get(_url(name, job)).status_code == 403


@pytest.mark.parametrize("name", sorted(STAFF_RULES))
def test_another_staff_members_job_is_404(name, login, db):
    job = _export_job(billing_specialist_create())
    other = billing_specialist_create(email="bella@partnerportal.example")

    assert login(other).get(_url(name, job)).status_code == 404


@pytest.mark.parametrize("name", sorted(STAFF_RULES))
def test_partners_are_sent_to_the_admin_sign_in(name, login, alice):
    job = _export_job(alice)

    response = login(alice).get(_url(name, job))

    assert response.status_code == 302
    assert "/admin/login/" in response.url
