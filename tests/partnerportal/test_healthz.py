"""Health: /healthz/live (the process answers) and /healthz/ready (the database, the broker, a
page's template with its static files; Stripe reported, asked at most once a minute)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import OperationalError, connections

from partnerportal.health import STRIPE_ASKED_KEY
from tests.plugins.services import LocalStripe, StripeProxy, redis_problem, service_missing
from tests.security.test_production_settings import manage, production_env


def _closed_port() -> int:
    # A port that was free a moment ago: nothing listens there, connections are refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def healthy(settings, tmp_path: Path, localstripe: LocalStripe):
    """Everything up: the test database, a writable filesystem broker, localstripe."""
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path / "broker"),
        "data_folder_out": str(tmp_path / "broker"),
        "control_folder": str(tmp_path / "control"),
    }
    return settings


def _checks(response) -> dict[str, bool | None]:
    return {name: result["ok"] for name, result in response.json()["checks"].items()}


ALL_UP = {"database": True, "broker": True, "templates": True, "stripe": True}


# --- live ---------------------------------------------------------------------------------------


def test_live_answers_without_touching_anything(client, settings) -> None:
    # No database fixture: a query would fail the test. A dead broker does not matter either.
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    response = client.get("/healthz/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@contextmanager
def database_down(monkeypatch) -> Iterator[None]:
    def refuse(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patched:
        patched.setattr(connections["default"], "cursor", refuse)
        yield


def test_live_answers_while_the_database_is_down(client, db, monkeypatch) -> None:
    with database_down(monkeypatch):
        response = client.get("/healthz/live")

    assert response.status_code == 200


# --- ready --------------------------------------------------------------------------------------


def test_ready_reports_all_up(client, db, healthy) -> None:
    response = client.get("/healthz/ready")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "ok"
    assert _checks(response) == ALL_UP
    assert "no-cache" in response["Cache-Control"]


def test_the_old_address_answers_like_ready(client, db, healthy) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert _checks(response) == ALL_UP


def test_ready_reports_the_database_down(client, db, healthy, monkeypatch) -> None:
    with database_down(monkeypatch):
        response = client.get("/healthz/ready")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert _checks(response) == {**ALL_UP, "database": False}
    # The public answer does not leak the reason (it is in the server's log).
    assert b"server closed" not in response.content


def test_ready_reports_the_filesystem_broker_not_writable(client, db, healthy, tmp_path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the queue folder should be")
    healthy.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(blocker / "in"),
        "data_folder_out": str(blocker / "in"),
        "control_folder": str(tmp_path / "control"),
    }

    response = client.get("/healthz/ready")

    assert response.status_code == 503
    assert _checks(response) == {**ALL_UP, "broker": False}


def test_ready_reports_the_redis_broker_down(client, db, healthy) -> None:
    healthy.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    healthy.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

    response = client.get("/healthz/ready")

    assert response.status_code == 503
    assert _checks(response) == {**ALL_UP, "broker": False}


def test_ready_reports_the_redis_broker_up(client, db, healthy) -> None:
    problem = redis_problem()
    if problem:
        service_missing(problem)

    healthy.CELERY_BROKER_URL = os.environ["REDIS_URL"]
    healthy.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

    response = client.get("/healthz/ready")

    assert response.status_code == 200
    assert _checks(response)["broker"] is True


def test_ready_reports_static_files_without_their_manifest(client, db, healthy, tmp_path) -> None:
    # Production's storage, but collectstatic never ran: every page would be a 500.
    healthy.STATIC_ROOT = str(tmp_path / "static-never-collected")
    healthy.STORAGES = {
        **healthy.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

    response = client.get("/healthz/ready")

    assert response.status_code == 503
    assert _checks(response) == {**ALL_UP, "templates": False}


def test_stripe_down_is_reported_but_the_instance_stays_ready(client, db, healthy) -> None:
    # Payments stop, pages do not: taking every instance out would be a full outage.
    healthy.STRIPE_API_BASE = f"http://127.0.0.1:{_closed_port()}"

    response = client.get("/healthz/ready")

    assert response.status_code == 200
    assert _checks(response) == {**ALL_UP, "stripe": False}


def test_stripe_is_asked_once_a_minute_however_often_ready_is_probed(
    client, db, healthy, stripe_proxy: StripeProxy
) -> None:
    # Issue 13: /healthz called Stripe on every hit, for anyone, uncached.
    answers = [client.get("/healthz/ready") for _ in range(30)]
    answers += [client.get("/healthz") for _ in range(10)]
    answers += [client.get("/healthz/live") for _ in range(10)]

    assert {response.status_code for response in answers} == {200}
    assert stripe_proxy.totals().get("forwarded", 0) == 1
    checked_at = {response.json()["checks"]["stripe"]["checked_at"] for response in answers[:40]}
    assert len(checked_at) == 1

    cache.delete(STRIPE_ASKED_KEY)  # the minute has passed
    client.get("/healthz/ready")

    assert stripe_proxy.totals()["forwarded"] == 2


def test_ready_answers_plain_http_in_production(client, db, healthy) -> None:
    # Load balancers probe over HTTP inside the network: no redirect to HTTPS.
    healthy.SECURE_SSL_REDIRECT = True
    healthy.SECURE_REDIRECT_EXEMPT = [r"^healthz(/live|/ready)?$"]

    for path in ("/healthz/live", "/healthz/ready", "/healthz"):
        assert client.get(path).status_code == 200, path
    assert client.get("/accounts/login/").status_code == 301


@pytest.mark.parametrize("path", ["/healthz/live", "/healthz/ready", "/healthz"])
def test_it_rejects_post(client, db, healthy, path) -> None:
    assert client.post(path).status_code == 405


# --- in production, as it starts (tests/security/test_production_settings.py) --------------------

PROBE = (
    "from django.test import Client; c = Client(raise_request_exception=False);"
    "print(c.get('/healthz/ready', HTTP_HOST='portal.example.com').status_code,"
    " c.get('/healthz/live', HTTP_HOST='portal.example.com').status_code,"
    " c.get('/accounts/login/', HTTP_HOST='portal.example.com', secure=True).status_code)"
)


# Its own environment (SQLite in tmp_path): CI runs it once, with nothing configured.
@pytest.mark.any_backend
def test_production_without_collectstatic_is_not_ready(tmp_path: Path) -> None:
    # Issue 13: /healthz said 200 while every page was a 500 (no static manifest).
    env = production_env(tmp_path, STRIPE_API_BASE=f"http://127.0.0.1:{_closed_port()}")
    assert manage(env, "migrate", "--noinput").returncode == 0

    before = manage(env, "shell", "-c", PROBE)
    assert manage(env, "collectstatic", "--noinput").returncode == 0
    after = manage(env, "shell", "-c", PROBE)

    assert before.stdout.split()[-3:] == ["503", "200", "500"], before.stderr
    assert after.stdout.split()[-3:] == ["200", "200", "200"], after.stderr
