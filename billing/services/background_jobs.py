"""Long staff work in a Celery worker, with its progress: loading product keys, exporting
invoices for a period (docs/staff.md, "Long work in the admin").

The admin view only stores what was asked (``background_job_start``: the uploaded keys as a
private file, a period) and queues ``billing.tasks.background_job_run`` after the commit; the
worker claims the job with a conditional UPDATE (queued → running, so a redelivered task does
nothing twice), works in chunks and writes ``progress`` after each, and ends it done or failed.

A worker can die in the middle (killed, its machine gone). ``background_jobs_sweep``, on beat,
ends a running job whose progress has not moved for ``BACKGROUND_JOB_STALLED_AFTER_SECONDS``, and
deletes the files of jobs finished more than ``BACKGROUND_JOB_FILES_KEEP_DAYS`` ago. Every write
of the worker is fenced (``status = running``): a worker that was only slow and comes back after
the sweep finds its job taken away, stops, and changes nothing — a chunk of keys is loaded in the
same transaction as its progress, so it is rolled back with it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from billing.models import (
    FINISHED_JOB_STATUSES,
    BackgroundJob,
    BackgroundJobKind,
    BackgroundJobStatus,
)
from billing.services.benefits import product_keys_load
from billing.services.invoice_exports import invoices_export_csv
from core import clock
from core.tasks import task_queue_after_commit
from membership.models import User
from offers.models import Benefit

logger = logging.getLogger(__name__)

# Keys loaded per transaction, and between two progress updates.
KEYS_PER_CHUNK = 1000

Progress = Callable[[int, int], None]


class JobTakenAway(Exception):
    """The job is no longer running: the sweep ended it while this worker was silent."""


@transaction.atomic
def background_job_start(
    *,
    kind: str,
    created_by: User,
    parameters: dict,
    input_name: str = "",
    input_content: bytes = b"",
) -> BackgroundJob:
    """Record a job and queue it for a worker once this transaction commits."""
    job = BackgroundJob(kind=kind, created_by=created_by, parameters=parameters)
    if input_content:
        job.input_file.save(input_name or "input.txt", ContentFile(input_content), save=False)
    job.save()
    task_queue_after_commit("billing.tasks.background_job_run", job_id=job.pk)
    return job


def product_keys_load_start(
    *, benefit: Benefit, keys: list[str], created_by: User
) -> BackgroundJob:
    """Queue loading ``keys`` into ``benefit``'s pool (the admin's "Load keys")."""
    return background_job_start(
        kind=BackgroundJobKind.PRODUCT_KEYS_LOAD,
        created_by=created_by,
        parameters={"benefit_id": benefit.pk, "benefit": benefit.name},
        input_name="keys.txt",
        input_content="\n".join(keys).encode(),
    )


def invoices_export_start(*, start: dt.date, end: dt.date, created_by: User) -> BackgroundJob:
    """Queue the CSV of every invoice and credit note issued from ``start`` to ``end``."""
    return background_job_start(
        kind=BackgroundJobKind.INVOICES_EXPORT,
        created_by=created_by,
        parameters={"start": start.isoformat(), "end": end.isoformat()},
    )


def _job_claim(job_id: int) -> BackgroundJob | None:
    now = clock.now()
    claimed = BackgroundJob.objects.filter(pk=job_id, status=BackgroundJobStatus.QUEUED).update(
        status=BackgroundJobStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    return BackgroundJob.objects.get(pk=job_id) if claimed else None


def _still_running(job: BackgroundJob):
    """The job's row, only while it is running: every write of the worker goes through it."""
    return BackgroundJob.objects.filter(pk=job.pk, status=BackgroundJobStatus.RUNNING)


def _progress_writer(job: BackgroundJob) -> Progress:
    def write(progress: int, total: int) -> None:
        job.progress, job.total = progress, total
        if not _still_running(job).update(progress=progress, total=total, heartbeat_at=clock.now()):
            raise JobTakenAway(job.pk)

    return write


def background_job_run(*, job_id: int) -> BackgroundJob | None:
    """Do a queued job (the task's body). ``None`` when it was not queued: another worker has
    it or had it, and running it again would load or export twice."""
    job = _job_claim(job_id)
    if job is None:
        return None
    progress = _progress_writer(job)
    try:
        if job.kind == BackgroundJobKind.PRODUCT_KEYS_LOAD:
            result = _product_keys_load_job(job, progress)
        elif job.kind == BackgroundJobKind.INVOICES_EXPORT:
            result = _invoices_export_job(job, progress)
        else:
            raise ValueError(f"unknown job kind: {job.kind}")
    except JobTakenAway:
        logger.warning("background job %s was ended by the sweep; its worker stops", job.pk)
        _result_file_discard(job)
        return BackgroundJob.objects.get(pk=job.pk)
    except Exception as error:
        logger.exception("background job %s failed", job.pk)
        _still_running(job).update(
            status=BackgroundJobStatus.FAILED,
            error=_("The job stopped with an error: %(error)s") % {"error": error},
            finished_at=clock.now(),
        )
        # Not raised again: the job says it failed, and a task tried again would find it
        # claimed anyway. Staff start a new one.
        _result_file_discard(job)
        return BackgroundJob.objects.get(pk=job.pk)
    finished = _still_running(job).update(
        status=BackgroundJobStatus.DONE,
        result=result,
        result_file=job.result_file.name or "",
        finished_at=clock.now(),
    )
    if not finished:
        logger.warning("background job %s was ended by the sweep before it was done", job.pk)
        _result_file_discard(job)
    return BackgroundJob.objects.get(pk=job.pk)


def _result_file_discard(job: BackgroundJob) -> None:
    """A file this worker wrote for a job that did not end done: no row points at it."""
    if job.result_file:
        job.result_file.storage.delete(job.result_file.name)


def _product_keys_load_job(job: BackgroundJob, progress: Progress) -> dict:
    benefit = Benefit.objects.get(pk=job.parameters["benefit_id"])
    with job.input_file.open("rb") as handle:
        keys = [line.strip() for line in handle.read().decode().splitlines() if line.strip()]
    added = skipped = 0
    progress(0, len(keys))
    for start in range(0, len(keys), KEYS_PER_CHUNK):
        chunk = keys[start : start + KEYS_PER_CHUNK]
        # A chunk and its progress commit together: a job taken away loads no more keys.
        with transaction.atomic():
            chunk_added, chunk_skipped = product_keys_load(benefit=benefit, keys=chunk)
            progress(start + len(chunk), len(keys))
        added, skipped = added + chunk_added, skipped + chunk_skipped
    return {"added": added, "skipped": skipped}


def _invoices_export_job(job: BackgroundJob, progress: Progress) -> dict:
    start = dt.date.fromisoformat(job.parameters["start"])
    end = dt.date.fromisoformat(job.parameters["end"])
    content, count = invoices_export_csv(start=start, end=end, progress=progress)
    job.result_file.save(f"invoices-{start}-{end}.csv", ContentFile(content), save=False)
    return {"documents": count}


def background_jobs_sweep() -> tuple[int, int]:
    """End the running jobs whose worker has gone silent, and delete the files of jobs finished
    long ago (beat, every few minutes). Returns (jobs ended, jobs whose files were deleted)."""
    now = clock.now()
    silent_since = now - dt.timedelta(seconds=settings.BACKGROUND_JOB_STALLED_AFTER_SECONDS)
    ended = BackgroundJob.objects.filter(
        Q(heartbeat_at__lt=silent_since)
        | Q(heartbeat_at__isnull=True, started_at__lt=silent_since),
        status=BackgroundJobStatus.RUNNING,
    ).update(
        status=BackgroundJobStatus.FAILED,
        error=_(
            "The worker running this job stopped answering, so the job was ended. Start it "
            "again: loading keys again adds only the keys not in the pool yet."
        ),
        finished_at=now,
    )
    if ended:
        logger.warning("%s background jobs had lost their worker and were ended", ended)
    return ended, _old_job_files_delete(
        now - dt.timedelta(days=settings.BACKGROUND_JOB_FILES_KEEP_DAYS)
    )


def _old_job_files_delete(finished_before: dt.datetime) -> int:
    """The row forgets its files before they are deleted: a row never names a missing file."""
    deleted = 0
    old_jobs = (
        BackgroundJob.objects.filter(
            status__in=FINISHED_JOB_STATUSES, finished_at__lt=finished_before
        )
        .exclude(input_file="", result_file="")
        .only("pk", "input_file", "result_file")
    )
    for job in old_jobs.iterator(chunk_size=500):
        files = [file for file in (job.input_file, job.result_file) if file]
        forgotten = BackgroundJob.objects.filter(
            pk=job.pk, input_file=job.input_file.name, result_file=job.result_file.name
        ).update(input_file="", result_file="")
        if forgotten:
            for file in files:
                file.storage.delete(file.name)
            deleted += 1
    return deleted
