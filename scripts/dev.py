"""Run the whole portal in the foreground for development: ``make run`` calls this.

    python scripts/dev.py [--seed] [--port 8000] [--stripe-port 8420]

Starts, in this order, each once the one before answers:
1. localstripe (scripts/localstripe_server.py on 127.0.0.1:STRIPE_PORT, state kept in var/),
   with the portal's webhook registered;
2. the Django development server on 127.0.0.1:PORT;
3. with ``--seed``: ``manage.py seed_demo``, which needs both (it saves cards in localstripe, and
   localstripe's webhooks for them need the web server);
4. a Celery worker with embedded beat, on the embedded filesystem broker (or REDIS_URL /
   CELERY_BROKER_URL when set); last, so beat's first billing cycle sees the finished demo data.
   One billing cycle is queued for it at once: a demo subscription due today renews in the
   first minute, not at beat's next hourly run.

Everything that names a port is derived from the two ports, for every process: ``SITE_URL``,
``STRIPE_API_BASE``, ``STRIPE_JS_URL`` and localstripe's webhook target (with
``STRIPE_WEBHOOK_SECRET``, ``whsec_localstripe`` unless set). A port already taken stops
everything before anything starts, with a message saying which one. ``VAR_DIR`` (default
``var/``) holds the SQLite database, the broker's folders, beat's schedule and localstripe's state.

Every line of output is prefixed with the process's name. One Ctrl-C or SIGTERM stops them all;
if any of them dies, the others are stopped and this script exits non-zero, so a broken piece is
never hidden behind the ones still running.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

BASE_DIR = Path(__file__).resolve().parent.parent
# The same default as partnerportal/settings.py, which reads the same variable.
VAR_DIR = Path(os.environ.get("VAR_DIR") or BASE_DIR / "var").resolve()
PYTHON = sys.executable

HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_STRIPE_PORT = 8420
READY_TIMEOUT_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0
POLL_SECONDS = 0.2
# Printed once the portal answers: the demo's second factor (README "Demo accounts").
DEMO_SIGN_IN_HINT = (
    "demo sign-in: password partner-demo-2026, authenticator key "
    "PARTNERPORTALDEMOSECRETTOTPCODES — code: .venv/bin/python -c "
    "\"import pyotp; print(pyotp.TOTP('PARTNERPORTALDEMOSECRETTOTPCODES').now())\" "
    "(passkeys need http://localhost:{port}/); invitation and password-reset links are "
    "printed here, in the emails (console email backend)"
)

COLOURS = {
    "localstripe": "\033[36m",
    "web": "\033[35m",
    "seed": "\033[33m",
    "celery": "\033[32m",
    "cycle": "\033[34m",
}
RESET = "\033[0m"
NAME_WIDTH = max(len(name) for name in COLOURS)

_output_lock = threading.Lock()
stop_requested = threading.Event()

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# Looked up here, once: the child between fork and exec makes one foreign call, nothing more.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _stop_with_the_supervisor(supervisor_pid: int) -> Callable[[], None]:
    """Run in each child before it starts: on Linux the kernel sends it SIGTERM when this
    script dies, even by SIGKILL, so a killed ``make run`` never leaves a server holding a port.
    Elsewhere the children are only stopped by ``children_stop``."""

    def set_parent_death_signal() -> None:
        # A plain fork keeps this script's own handlers until exec: the signal must kill.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if _prctl is None:
            return
        if _prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
            os._exit(1)
        # The supervisor may have died between fork and prctl: the signal would never come.
        if os.getppid() != supervisor_pid:
            os._exit(1)

    return set_parent_death_signal


def say(message: str) -> None:
    with _output_lock:
        sys.stdout.write(f"{'dev':<{NAME_WIDTH}} | {message}\n")
        sys.stdout.flush()


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = None

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            self.argv,
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own process group: the terminal's Ctrl-C reaches only this supervisor, which
            # then stops every child, and killpg also reaches their children (Celery's beat).
            process_group=0,
            preexec_fn=_stop_with_the_supervisor(os.getpid()),
        )
        self.reader = threading.Thread(target=self._relay, args=(self.process.stdout,), daemon=True)
        self.reader.start()
        say(f"started {self.name} (pid {self.process.pid})")

    def _relay(self, stream: IO[bytes]) -> None:
        colour = COLOURS.get(self.name, "") if sys.stdout.isatty() else ""
        prefix = f"{colour}{self.name:<{NAME_WIDTH}}{RESET if colour else ''} | "
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with _output_lock:
                sys.stdout.write(f"{prefix}{line}\n")
                sys.stdout.flush()

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal_group(self, signum: int) -> bool:
        """Send ``signum`` to the child's process group; False when the group is gone."""
        if self.process is None:
            return False
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            return False
        return True

    def group_alive(self) -> bool:
        # Reap the leader first: a zombie still counts as a member of its group.
        self.exit_code()
        return self.signal_group(0)


def answers(url: str) -> bool:
    """True once ``url`` gives any HTTP answer."""
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our loopback URL)
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def wait_until(condition: Callable[[], bool], *, what: str, children: list[Child]) -> bool:
    """Wait for ``condition``; False (after saying why) on stop, a dead child or the timeout."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not condition():
        if stop_requested.is_set():
            return False
        for child in children:
            code = child.exit_code()
            if code is not None:
                say(f"{child.name} exited with code {code} while waiting for {what}")
                return False
        if time.monotonic() > deadline:
            say(f"gave up waiting for {what} after {READY_TIMEOUT_SECONDS:.0f} s")
            return False
        time.sleep(POLL_SECONDS)
    return True


@dataclass(frozen=True)
class Ports:
    web: int = DEFAULT_PORT
    stripe: int = DEFAULT_STRIPE_PORT

    @property
    def site_url(self) -> str:
        return f"http://{HOST}:{self.web}"

    @property
    def stripe_api_base(self) -> str:
        return f"http://{HOST}:{self.stripe}"


def environment_build(ports: Ports) -> dict[str, str]:
    env = dict(os.environ)
    # Development settings; `make run` exports DEBUG=1 too, this covers running the script alone.
    env.setdefault("DEBUG", "1")
    env.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_localstripe")
    env["VAR_DIR"] = str(VAR_DIR)
    # Derived from the ports for every process, so links, Stripe.js and webhooks agree.
    env["SITE_URL"] = ports.site_url
    env["STRIPE_API_BASE"] = ports.stripe_api_base
    env["STRIPE_JS_URL"] = f"{ports.stripe_api_base}/js.stripe.com/v3/"
    # Child output goes through a pipe; unbuffered, it reaches the terminal line by line.
    env["PYTHONUNBUFFERED"] = "1"
    return env


def port_taken(port: int) -> bool:
    """True when something already listens on (or holds) HOST:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers bind: a port in TIME_WAIT after a restart is not "taken".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def ports_problem(ports: Ports) -> str | None:
    """Why the servers cannot start on ``ports``, said plainly; None when both are free."""
    if ports.web == ports.stripe:
        return f"PORT and STRIPE_PORT are both {ports.web}: choose two different ports."
    for port, what, variable in (
        (ports.web, "the web server", "PORT"),
        (ports.stripe, "localstripe", "STRIPE_PORT"),
    ):
        if port_taken(port):
            return (
                f"port {port} ({what}) is already in use on {HOST}: stop what uses it "
                f"(another `make run`?) or choose another port, e.g. "
                f"make run {variable}={port + 1}"
            )
    return None


def var_folders_create() -> None:
    # var/ is not in git: the SQLite file, the filesystem broker's folders (settings point the
    # broker there), beat's schedule and localstripe's state live there.
    for folder in (VAR_DIR, VAR_DIR / "celery-broker", VAR_DIR / "celery-control"):
        folder.mkdir(parents=True, exist_ok=True)


def children_stop(children: list[Child]) -> None:
    """SIGTERM every process group, wait up to STOP_GRACE_SECONDS, then SIGKILL what is left."""
    for child in children:
        if child.signal_group(signal.SIGTERM):
            say(f"stopping {child.name}")
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and any(child.group_alive() for child in children):
        time.sleep(POLL_SECONDS)
    for child in children:
        if child.signal_group(signal.SIGKILL):
            say(f"{child.name} did not stop within {STOP_GRACE_SECONDS:.0f} s: killed")
    for child in children:
        if child.process is not None:
            child.process.wait()
        if child.reader is not None:
            child.reader.join(timeout=2)


def run(*, seed: bool, ports: Ports) -> int:
    env = environment_build(ports)
    web_address = f"{HOST}:{ports.web}"
    localstripe = Child(
        "localstripe",
        [
            PYTHON,
            str(BASE_DIR / "scripts" / "localstripe_server.py"),
            *("--host", HOST, "--port", str(ports.stripe)),
            *("--state", str(VAR_DIR / "localstripe.pickle")),
            *("--webhook-url", f"{ports.site_url}/stripe/webhook/"),
            *("--webhook-secret", env["STRIPE_WEBHOOK_SECRET"]),
        ],
    )
    web = Child("web", [PYTHON, "manage.py", "runserver", web_address, "--noreload"])
    seeder = Child("seed", [PYTHON, "manage.py", "seed_demo"])
    celery = Child(
        "celery",
        [PYTHON, "-m", "celery", "-A", "partnerportal", "worker", "-B", "-l", "info"]
        # Both queues: the default one and the renewals' (partnerportal/settings.py).
        + ["--concurrency", "1", "--pool", "solo", "--queues", "celery,renewals"],
    )
    # Queued at once, run by the worker when it is up: renewals due today are charged now.
    first_cycle = Child(
        "cycle",
        [PYTHON, "-m", "celery", "-A", "partnerportal", "call", "billing.tasks.billing_cycle_run"],
    )

    def interrupted_or_failed() -> int:
        return 0 if stop_requested.is_set() else 1

    servers: list[Child] = []  # long-running: any exit is a failure
    started: list[Child] = []  # everything to stop at the end, the seeder included

    def server_start(child: Child, ready_url: str) -> bool:
        child.start(env)
        servers.append(child)
        started.append(child)
        return wait_until(lambda: answers(ready_url), what=child.name, children=servers)

    try:
        if not server_start(localstripe, env["STRIPE_JS_URL"]):
            return interrupted_or_failed()
        if not server_start(web, f"{ports.site_url}/healthz/live"):
            return interrupted_or_failed()
        if seed:
            seeder.start(env)
            started.append(seeder)
            if not wait_until(
                lambda: seeder.exit_code() is not None, what="seed_demo", children=servers
            ):
                return interrupted_or_failed()
            if seeder.exit_code() != 0:
                say(f"seed_demo failed with code {seeder.exit_code()}")
                return 1
        celery.start(env)
        servers.append(celery)
        started.append(celery)
        first_cycle.start(env)
        started.append(first_cycle)

        say(f"portal on {ports.site_url}/ — Ctrl-C stops everything")
        say(DEMO_SIGN_IN_HINT.format(port=ports.web))
        while not stop_requested.wait(POLL_SECONDS):
            for child in servers:
                code = child.exit_code()
                if code is not None:
                    say(f"{child.name} exited with code {code}; stopping the rest")
                    return 1
        return 0
    finally:
        if stop_requested.is_set():
            say("stop requested")
        children_stop(started)
        say("all stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seed",
        action="store_true",
        help="run manage.py seed_demo once localstripe and the web server answer",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="the web server's port (default 8000)"
    )
    parser.add_argument(
        "--stripe-port",
        type=int,
        default=DEFAULT_STRIPE_PORT,
        help="localstripe's port (default 8420)",
    )
    parser.add_argument(
        "--check-ports",
        action="store_true",
        help="only say whether both ports are free (exit 2 when one is taken)",
    )
    args = parser.parse_args(argv)
    ports = Ports(web=args.port, stripe=args.stripe_port)
    problem = ports_problem(ports)
    if problem:
        sys.stderr.write(f"make run: {problem}\n")
        return 2
    if args.check_ports:
        return 0

    def on_stop_signal(signum: int, frame: object) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, on_stop_signal)
    signal.signal(signal.SIGTERM, on_stop_signal)
    var_folders_create()
    return run(seed=args.seed, ports=ports)


if __name__ == "__main__":
    sys.exit(main())
