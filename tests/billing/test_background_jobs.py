"""Long staff work in a worker, with a progress bar (billing/services/background_jobs.py,
billing/admin/background_jobs.py): loading product keys, exporting invoices for a period."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from billing import tasks
from billing.models import BackgroundJob, BackgroundJobStatus, ProductKey, Refund
from billing.services import background_jobs
from billing.services.invoices import credit_note_issue
from core import clock
from tests.billing.factories import make_card, make_subscription
from tests.support.staff import billing_specialist_create

pytestmark = pytest.mark.django_db

LOAD = "/admin/billing/productkey/load/"
EXPORT = "/admin/billing/invoice/export/"


def progress_url(job: BackgroundJob) -> str:
    return f"/admin/billing/backgroundjob/{job.pk}/progress/"


def status_url(job: BackgroundJob) -> str:
    return f"/admin/billing/backgroundjob/{job.pk}/status/"


def download_url(job: BackgroundJob) -> str:
    return f"/admin/billing/backgroundjob/{job.pk}/download/"


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def queued(settings):
    """Tasks are queued after the commit, as in production, instead of run at once: a test's
    transaction never commits, so nothing runs until the test runs the task itself."""
    settings.EMAIL_TASKS_EAGER = False


@pytest.fixture
def bill(db):
    return billing_specialist_create()


@pytest.fixture
def windows(offer):
    return offer.benefits.get(code="windows-enterprise")


def keys_file(count: int) -> SimpleUploadedFile:
    content = "\n".join(f"KEY{number:06d}-AAAAA-BBBBB-CCCCC" for number in range(count))
    return SimpleUploadedFile("keys.txt", content.encode(), content_type="text/plain")


# --- loading product keys -----------------------------------------------------------------------


def test_a_large_key_file_is_loaded_by_the_worker_not_the_request(
    login, root, windows, queued, django_assert_max_num_queries
):
    client = login(root)

    response = client.post(LOAD, {"benefit": windows.pk, "keys_file": keys_file(20_000)})

    job = BackgroundJob.objects.get()
    assert response.status_code == 302
    assert response.url == progress_url(job)
    assert not ProductKey.objects.exists()  # the request only stored the file and queued
    assert (job.status, job.created_by) == (BackgroundJobStatus.QUEUED, root)
    assert job.input_file.name.startswith("jobs/product_keys_load/")

    assert tasks.background_job_run.apply(kwargs={"job_id": job.pk}).get() == "done"

    job.refresh_from_db()
    assert ProductKey.objects.filter(benefit=windows).count() == 20_000
    assert (job.progress, job.total, job.result) == (
        20_000,
        20_000,
        {"added": 20_000, "skipped": 0},
    )
    page = client.get(progress_url(job)).content.decode()
    assert "20000 keys added (0 already in the pool)." in page
    assert 'max="20000" value="20000"' in page


def test_progress_goes_from_zero_to_the_total(login, root, windows, queued, monkeypatch):
    monkeypatch.setattr(background_jobs, "KEYS_PER_CHUNK", 2)
    seen = []
    writer = background_jobs._progress_writer

    def recording(job):
        write = writer(job)

        def record(progress, total):
            write(progress, total)
            seen.append(BackgroundJob.objects.values_list("progress", "total").get(pk=job.pk))

        return record

    monkeypatch.setattr(background_jobs, "_progress_writer", recording)
    login(root).post(LOAD, {"benefit": windows.pk, "keys": "A1\nA2\nA3\nA4\nA5"})

    background_jobs.background_job_run(job_id=BackgroundJob.objects.get().pk)

    assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)]


def test_a_job_runs_once_however_often_its_task_is_delivered(login, root, windows, queued):
    login(root).post(LOAD, {"benefit": windows.pk, "keys": "AAAAA-11111\nBBBBB-22222"})
    job = BackgroundJob.objects.get()

    assert tasks.background_job_run.apply(kwargs={"job_id": job.pk}).get() == "done"
    assert tasks.background_job_run.apply(kwargs={"job_id": job.pk}).get() == "not queued"

    job.refresh_from_db()
    assert job.result == {"added": 2, "skipped": 0}


def test_the_progress_page_works_without_javascript_while_the_job_runs(
    login, root, windows, queued
):
    client = login(root)
    client.post(LOAD, {"benefit": windows.pk, "keys": "AAAAA-11111"})
    job = BackgroundJob.objects.get()

    page = client.get(progress_url(job)).content.decode()

    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert f'data-job-status-url="{status_url(job)}"' in page
    assert '<script src="/static/js/job-progress.js" defer></script>' in page
    assert f'<a href="{progress_url(job)}">Refresh</a>' in page
    assert "<progress" in page and "Waiting to start" in page
    assert "<script>" not in page  # the admin's CSP: scripts come from files only


def test_the_status_endpoint_says_how_far_the_job_is(login, root, windows, queued):
    client = login(root)
    client.post(LOAD, {"benefit": windows.pk, "keys": "AAAAA-11111\nBBBBB-22222"})
    job = BackgroundJob.objects.get()
    BackgroundJob.objects.filter(pk=job.pk).update(
        status=BackgroundJobStatus.RUNNING, progress=1, total=2
    )

    response = client.get(status_url(job))

    assert "no-store" in response["Cache-Control"]
    assert response.json() == {
        "id": job.pk,
        "status": "running",
        "status_label": "Running",
        "progress": 1,
        "total": 2,
        "percent": 50,
        "finished": False,
        "text": "1 of 2 keys loaded (50 %)",
    }


def test_a_failed_job_says_so(login, root, windows, queued):
    client = login(root)
    client.post(LOAD, {"benefit": windows.pk, "keys": "AAAAA-11111"})
    job = BackgroundJob.objects.get()
    windows.delete()  # the benefit is gone before the worker starts

    assert tasks.background_job_run.apply(kwargs={"job_id": job.pk}).get() == "failed"
    assert "The job stopped with an error" in client.get(progress_url(job)).content.decode()


# --- exporting invoices -------------------------------------------------------------------------


@pytest.fixture
def invoice_and_credit_note(fabrikam, offer):
    """Fabrikam's invoice of 20 March 2026 (Spain's 21 %), refunded in full on 25 March."""
    subscription = make_subscription(
        fabrikam, offer, started_on=dt.date(2026, 3, 20), payment_method=make_card(fabrikam)
    )
    order = subscription.orders.get()
    refund = Refund.objects.create(order=order, amount=order.amount, currency=order.currency)
    with transaction.atomic():
        credit_note_issue(refund=refund, issued_at=dt.datetime(2026, 3, 25, 10, tzinfo=dt.UTC))
    return order.invoices.order_by("id")


def test_the_export_of_a_period_has_the_invoice_and_its_credit_note(
    login, bill, invoice_and_credit_note
):
    client = login(bill)
    client.post(EXPORT, {"start": "2026-03-01", "end": "2026-03-31"})
    job = BackgroundJob.objects.get()  # run at once: the tests' tasks are eager

    response = client.get(download_url(job))

    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert (
        'attachment; filename="invoices-2026-03-01-2026-03-31.csv"'
        == (response["Content-Disposition"])
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    invoice, credit_note = invoice_and_credit_note
    assert [(row["number"], row["type"], row["issued_on"], row["corrects"]) for row in rows] == [
        (credit_note.number, "credit_note", "2026-03-25", invoice.number),
        (invoice.number, "invoice", "2026-03-20", ""),
    ]
    assert [(row["net"], row["tax"], row["total"], row["currency"]) for row in rows] == [
        ("-440.00", "-92.40", "-532.40", "EUR"),
        ("440.00", "92.40", "532.40", "EUR"),
    ]
    assert rows[1]["organization"] == "Fabrikam SA"
    page = client.get(progress_url(job)).content.decode()
    assert "2 documents exported." in page
    assert f'href="{download_url(job)}"' in page


def test_the_csv_is_stored_privately(login, bill, invoice_and_credit_note, settings):
    login(bill).post(EXPORT, {"start": "2026-03-01", "end": "2026-03-31"})
    job = BackgroundJob.objects.get()

    assert job.result_file.path.startswith(str(settings.MEDIA_ROOT) + "-private")
    with pytest.raises(ValueError):
        job.result_file.url  # noqa: B018


# --- a worker that is gone ---------------------------------------------------------------------

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def running_since(job: BackgroundJob, moment: dt.datetime) -> None:
    """The job as a worker left it: claimed, its last progress at ``moment``."""
    BackgroundJob.objects.filter(pk=job.pk).update(
        status=BackgroundJobStatus.RUNNING, started_at=moment, heartbeat_at=moment
    )


def test_a_job_whose_worker_went_silent_is_ended_by_the_sweep(
    login, root, windows, queued, frozen_clock
):
    client = login(root)
    client.post(LOAD, {"benefit": windows.pk, "keys": "AAAAA-11111"})
    job = BackgroundJob.objects.get()
    running_since(job, NOW - dt.timedelta(minutes=11))
    clock.set_now(NOW)

    assert tasks.background_jobs_sweep.apply().get() == "1 ended, files of 0 deleted"

    job.refresh_from_db()
    assert (job.status, job.finished_at) == (BackgroundJobStatus.FAILED, NOW)
    page = client.get(progress_url(job)).content.decode()
    assert "The worker running this job stopped answering, so the job was ended." in page
    assert "<noscript>" not in page  # finished: the page stops refreshing


def test_a_job_still_making_progress_is_left_running(login, root, windows, queued, frozen_clock):
    login(root).post(LOAD, {"benefit": windows.pk, "keys": "AAAAA-11111"})
    job = BackgroundJob.objects.get()
    running_since(job, NOW - dt.timedelta(minutes=9))
    clock.set_now(NOW)

    assert background_jobs.background_jobs_sweep() == (0, 0)

    job.refresh_from_db()
    assert job.status == BackgroundJobStatus.RUNNING


def test_a_worker_back_after_the_sweep_stops_and_loads_nothing_more(
    login, root, windows, queued, frozen_clock, monkeypatch
):
    # Two keys a chunk; the worker falls silent once the first chunk is in, and the sweep ends
    # the job. When the worker wakes, its second chunk is rolled back with the refused progress.
    monkeypatch.setattr(background_jobs, "KEYS_PER_CHUNK", 2)
    writer = background_jobs._progress_writer

    def silent_after_the_first_chunk(job):
        write = writer(job)

        def then_silent(progress, total):
            write(progress, total)
            if progress == 2:
                clock.set_now(NOW + dt.timedelta(minutes=11))
                background_jobs.background_jobs_sweep()

        return then_silent

    monkeypatch.setattr(background_jobs, "_progress_writer", silent_after_the_first_chunk)
    login(root).post(LOAD, {"benefit": windows.pk, "keys": "A1\nA2\nA3\nA4\nA5"})
    clock.set_now(NOW)

    outcome = tasks.background_job_run.apply(kwargs={"job_id": BackgroundJob.objects.get().pk})

    assert outcome.get() == "failed"
    job = BackgroundJob.objects.get()
    assert sorted(ProductKey.objects.values_list("key", flat=True)) == ["A1", "A2"]
    assert (job.progress, job.result) == (2, {})
    assert job.error.startswith("The worker running this job stopped answering")


def test_an_export_finished_after_the_sweep_stays_ended_and_leaves_no_file(
    login, bill, invoice_and_credit_note, queued, frozen_clock, monkeypatch, settings
):
    export = background_jobs.invoices_export_csv

    def slower_than_the_sweep(**kwargs):
        content = export(**kwargs)
        clock.set_now(NOW + dt.timedelta(minutes=11))
        background_jobs.background_jobs_sweep()
        return content

    monkeypatch.setattr(background_jobs, "invoices_export_csv", slower_than_the_sweep)
    login(bill).post(EXPORT, {"start": "2026-03-01", "end": "2026-03-31"})
    clock.set_now(NOW)

    outcome = tasks.background_job_run.apply(kwargs={"job_id": BackgroundJob.objects.get().pk})

    assert outcome.get() == "failed"
    job = BackgroundJob.objects.get()
    assert (job.result_file.name, job.result) == ("", {})
    private = settings.MEDIA_ROOT.parent / f"{settings.MEDIA_ROOT.name}-private"
    assert [path for path in private.rglob("*") if path.is_file()] == []


def test_the_files_of_jobs_finished_30_days_ago_are_deleted(
    login, bill, invoice_and_credit_note, frozen_clock
):
    client = login(bill)
    clock.set_now(NOW - dt.timedelta(days=31))
    client.post(EXPORT, {"start": "2026-03-01", "end": "2026-03-31"})
    clock.set_now(NOW - dt.timedelta(days=29))
    client.post(EXPORT, {"start": "2026-03-01", "end": "2026-03-31"})
    old, recent = BackgroundJob.objects.order_by("created_at")
    old_file = Path(old.result_file.path)
    clock.set_now(NOW)

    assert background_jobs.background_jobs_sweep() == (0, 1)

    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.result_file.name == "" and not old_file.exists()
    assert client.get(download_url(old)).status_code == 404
    page = client.get(progress_url(old)).content.decode()
    assert "2 documents exported." in page
    assert "The CSV is no longer kept: files of finished jobs are deleted after 30 days." in page
    assert client.get(download_url(recent)).status_code == 200
    assert background_jobs.background_jobs_sweep() == (0, 0)  # nothing left to delete


def test_a_key_list_is_deleted_with_its_job_and_the_keys_stay(login, root, windows, frozen_clock):
    clock.set_now(NOW - dt.timedelta(days=31))
    login(root).post(LOAD, {"benefit": windows.pk, "keys": "AAAAA-11111"})
    job = BackgroundJob.objects.get()
    key_list = Path(job.input_file.path)
    assert key_list.exists()
    clock.set_now(NOW)

    background_jobs.background_jobs_sweep()

    job.refresh_from_db()
    assert job.input_file.name == "" and not key_list.exists()
    assert ProductKey.objects.filter(key="AAAAA-11111").exists()


def test_a_csv_missing_from_storage_is_not_found(login, bill, invoice_and_credit_note):
    client = login(bill)
    client.post(EXPORT, {"start": "2026-03-01", "end": "2026-03-31"})
    job = BackgroundJob.objects.get()
    Path(job.result_file.path).unlink()

    assert client.get(download_url(job)).status_code == 404


# --- who may look -------------------------------------------------------------------------------


def test_staff_without_the_permission_get_403(login, bill, agent, invoice_and_credit_note):
    login(bill).post(EXPORT, {"start": "2026-03-01", "end": "2026-03-31"})
    job = BackgroundJob.objects.get()
    job.created_by = agent  # even their own job, once they no longer hold the permission
    job.save(update_fields=["created_by"])
    client = login(agent)

    assert client.post(EXPORT, {"start": "2026-03-01", "end": "2026-03-31"}).status_code == 403
    for url in (progress_url(job), status_url(job), download_url(job)):
        assert client.get(url).status_code == 403, url


def test_another_staff_members_job_is_not_found(login, bill, root, invoice_and_credit_note):
    other = billing_specialist_create(email="bella@partnerportal.example")
    login(bill).post(EXPORT, {"start": "2026-03-01", "end": "2026-03-31"})
    job = BackgroundJob.objects.get()
    client = login(other)

    for url in (progress_url(job), status_url(job), download_url(job)):
        assert client.get(url).status_code == 404, url
    assert login(root).get(download_url(job)).status_code == 200  # a superuser sees every job


def test_partners_are_sent_to_the_admin_sign_in(login, alice, bill, invoice_and_credit_note):
    login(bill).post(EXPORT, {"start": "2026-03-01", "end": "2026-03-31"})
    job = BackgroundJob.objects.get()

    response = login(alice).get(download_url(job))

    assert response.status_code == 302
    assert "/admin/login/" in response.url


def test_the_status_endpoint_rejects_post(login, root, windows):
    login(root).post(LOAD, {"benefit": windows.pk, "keys": "AAAAA-11111"})
    job = BackgroundJob.objects.get()

    assert login(root).post(status_url(job)).status_code == 405
