"""``/healthz`` for load balancers: database, Celery broker and Stripe, as JSON (200 or 503).

Each check is bounded by a short timeout so that a dead dependency answers "unavailable" quickly
instead of hanging the probe. Failures are logged here with their reason; the response only says
which dependency is down, because the endpoint is public.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

logger = logging.getLogger("partnerportal.health")

BROKER_TIMEOUT_SECONDS = 2.0


def database_ok() -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def _folder_writable(folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    # Write a file for real: permissions bits say nothing when running as root or on a full disk.
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".healthz-") as probe:
        probe.write(b"ok")
        probe.flush()
    return True


def broker_ok() -> bool:
    url = settings.CELERY_BROKER_URL
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    if url.startswith("filesystem://"):
        folders = {
            options.get(key) for key in ("data_folder_in", "data_folder_out", "control_folder")
        }
        return all(_folder_writable(Path(folder)) for folder in folders if folder)
    transport_options = {
        **options,
        "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
        "socket_timeout": BROKER_TIMEOUT_SECONDS,
    }
    with Connection(
        url, connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=transport_options
    ) as connection:
        connection.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
        return connection.connected


def stripe_ok() -> bool:
    # Imported here: the health check must answer even if billing fails to import.
    from billing import stripe_gateway

    return stripe_gateway.ping()


CHECKS: dict[str, Callable[[], bool]] = {
    "database": database_ok,
    "broker": broker_ok,
    "stripe": stripe_ok,
}


def _run(name: str, check: Callable[[], bool]) -> dict:
    started = time.monotonic()
    try:
        ok = bool(check())
    except Exception:  # any failure of a dependency means "down", never a 500 from the probe
        logger.exception("health check %s failed", name)
        ok = False
    if not ok:
        logger.warning("health check %s: unavailable", name)
    return {"ok": ok, "duration_ms": round((time.monotonic() - started) * 1000, 1)}


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    results = {name: _run(name, check) for name, check in CHECKS.items()}
    healthy = all(result["ok"] for result in results.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": results},
        status=200 if healthy else 503,
    )
