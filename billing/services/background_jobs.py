"""Long staff work in a Celery worker, with its progress: loading product keys, exporting
invoices for a period (docs/staff.md, "Long work in the admin").

The admin view only stores what was asked (``background_job_start``: the uploaded keys as a
private file, a period) and queues ``billing.tasks.background_job_run`` after the commit; the
worker claims the job with a conditional UPDATE (queued → running, so a redelivered task does
nothing twice), works in chunks and writes ``progress`` after each, and ends it done or failed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import BackgroundJob, BackgroundJobKind, BackgroundJobStatus
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
    claimed = BackgroundJob.objects.filter(pk=job_id, status=BackgroundJobStatus.QUEUED).update(
        status=BackgroundJobStatus.RUNNING, started_at=clock.now()
    )
    return BackgroundJob.objects.get(pk=job_id) if claimed else None


def _progress_writer(job: BackgroundJob) -> Progress:
    def write(progress: int, total: int) -> None:
        job.progress, job.total = progress, total
        BackgroundJob.objects.filter(pk=job.pk).update(progress=progress, total=total)

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
    except Exception as error:
        logger.exception("background job %s failed", job.pk)
        BackgroundJob.objects.filter(pk=job.pk).update(
            status=BackgroundJobStatus.FAILED,
            error=_("The job stopped with an error: %(error)s") % {"error": error},
            finished_at=clock.now(),
        )
        # Not raised again: the job says it failed, and a task tried again would find it
        # claimed anyway. Staff start a new one.
        return BackgroundJob.objects.get(pk=job.pk)
    job.status, job.result, job.finished_at = BackgroundJobStatus.DONE, result, clock.now()
    job.save(update_fields=["status", "result", "result_file", "finished_at"])
    return job


def _product_keys_load_job(job: BackgroundJob, progress: Progress) -> dict:
    benefit = Benefit.objects.get(pk=job.parameters["benefit_id"])
    with job.input_file.open("rb") as handle:
        keys = [line.strip() for line in handle.read().decode().splitlines() if line.strip()]
    added = skipped = 0
    progress(0, len(keys))
    for start in range(0, len(keys), KEYS_PER_CHUNK):
        chunk = keys[start : start + KEYS_PER_CHUNK]
        chunk_added, chunk_skipped = product_keys_load(benefit=benefit, keys=chunk)
        added, skipped = added + chunk_added, skipped + chunk_skipped
        progress(start + len(chunk), len(keys))
    return {"added": added, "skipped": skipped}


def _invoices_export_job(job: BackgroundJob, progress: Progress) -> dict:
    start = dt.date.fromisoformat(job.parameters["start"])
    end = dt.date.fromisoformat(job.parameters["end"])
    content, count = invoices_export_csv(start=start, end=end, progress=progress)
    job.result_file.save(f"invoices-{start}-{end}.csv", ContentFile(content), save=False)
    return {"documents": count}
