"""One structured log line per Celery task, and the task id on every line logged inside it.

Connected by ``core.apps`` when Django is set up (the worker sets Django up too) and imported by
``partnerportal.celery``; connecting the same receivers again is a no-op thanks to
``dispatch_uid``.
"""

from __future__ import annotations

import contextvars
import logging
import time
from typing import Any

from celery.signals import task_postrun, task_prerun

from core.logging import request_id_var

# The logger's name is what log searches and dashboards filter on: it stays "partnerportal.*".
logger = logging.getLogger("partnerportal.task")

# task id → (start time, context token); a worker runs a task's pre- and postrun in one thread.
_running: dict[str, tuple[float, contextvars.Token[str]]] = {}


@task_prerun.connect(dispatch_uid="core.task_started")
def task_started(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id is None:
        return
    _running[task_id] = (time.monotonic(), request_id_var.set(task_id))


@task_postrun.connect(dispatch_uid="core.task_finished")
def task_finished(
    task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any
) -> None:
    if task_id is None:
        return
    started, token = _running.pop(task_id, (None, None))
    logger.info(
        "task",
        extra={
            "task": getattr(task, "name", "?"),
            "task_id": task_id,
            "state": state or "UNKNOWN",
            "duration_ms": round((time.monotonic() - started) * 1000, 1) if started else None,
        },
    )
    if token is not None:
        try:
            request_id_var.reset(token)
        except ValueError:
            # The token came from another context (a pool that switched threads): start clean.
            request_id_var.set("-")
