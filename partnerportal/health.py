"""Health for load balancers and monitoring: ``/healthz/live`` and ``/healthz/ready``.

- **live**: the process answers HTTP. No dependency is touched: a balancer or orchestrator that
  restarts dead processes must not restart healthy ones because the database is down.
- **ready**: can this instance serve pages? The database, the Celery broker (every email goes
  through it), and a template rendered with its static files resolved (in production the
  manifest that ``collectstatic`` writes: without it every page is a 500). Stripe is reported
  too, but it does not decide the answer: a Stripe outage stops payments, not pages, and taking
  every instance out of the balancer would turn it into a full outage. Stripe is asked at most
  once a minute (``HEALTH_STRIPE_EVERY_SECONDS``) however often the probe comes: in the shared
  cache (Redis) for all instances, else per process.

``/healthz`` answers like ``/healthz/ready`` for balancers configured before the split.

Each check is bounded by a short timeout, so a dead dependency answers "unavailable" quickly.
Failures are logged here with their reason; the response only says which check failed, because
the endpoint is public.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

logger = logging.getLogger("partnerportal.health")

BROKER_TIMEOUT_SECONDS = 2.0
# Cache keys: the last answer from Stripe, and the mark of who may ask it next.
STRIPE_RESULT_KEY = "health:stripe:result"
STRIPE_ASKED_KEY = "health:stripe:asked"


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


def templates_ok() -> bool:
    """Render the template every page extends: it links the static files through the storage
    (in production the manifest ``collectstatic`` writes, which raises on a missing entry)."""
    render_to_string("base.html", {"csrf_token": "health-probe"})
    return True


def stripe_ok() -> bool:
    # Imported here: the health check must answer even if billing fails to import.
    from billing import stripe_gateway

    return stripe_gateway.ping()


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


def stripe_reachable() -> dict:
    """Stripe's reachability as last asked, asking again only once the minute has passed.

    ``cache.add`` is atomic: of many probes arriving together after the minute, one asks
    Stripe; the others answer with the previous result (``ok`` None before the first answer).
    """
    every = settings.HEALTH_STRIPE_EVERY_SECONDS
    if cache.add(STRIPE_ASKED_KEY, time.time(), timeout=every):
        result = {**_run("stripe", stripe_ok), "checked_at": round(time.time())}
        # Kept well past the minute: a slow probe still finds the last answer.
        cache.set(STRIPE_RESULT_KEY, result, timeout=every * 10)
        return result
    return cache.get(STRIPE_RESULT_KEY) or {"ok": None, "checked_at": None}


# What an instance needs to serve pages; each decides the answer.
READY_CHECKS: dict[str, Callable[[], bool]] = {
    "database": database_ok,
    "broker": broker_ok,
    "templates": templates_ok,
}


@require_safe
@never_cache
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_safe
@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    results = {name: _run(name, check) for name, check in READY_CHECKS.items()}
    healthy = all(result["ok"] for result in results.values())
    results["stripe"] = stripe_reachable()  # reported, not deciding (module docstring)
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": results},
        status=200 if healthy else 503,
    )
