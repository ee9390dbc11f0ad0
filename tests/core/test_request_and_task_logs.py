"""One structured JSON line per request and per Celery task, each with its id."""

from __future__ import annotations

import json
import logging

import pytest

from partnerportal.celery import app
from tests.core.logs import captured_log


def test_each_request_logs_one_json_line(alice, login) -> None:
    client = login(alice)

    with captured_log() as log:
        response = client.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4")

    (line,) = log.of("partnerportal.request")
    assert line["method"] == "GET" and line["path"] == "/" and line["status"] == 200
    assert line["user_id"] == alice.pk
    assert line["ip"] == "127.0.0.1"  # no trusted proxy: X-Forwarded-For is ignored
    assert line["request_id"] == response["X-Request-ID"]
    assert isinstance(line["duration_ms"], float)


def test_a_request_id_from_the_proxy_is_kept(client, db) -> None:
    with captured_log() as log:
        response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.42")

    assert response["X-Request-ID"] == "lb-7f3a.42"
    assert log.of("partnerportal.request")[0]["request_id"] == "lb-7f3a.42"


def test_a_forged_request_id_is_replaced(client, db) -> None:
    forged = 'x" injected\\n{"level": "ERROR"}'

    with captured_log() as log:
        response = client.get("/healthz", HTTP_X_REQUEST_ID=forged)

    assert response["X-Request-ID"] != forged
    assert len(response["X-Request-ID"]) == 32
    assert forged not in log.text


def test_records_logged_during_a_request_carry_its_id(client, db) -> None:
    with captured_log() as log:
        response = client.get("/no-such-page/")

    request_id = response["X-Request-ID"]
    # Django's own "Not Found" line is written after our middleware returned.
    (not_found,) = log.of("django.request")
    assert not_found["message"] == "Not Found: /no-such-page/"
    assert not_found["request_id"] == request_id == log.of("partnerportal.request")[0]["request_id"]


def test_the_request_id_is_cleared_after_the_response(client, db) -> None:
    client.get("/healthz")

    with captured_log() as log:
        logging.getLogger("tests.probe").info("between requests")

    assert log.of("tests.probe")[0]["request_id"] == "-"


@app.task(name="tests.partnerportal.log_probe")
def log_probe(word: str) -> str:
    logging.getLogger("tests.probe").info("working on %s", word)
    return word


@app.task(name="tests.partnerportal.failing_probe")
def failing_probe() -> None:
    raise RuntimeError("probe failed")


def test_each_task_logs_one_json_line_with_its_id(db) -> None:
    with captured_log() as log:
        result = log_probe.apply(args=["renewals"], task_id="task-0001")

    assert result.get() == "renewals"
    (line,) = log.of("partnerportal.task")
    assert line["task"] == "tests.partnerportal.log_probe"
    assert line["task_id"] == line["request_id"] == "task-0001"
    assert line["state"] == "SUCCESS"
    # What the task itself logged is tagged with the task id too.
    (inside,) = log.of("tests.probe")
    assert inside["request_id"] == "task-0001"


def test_a_failed_task_logs_its_state(db) -> None:
    with captured_log() as log:
        failing_probe.apply(task_id="task-0002")

    (line,) = log.of("partnerportal.task")
    assert (line["task_id"], line["state"]) == ("task-0002", "FAILURE")


def test_the_task_id_does_not_leak_into_later_records(db) -> None:
    log_probe.apply(args=["x"], task_id="task-0003")

    with captured_log() as log:
        logging.getLogger("tests.probe").info("after the task")

    assert log.of("tests.probe")[0]["request_id"] == "-"


@pytest.mark.parametrize("level", ["INFO", "WARNING"])
def test_lines_are_json_with_time_level_and_logger(level: str) -> None:
    with captured_log() as log:
        logging.getLogger("tests.probe").log(getattr(logging, level), "hello %s", "world")

    (line,) = log.records
    assert (line["level"], line["logger"], line["message"]) == (level, "tests.probe", "hello world")
    assert line["time"][:2] == "20"


def test_a_real_worker_logs_one_json_line_per_task(celery_worker_process) -> None:
    from support.tasks import service_requests_auto_close

    result = service_requests_auto_close.delay()
    celery_worker_process.wait_for_tasks("support.tasks.service_requests_auto_close")

    lines = [
        json.loads(line)
        for line in celery_worker_process.log_path.read_text().splitlines()
        if line.startswith("{")
    ]
    (task_line,) = [line for line in lines if line["logger"] == "partnerportal.task"]
    assert task_line["task"] == "support.tasks.service_requests_auto_close"
    assert task_line["task_id"] == task_line["request_id"] == result.id
    assert task_line["state"] == "SUCCESS"
    # The worker keeps the portal's JSON format for its own records too (no hijacked logging).
    assert any(line["logger"].startswith("celery") for line in lines)
