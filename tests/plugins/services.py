"""Fixtures for the services around the portal: localstripe, Chromium and a real Celery worker.

``REQUIRE_SERVICES=1`` (set by CI) turns every missing service into an error at session start:
a PostgreSQL or Redis named in DATABASE_URL / REDIS_URL that does not answer, or no
/usr/bin/chromium. Without it, a test that needs a missing service is skipped with the reason,
so the suite still runs on the embedded default (SQLite, no Redis, maybe no Chromium).

Fixtures:
- ``localstripe`` (session): a private localstripe on a free loopback port; the portal's Stripe
  settings point at it for the whole session. Helpers read what localstripe recorded.
- ``browser`` (session) and ``page`` (per test): Debian's Chromium driven by Playwright's sync
  API; a failing test leaves a screenshot in var/test-artifacts/. Use them with ``live_server``.
- ``celery_worker_process`` (per test): a real ``celery worker`` subprocess on REDIS_URL that
  uses the test database; the test gets a transactional database, so the worker sees its rows.

One module of about 550 lines on purpose: pytest loads it as one plugin, and the three services
share the REQUIRE_SERVICES checks, the polling and the process helpers at the top.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import pytest

from tests.plugins import in_test_run

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

BASE_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = BASE_DIR / "var" / "test-artifacts"
LOCALSTRIPE_LAUNCHER = BASE_DIR / "scripts" / "localstripe_server.py"
STRIPE_PROXY = BASE_DIR / "scripts" / "stripe_proxy.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STRIPE_SECRET_KEY = "sk_test_localstripe"
STRIPE_PUBLISHABLE_KEY = "pk_test_localstripe"
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "postgis"}
STOP_GRACE_SECONDS = 10.0


# --- REQUIRE_SERVICES ---------------------------------------------------------------------------


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES", "").lower() not in ("", "0", "false", "no")


def service_missing(reason: str) -> NoReturn:
    """Skip the test, or fail it when REQUIRE_SERVICES says nothing may be skipped."""
    if services_required():
        pytest.fail(
            f"{reason} (REQUIRE_SERVICES is set: a missing service is an error)", pytrace=False
        )
    pytest.skip(reason)


def postgres_problem() -> str | None:
    """Why the PostgreSQL in DATABASE_URL cannot be used, or None (also None for SQLite)."""
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        return None
    host, port = unquote(parts.hostname or "localhost"), parts.port or 5432
    if host.startswith("/"):
        socket_path = Path(host) / f".s.PGSQL.{port}"
        return None if socket_path.exists() else f"PostgreSQL socket {socket_path} is missing"
    # Like pg_isready: the server accepts connections. Credentials are pytest-django's business.
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as error:
        return f"PostgreSQL at {host}:{port} (DATABASE_URL) does not answer: {error}"
    return None


def redis_problem() -> str | None:
    """Why Redis cannot be used: not configured, or not answering; None when it answers."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        return "REDIS_URL is not set"
    import redis

    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or 6379}"  # never the password
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3) as client:
            client.ping()
    except redis.RedisError as error:
        return f"Redis at {where} (REDIS_URL) does not answer: {error}"
    return None


def chromium_problem() -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    if not services_required():
        return
    problems = [postgres_problem(), chromium_problem()]
    # REDIS_URL unset is not a problem here: the celery_worker tests then fail on their own.
    if os.environ.get("REDIS_URL"):
        problems.append(redis_problem())
    problems = [problem for problem in problems if problem]
    if problems:
        pytest.exit(
            "REQUIRE_SERVICES is set and services are missing:\n  " + "\n  ".join(problems),
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests that use the fixtures carry the markers without repeating them, so
    # `-m "not browser and not celery_worker"` gives a fast run (tryfirst: before -m selects).
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & {"browser", "page"}:
            item.add_marker(pytest.mark.browser)
        if "celery_worker_process" in fixtures:
            item.add_marker(pytest.mark.celery_worker)


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    process: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` s or if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"{what}: process exited with {process.returncode}{_log_tail(log_path)}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s{_log_tail(log_path)}")
        time.sleep(interval)


def _log_tail(log_path: Path | None, lines: int = 30) -> str:
    if log_path is None or not log_path.exists():
        return ""
    tail = log_path.read_text(errors="replace").splitlines()[-lines:]
    return f"\n--- last lines of {log_path} ---\n" + "\n".join(tail)


def process_stop(process: subprocess.Popen[bytes], *, signum: int = signal.SIGTERM) -> None:
    """Stop a child started with ``process_group=0``, with its own children; SIGKILL if slow."""
    try:
        os.killpg(process.pid, signum)
        process.wait(timeout=STOP_GRACE_SECONDS)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        # The leader is gone; anything left in its group goes too.
        os.killpg(process.pid, signal.SIGKILL)


def artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")


# --- localstripe --------------------------------------------------------------------------------


@dataclass
class LocalStripe:
    """A running localstripe and read access to its records through its own HTTP API."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    secret_key: str = STRIPE_SECRET_KEY

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def js_url(self) -> str:
        return f"{self.url}/js.stripe.com/v3/"

    def request(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        """Call localstripe; a non-2xx answer fails with localstripe's own error text."""
        query = urlencode(params or {})
        url = f"{self.url}{path}"
        data = None
        if method == "GET" and query:
            url = f"{url}?{query}"
        elif query:
            data = query.encode()
        request = urllib.request.Request(
            url,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.secret_key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise AssertionError(f"localstripe {method} {path}: {error.code} {detail}") from None
        return json.loads(body) if body.strip() else None

    def list_all(self, resource: str, **filters: str) -> list[dict[str, Any]]:
        """Every object of ``resource`` ("charges", …), following localstripe's pagination.

        localstripe pages with ``limit``/``starting_after`` like Stripe, but in creation order
        (oldest first) for most resources.
        """
        params: dict[str, Any] = {"limit": 100, **filters}
        objects: list[dict[str, Any]] = []
        while True:
            page = self.request("GET", f"/v1/{resource}", params)
            objects.extend(page["data"])
            if not page["has_more"] or not page["data"]:
                return objects
            params["starting_after"] = page["data"][-1]["id"]

    def payment_intents(self, customer: str | None = None) -> list[dict[str, Any]]:
        # localstripe's PaymentIntent list accepts no filter at all: filter here.
        intents = self.list_all("payment_intents")
        if customer is not None:
            intents = [intent for intent in intents if intent.get("customer") == customer]
        return intents

    def charges(self, customer: str | None = None) -> list[dict[str, Any]]:
        return self.list_all("charges", **({"customer": customer} if customer else {}))

    def refunds(
        self, charge: str | None = None, payment_intent: str | None = None
    ) -> list[dict[str, Any]]:
        filters = {"charge": charge, "payment_intent": payment_intent}
        return self.list_all("refunds", **{k: v for k, v in filters.items() if v})

    def register_webhook(self, url: str, secret: str, events: list[str] | None = None) -> None:
        """Deliver signed events to ``url``; localstripe sends each about 1 s after the fact."""
        params: dict[str, Any] = {"url": url, "secret": secret}
        for index, event in enumerate(events or []):
            params[f"events[{index}]"] = event
        self.request("POST", "/_config/webhooks/portal", params)

    def flush(self) -> None:
        """Forget every object (webhooks stay registered). Affects the whole session."""
        self.request("DELETE", "/_config/data")

    def stop(self) -> None:
        process_stop(self.process)


def server_start(
    argv: list[str],
    workdir: Path,
    *,
    log_path: Path,
    answers: Callable[[int], str],
    what: str,
    timeout: float = 20.0,
) -> tuple[subprocess.Popen[bytes], int]:
    """Start a loopback server of ours (``argv`` takes ``--port 0 --port-file F``) and wait until
    it reports its port and answers at ``answers(port)``. Returns the process and its port.

    The server binds port 0 and writes the port it got: no race for a "free" port.
    """
    port_file = workdir / f"server-{uuid.uuid4().hex}.port"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*argv, "--port", "0", "--port-file", str(port_file)],
            cwd=BASE_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
    try:
        wait_until(
            lambda: port_file.exists() and port_file.read_text().strip().isdigit(),
            timeout=timeout,
            what=f"{what} did not report its port",
            process=process,
            log_path=log_path,
        )
        port = int(port_file.read_text())
        wait_until(
            lambda: _answers(answers(port)),
            timeout=timeout,
            what=f"{what} did not answer on port {port}",
            process=process,
            log_path=log_path,
        )
    except BaseException:
        process_stop(process)
        raise
    return process, port


def localstripe_start(
    workdir: Path,
    *,
    log_path: Path,
    state: Path | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    timeout: float = 20.0,
) -> LocalStripe:
    """Start scripts/localstripe_server.py on a free loopback port and wait until it answers."""
    argv = [sys.executable, str(LOCALSTRIPE_LAUNCHER)]
    if state is not None:
        argv += ["--state", str(state)]
    if webhook_url is not None:
        argv += ["--webhook-url", webhook_url, "--webhook-secret", str(webhook_secret)]
    process, port = server_start(
        argv,
        workdir,
        log_path=log_path,
        answers=lambda port: f"http://127.0.0.1:{port}/js.stripe.com/v3/",
        what="localstripe",
        timeout=timeout,
    )
    server = LocalStripe(process=process, port=port, log_path=log_path)
    return server


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    """A private localstripe for the session; the portal's Stripe settings point at it."""
    from django.conf import settings

    server = localstripe_start(
        tmp_path_factory.mktemp("localstripe"),
        # One per pytest-xdist worker (gw0, gw1…): each has a localstripe of its own.
        log_path=ARTIFACTS_DIR / f"localstripe-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log",
    )
    overrides = {
        "STRIPE_API_BASE": server.url,
        "STRIPE_JS_URL": server.js_url,
        "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": STRIPE_PUBLISHABLE_KEY,
    }
    # Session-wide, so pytest-django's function-scoped `settings` fixture cannot do it; tests
    # may still override on top of this with `settings`.
    missing = object()
    saved = {name: getattr(settings, name, missing) for name in overrides}
    for name, value in overrides.items():
        setattr(settings, name, value)
    try:
        yield server
    finally:
        for name, value in saved.items():
            if value is missing:
                delattr(settings, name)
            else:
                setattr(settings, name, value)
        server.stop()


# --- a slow, limited, faulty Stripe: scripts/stripe_proxy.py in front of localstripe -----------


@dataclass
class StripeProxy:
    """A running ``scripts/stripe_proxy.py``: latency, a rate limit and fault rules."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def faults(self, rules: list[dict[str, Any]]) -> None:
        """Replace the fault rules (see the proxy's docstring for their form)."""
        self._control("POST", "/_proxy/faults", rules)

    def stats(self) -> dict[str, Any]:
        """``{"totals": {"held": n, "forwarded": n, …}, "by_object": {"pi_…": {…}}}``."""
        return self._control("GET", "/_proxy/stats")

    def totals(self) -> dict[str, int]:
        return self.stats()["totals"]

    def reset(self) -> None:
        self._control("POST", "/_proxy/reset", {})

    def release(self) -> None:
        """Let every request held now go on to localstripe."""
        self._control("POST", "/_proxy/release", {})

    def wait_forwarded(self, what: str, count: int = 1, timeout: float = 30.0) -> None:
        """Wait until ``count`` requests about object ``what`` (a ``pi_…`` id) were forwarded."""
        wait_until(
            lambda: self.stats()["by_object"].get(what, {}).get("forwarded", 0) >= count,
            timeout=timeout,
            what=f"the proxy did not forward {count} request(s) about {what}",
            process=self.process,
            log_path=self.log_path,
        )

    def stop(self) -> None:
        process_stop(self.process)


def stripe_proxy_start(
    upstream: str,
    workdir: Path,
    *,
    log_path: Path,
    latency_ms: float = 0,
    jitter_ms: float = 0,
    rate: float = 0,
    seed: int = 1,
    timeout: float = 20.0,
) -> StripeProxy:
    """Start scripts/stripe_proxy.py in front of ``upstream`` on a free loopback port."""
    argv = [sys.executable, str(STRIPE_PROXY), "--upstream", upstream, "--seed", str(seed)]
    argv += ["--latency-ms", str(latency_ms), "--jitter-ms", str(jitter_ms), "--rate", str(rate)]
    process, port = server_start(
        argv,
        workdir,
        log_path=log_path,
        answers=lambda port: f"http://127.0.0.1:{port}/_proxy/stats",
        what="the Stripe proxy",
        timeout=timeout,
    )
    proxy = StripeProxy(process=process, port=port, log_path=log_path)
    return proxy


@pytest.fixture
def stripe_proxy(
    localstripe: LocalStripe, tmp_path: Path, settings: Any, request: pytest.FixtureRequest
) -> Iterator[StripeProxy]:
    """The proxy in front of the session's localstripe; the portal talks to Stripe through it."""
    proxy = stripe_proxy_start(
        localstripe.url,
        tmp_path,
        log_path=ARTIFACTS_DIR / f"stripe-proxy-{artifact_name(request.node.nodeid)}.log",
    )
    settings.STRIPE_API_BASE = proxy.url
    try:
        yield proxy
    finally:
        proxy.stop()


# --- Chromium through Playwright ----------------------------------------------------------------

_phase_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Keep each phase's report on the test item, so `page` knows at teardown if the test failed.
    report = yield
    item.stash.setdefault(_phase_reports, {})[report.when] = report
    return report


# How long a browser test waits for a page or an element before it fails.
BROWSER_TIMEOUT_MS = 20_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (Playwright's own browser download is not used)."""
    problem = chromium_problem()
    if problem:
        service_missing(problem)
    # Playwright's sync API keeps an asyncio event loop running in the main thread (it hands
    # control back and forth with greenlets). From then on Django sees "a running event loop" in
    # the test thread and raises SynchronousOnlyOperation on every ORM call a test makes after
    # driving the page. The tests are plain synchronous code, so the check is switched off for
    # the rest of the session; the live server's own thread never sees that loop anyway.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect, sync_playwright

    # A click that pays renders an invoice PDF in the live server's request: on a loaded
    # machine that outlasts Playwright's 5 s. Waits poll, so a longer bound costs nothing.
    expect.set_options(timeout=BROWSER_TIMEOUT_MS)

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context per test (no cookies carried over); screenshot on failure."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    new_page = context.new_page()
    try:
        yield new_page
    finally:
        reports = request.node.stash.get(_phase_reports, {})
        if any(report.failed for report in reports.values()):
            ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
            screenshot = ARTIFACTS_DIR / f"{artifact_name(request.node.nodeid)}.png"
            try:
                new_page.screenshot(path=str(screenshot), full_page=True)
            except Exception as error:  # a crashed page must not hide the test's own failure
                print(f"screenshot failed: {error}")
            else:
                print(f"screenshot: {screenshot}")
        context.close()


# --- a real Celery worker -----------------------------------------------------------------------


@dataclass
class CeleryWorker:
    """A ``celery worker`` subprocess consuming a queue of its own."""

    process: subprocess.Popen[bytes]
    hostname: str
    queue: str
    log_path: Path
    app: Any = field(repr=False)

    def tasks_completed(self) -> dict[str, int]:
        """Tasks this worker finished so far, by task name (from ``inspect stats``)."""
        stats = self.app.control.inspect(destination=[self.hostname], timeout=2).stats() or {}
        return dict(stats.get(self.hostname, {}).get("total", {}))

    def stop(self) -> None:
        process_stop(self.process)
        _workers_running.pop(self.process.pid, None)

    def wait_for_tasks(self, task_name: str, count: int = 1, timeout: float = 30.0) -> None:
        """Wait until ``count`` runs of ``task_name`` have finished (succeeded or failed)."""
        wait_until(
            lambda: self.tasks_completed().get(task_name, 0) >= count,
            timeout=timeout,
            interval=0.2,
            what=f"worker did not finish {count} × {task_name}",
            process=self.process,
            log_path=self.log_path,
        )


# Every worker started and not stopped yet, by pid: whatever happened to the test that started
# it, ``_workers_stopped_before_the_database_is_dropped`` stops it while the database exists.
_workers_running: dict[int, CeleryWorker] = {}


@pytest.fixture(scope="session")
def _workers_stopped_before_the_database_is_dropped(django_db_setup: None) -> Iterator[None]:
    """Stops any worker still running before pytest-django drops the test database.

    Session fixtures are finalized in the reverse order of their setup; this one depends on
    ``django_db_setup``, so it is set up after it and finalized before its teardown. A worker
    still connected when the database is dropped makes PostgreSQL refuse the DROP ("being
    accessed by other users") and pytest-django leaves the test database behind with a warning.
    """
    yield
    for worker in list(_workers_running.values()):
        worker.stop()


@pytest.fixture(scope="session", autouse=True)
def _nothing_connected_when_the_database_is_dropped(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[None]:
    """On PostgreSQL, ends any other session still on this run's test database before
    pytest-django drops it (set up after ``django_db_setup``, so finalized before it), so the DROP
    never fails with "being accessed by other users" and leaves the database behind. What was
    left is written to ``var/test-artifacts/database-sessions-left-<worker>.txt``: a thread or
    process of the run that did not close its connection."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, application_name, backend_start, state, left(query, 300) "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        left = cursor.fetchall()
        for pid, *_rest in left:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    if left:
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        report = ARTIFACTS_DIR / f"database-sessions-left-{worker}.txt"
        report.write_text("".join(f"{row!r}\n" for row in left))


def _test_database_url(name: str) -> str:
    """DATABASE_URL with the database name replaced by pytest-django's test database."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def celery_worker_start(
    *,
    log_path: Path,
    queue: str,
    env_overrides: dict[str, str] | None = None,
    pool: str = "solo",
    concurrency: int = 1,
) -> CeleryWorker:
    """A real ``celery worker`` subprocess consuming ``queue``, using the test database and the
    portal's current Stripe settings (``env_overrides`` on top); answers a ping when returned."""
    from django.conf import settings
    from django.db import connection

    from partnerportal.celery import app

    hostname = f"pytest-{uuid.uuid4().hex[:12]}@{socket.gethostname()}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": _test_database_url(connection.settings_dict["NAME"]),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "STRIPE_API_BASE": settings.STRIPE_API_BASE,
            "STRIPE_JS_URL": settings.STRIPE_JS_URL,
            "STRIPE_SECRET_KEY": settings.STRIPE_SECRET_KEY,
            "STRIPE_PUBLISHABLE_KEY": settings.STRIPE_PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": settings.STRIPE_WEBHOOK_SECRET,
            # The test's own cache (tests/conftest.py): the worker's rate-limit counters start
            # from nothing, not from what earlier runs left in the same Redis that day.
            "CACHE_KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", ""),
            "PYTHONUNBUFFERED": "1",
            # Renewal batches, which have a queue of their own, go to this worker's too.
            "CELERY_RENEWALS_QUEUE": queue,
            **(env_overrides or {}),
        }
    )
    env.pop("DEBUG", None)
    # A process of the test run: the test settings (tests/plugins/in_test_run.py).
    argv = in_test_run.command(
        "celery",
        "-A",
        "partnerportal",
        "worker",
        "--loglevel",
        "info",
        "--pool",
        pool,
        "--concurrency",
        str(concurrency),
        "--hostname",
        hostname,
        "--queues",
        queue,
        # Nothing to synchronise with: start faster and keep the broker quiet.
        "--without-mingle",
        "--without-gossip",
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
    worker = CeleryWorker(
        process=process, hostname=hostname, queue=queue, log_path=log_path, app=app
    )
    _workers_running[process.pid] = worker
    try:
        wait_until(
            lambda: bool(app.control.ping(destination=[hostname], timeout=0.5)),
            timeout=60,
            interval=0.2,
            what=f"Celery worker {hostname} did not answer a ping",
            process=process,
            log_path=log_path,
        )
    except BaseException:
        worker.stop()
        raise
    return worker


def _celery_usable() -> None:
    from django.db import connection

    problem = redis_problem()
    if problem:
        service_missing(f"a Celery worker needs Redis: {problem}")
    if connection.vendor == "sqlite":
        # pytest-django's SQLite test database lives in this process's memory.
        service_missing("a Celery worker cannot share the in-memory SQLite test database")


@contextlib.contextmanager
def private_queue() -> Iterator[str]:
    """A queue of this test's own: tasks it sends go there (the router reads this setting each
    time a task is sent), so other workers on the same Redis neither steal them nor hand it
    theirs (a developer's ``make run``, a parallel test run)."""
    from partnerportal.celery import app

    queue = f"pytest-{uuid.uuid4().hex[:12]}"
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        app.conf.task_default_queue = default_queue


@pytest.fixture
def celery_worker_process(
    request: pytest.FixtureRequest,
    _workers_stopped_before_the_database_is_dropped: None,
    transactional_db: None,
    localstripe: LocalStripe,
) -> Iterator[CeleryWorker]:
    """A real Celery worker on REDIS_URL, using the test database and the session's localstripe.

    The test runs with ``transactional_db`` (rows are committed, so the worker can read them).
    """
    _celery_usable()
    log_path = ARTIFACTS_DIR / f"celery-worker-{artifact_name(request.node.nodeid)}.log"
    with private_queue() as queue:
        worker = celery_worker_start(log_path=log_path, queue=queue)
        try:
            yield worker
        finally:
            # Warm shutdown: a task still running is finished, not cut off mid-transaction.
            worker.stop()


@pytest.fixture
def celery_workers(
    request: pytest.FixtureRequest,
    _workers_stopped_before_the_database_is_dropped: None,
    transactional_db: None,
    localstripe: LocalStripe,
) -> Iterator[Callable[..., CeleryWorker]]:
    """``celery_workers(pool=…, concurrency=…, env_overrides=…)`` starts one more real worker on
    this test's private queue; all are stopped at the end of the test."""
    _celery_usable()
    started: list[CeleryWorker] = []
    with private_queue() as queue:

        def start(**options: Any) -> CeleryWorker:
            name = f"{artifact_name(request.node.nodeid)}-{len(started) + 1}"
            worker = celery_worker_start(
                log_path=ARTIFACTS_DIR / f"celery-worker-{name}.log", queue=queue, **options
            )
            started.append(worker)
            return worker

        try:
            yield start
        finally:
            for worker in started:
                worker.stop()
