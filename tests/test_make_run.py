"""``make run PORT=… STRIPE_PORT=…`` as a newcomer runs it (README "Two commands"), on a
temporary VAR_DIR (its own SQLite database, broker folders and localstripe state), never the
developer's ``var/``.

The whole run is started once per module: migrate, localstripe, the web server, ``seed_demo``,
the worker with beat and its first billing cycle. A browser then buys the Action Pack with card
4242 4242 4242 4242 on those ports, so Stripe.js, the card entry and localstripe's webhooks are
proven to follow the ports.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from partnerportal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from tests.plugins.people import CODE_LABEL
from tests.plugins.services import BASE_DIR, wait_until

# One `make run` for the module's tests: under `make test` (pytest-xdist, --dist loadgroup) they
# all go to the same worker process.
pytestmark = [pytest.mark.xdist_group("make_run"), pytest.mark.any_backend]

# The ports when free (a parallel run may hold them): two free ones otherwise.
WANTED_PORTS = (8123, 8433)
START_TIMEOUT_SECONDS = 420.0
STOP_TIMEOUT_SECONDS = 40.0
# make run must not see the test run's servers: SQLite and the filesystem broker in VAR_DIR.
UNSET = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "REQUIRE_SERVICES", "DEBUG")


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ports_to_use() -> tuple[int, int]:
    if all(port_free(port) for port in WANTED_PORTS):
        return WANTED_PORTS
    return free_port(), free_port()


def make_env(var_dir: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    env["VAR_DIR"] = str(var_dir)
    return env


@dataclass
class MakeRun:
    process: subprocess.Popen[str]
    port: int
    stripe_port: int
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.output()):
            if self.process.poll() is not None:
                pytest.fail(f"make run exited ({self.process.returncode}):\n{self.tail()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"make run did not print {pattern!r} in {timeout:.0f} s:\n{self.tail()}"
                )
            time.sleep(0.5)

    def tail(self, count: int = 60) -> str:
        return "\n".join(line[:300] for line in self.lines[-count:])


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
        return response.status, response.read().decode(errors="replace")


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeRun]:
    port, stripe_port = ports_to_use()
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}", f"STRIPE_PORT={stripe_port}"],
        cwd=BASE_DIR,
        env=make_env(tmp_path_factory.mktemp("make-run-var")),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        process_group=0,
    )
    run = MakeRun(process=process, port=port, stripe_port=stripe_port)
    assert process.stdout is not None
    reader = threading.Thread(
        target=lambda: run.lines.extend(line.rstrip("\n") for line in process.stdout),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    try:
        run.wait_for(r"dev\s+\| portal on ", timeout=START_TIMEOUT_SECONDS)
        yield run
    finally:
        # dev.py stops its children (each in a process group of its own) on SIGTERM. make exits
        # at once; dev.py is done when its output ends, and its output is read until then: a
        # closed pipe would kill it halfway through stopping them, leaving the servers behind.
        os.killpg(process.pid, signal.SIGTERM)
        reader.join(timeout=STOP_TIMEOUT_SECONDS)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=5)


def test_the_portal_and_localstripe_answer_on_the_ports_given(make_run: MakeRun) -> None:
    site = f"http://127.0.0.1:{make_run.port}"
    assert get(f"{site}/healthz/live")[0] == 200
    assert get(f"http://127.0.0.1:{make_run.stripe_port}/js.stripe.com/v3/")[0] == 200
    assert f"portal on {site}/" in make_run.output()
    # seed_demo's purchases made localstripe send webhooks to this web server, signed right.
    make_run.wait_for(r'"path": "/stripe/webhook/", "status": 200')
    assert not re.search(r'"path": "/stripe/webhook/", "status": 4\d\d', make_run.output())


def test_the_first_billing_cycle_renews_the_subscription_due_today(make_run: MakeRun) -> None:
    make_run.wait_for(r"renewals_charge\[[^\]]+\] succeeded in [\d.]+s: \{'\d+': 'renewed'\}")
    make_run.wait_for(r"Subject: Your Microsoft Action Pack subscription")


def test_a_partner_pays_with_a_card_on_the_ports_given(make_run: MakeRun, page: Page) -> None:
    site = f"http://127.0.0.1:{make_run.port}"
    page.goto(f"{site}/accounts/login/")
    page.get_by_label("Email").fill("buyer@contoso.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label(CODE_LABEL).fill(pyotp.TOTP(DEMO_TOTP_SECRET).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.goto(f"{site}/partnership/offers/")
    page.get_by_role("link", name="Subscribe now").click()
    page.get_by_label(re.compile("I accept the terms and conditions")).check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Payment details")).to_be_visible()
    stripe_js = page.locator("script[src*='js.stripe.com/v3']")
    expect(stripe_js).to_have_attribute(
        "src", f"http://127.0.0.1:{make_run.stripe_port}/js.stripe.com/v3/"
    )
    if page.locator("details.add-card[open]").count() == 0:
        page.get_by_text("Add a payment method", exact=True).click()
    form = page.locator("form[data-card-entry]")
    expect(form.get_by_role("button", name="Next")).to_be_enabled()  # Stripe.js is loaded
    card = form.locator("#card-element")
    card.get_by_placeholder("number").fill("4242424242424242")
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("34")
    card.get_by_placeholder("cvc").fill("123")
    card.get_by_placeholder("postal_code").fill("98052")
    form.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    page.get_by_role("button", name="Purchase").click()

    expect(page.get_by_role("heading", name="Your order is confirmed.")).to_be_visible()


def descendants(pid: int) -> Iterator[int]:
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        yield int(child)
        yield from descendants(int(child))


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


# Last of the tests that use `make_run`: it ends it (the fixture's teardown then finds it gone).
def test_killing_make_run_outright_leaves_nothing_running(make_run: MakeRun) -> None:
    """A SIGKILL gives dev.py no chance to stop anything: the kernel's parent-death signal stops
    its children (web server, localstripe, the Celery worker and its beat), so nothing is left
    holding the ports or the database."""
    processes = list(descendants(make_run.process.pid))
    supervisor = next(
        (
            pid
            for pid in processes
            if b"scripts/dev.py" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ),
        None,
    )
    assert supervisor is not None, "make run's dev.py not found"
    children = list(descendants(supervisor))
    assert len(children) >= 3, children  # localstripe, web, celery (and beat)
    try:
        os.kill(supervisor, signal.SIGKILL)
        wait_until(
            lambda: not any(alive(pid) for pid in children),
            timeout=STOP_TIMEOUT_SECONDS,
            what="make run's servers stopped after dev.py died",
        )
        assert port_free(make_run.port) and port_free(make_run.stripe_port)
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_taken_port_stops_make_run_with_a_sentence(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        result = subprocess.run(
            ["make", "run", f"PORT={taken}", f"STRIPE_PORT={free_port()}"],
            cwd=BASE_DIR,
            env=make_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert result.returncode != 0
    assert f"port {taken} (the web server) is already in use" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "db.sqlite3").exists()  # stopped before migrating
