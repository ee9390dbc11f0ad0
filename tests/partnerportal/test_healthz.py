"""/healthz: database, broker and Stripe as JSON; 200 when all answer, 503 when one does not."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from django.db import OperationalError, connections

from tests.plugins.services import LocalStripe, redis_problem, service_missing


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


def _checks(response) -> dict[str, bool]:
    return {name: result["ok"] for name, result in response.json()["checks"].items()}


def test_it_reports_all_dependencies_up(client, db, healthy) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "ok"
    assert _checks(response) == {"database": True, "broker": True, "stripe": True}
    assert "no-cache" in response["Cache-Control"]


def test_it_reports_the_database_down(client, db, healthy, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patched:
        patched.setattr(connections["default"], "cursor", refuse)
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert _checks(response) == {"database": False, "broker": True, "stripe": True}
    # The public answer does not leak the reason (it is in the server's log).
    assert b"server closed" not in response.content


def test_it_reports_the_filesystem_broker_not_writable(client, db, healthy, tmp_path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the queue folder should be")
    healthy.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(blocker / "in"),
        "data_folder_out": str(blocker / "in"),
        "control_folder": str(tmp_path / "control"),
    }

    response = client.get("/healthz")

    assert response.status_code == 503
    assert _checks(response) == {"database": True, "broker": False, "stripe": True}


def test_it_reports_the_redis_broker_down(client, db, healthy) -> None:
    healthy.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    healthy.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

    response = client.get("/healthz")

    assert response.status_code == 503
    assert _checks(response) == {"database": True, "broker": False, "stripe": True}


def test_it_reports_the_redis_broker_up(client, db, healthy) -> None:
    problem = redis_problem()
    if problem:
        service_missing(problem)

    healthy.CELERY_BROKER_URL = os.environ["REDIS_URL"]
    healthy.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

    response = client.get("/healthz")

    assert response.status_code == 200
    assert _checks(response)["broker"] is True


def test_it_reports_stripe_down(client, db, healthy) -> None:
    healthy.STRIPE_API_BASE = f"http://127.0.0.1:{_closed_port()}"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert _checks(response) == {"database": True, "broker": True, "stripe": False}


def test_it_answers_plain_http_in_production(client, db, healthy) -> None:
    # Load balancers probe over HTTP inside the network: no redirect to HTTPS for /healthz.
    healthy.SECURE_SSL_REDIRECT = True
    healthy.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


def test_it_rejects_post(client, db, healthy) -> None:
    assert client.post("/healthz").status_code == 405
