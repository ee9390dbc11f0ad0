"""Partnership > Offers under load, next to a minimal Django view behind the same stack.

    .venv/bin/python bench/offers_page.py [--duration 10] [--connections 8] [--workers 2]
        [--rounds 3] [--client auto|wrk|python]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pp_bench .venv/bin/python bench/offers_page.py

What it does, in one run:

1. migrates a throwaway SQLite database in a temporary directory (or the DATABASE_URL given) and
   seeds the demo catalog, a partner organization with an active Action Pack subscription and
   its MPN partner admin, signed in (a session cookie);
2. serves the portal with gunicorn (sync workers as in docs/production.md, ``DEBUG`` off, production settings apart from
   HTTPS) on a free loopback port, with ``bench/offers_page_settings.py``: the portal's own
   settings plus one URL, ``/bench/minimal/``, a view that returns "ok" behind the same
   middleware (session, user, organization, security headers, request log);
3. loads both pages as the signed-in partner with a loopback load generator (``wrk`` when
   installed, else a threaded Python client), alternating them for ``--rounds`` rounds;
4. prints requests/s of each, their ratio, latency, and the queries each page makes.

Nothing is written outside the temporary directory unless DATABASE_URL names a database (then a
bench organization, ``bench-buyer@bench.example``, is created there once and reused).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

OFFERS_PATH = "/partnership/offers/"
MINIMAL_PATH = "/bench/minimal/"
BUYER_EMAIL = "bench-buyer@bench.example"


@dataclass
class Result:
    requests_per_second: float
    latency_ms: float  # mean
    errors: int


# Environment and data --------------------------------------------------------------------------


def bench_environment(workdir: Path) -> dict[str, str]:
    """Production settings (DEBUG off), minus HTTPS, which a loopback benchmark does not have."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.offers_page_settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": "http://127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY") or "sk_test_bench",
            "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY") or "pk_test_bench",
            "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or "whsec_bench",
            "PYTHONPATH": str(BASE_DIR),
        }
    )
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    return env


def seed() -> str:
    """Migrate, add the catalog and a signed-in buyer; return the buyer's session cookie."""
    import datetime as dt

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from billing.models import Subscription
    from billing.terms import term_dates
    from membership.models import Organization, Role, User
    from membership.second_factor import SESSION_KEY as SECOND_FACTOR_SESSION_KEY
    from membership.second_factor import second_factor_enrolled
    from membership.services import membership_add, second_factor_enroll_totp
    from partnerportal.demo import action_pack_offer

    call_command("migrate", verbosity=0, interactive=False)
    offer = action_pack_offer()
    organization, _ = Organization.objects.get_or_create(
        partner_id="9999901",
        defaults={
            "name": "Bench Partner Ltd",
            "country": "US",
            "currency": "USD",
            "network_member_since": dt.date(2024, 3, 1),
        },
    )
    buyer = User.objects.filter(email=BUYER_EMAIL).first()
    if buyer is None:
        buyer = User.objects.create_user(email=BUYER_EMAIL, password=None, full_name="Bench Buyer")
        membership_add(organization=organization, user=buyer, roles={Role.MPN_PARTNER_ADMIN})
    started = dt.date(2026, 3, 10)
    start, end = term_dates(started_on=started, term_number=1)
    Subscription.objects.get_or_create(
        organization=organization,
        offer=offer,
        defaults={"started_on": started, "current_term_start": start, "current_term_end": end},
    )
    if not second_factor_enrolled(buyer):
        second_factor_enroll_totp(user=buyer, secret="PARTNERPORTALDEMOSECRETTOTPCODES")
    client = Client()
    client.force_login(buyer, backend="django.contrib.auth.backends.ModelBackend")
    # Past the second factor, as a partner is once signed in (membership/second_factor.py).
    session = client.session
    session[SECOND_FACTOR_SESSION_KEY] = {
        "user": str(buyer.pk),
        "at": time.time(),
        "method": "totp",
    }
    session.save()
    cookie = session.session_key
    connection.close()
    return cookie


def queries_per_page(cookie: str) -> dict[str, int]:
    """How many SQL queries each page makes (in this process, through the test client)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies["sessionid"] = cookie
    counts = {}
    for path in (MINIMAL_PATH, OFFERS_PATH):
        client.get(path)  # warm-up
        with CaptureQueriesContext(connection) as context:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        counts[path] = len(context)
    connection.close()
    return counts


# gunicorn --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_start(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen:
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "partnerportal.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--backlog",
        "2048",
        "--log-level",
        "warning",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv,
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited ({process.returncode}); see {log}")
        try:
            # /healthz also checks Stripe, which this bench does not run: ask the minimal view.
            url = f"http://127.0.0.1:{port}{MINIMAL_PATH}"
            with urllib.request.urlopen(url, timeout=1) as reply:
                if reply.status == 200:
                    return process
        except OSError:
            time.sleep(0.1)
    process_stop(process)
    raise SystemExit(f"gunicorn did not answer on port {port}; see {log}")


def process_stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def page_check(port: int, cookie: str) -> None:
    """Both URLs answer 200 to the signed-in partner, and the Offers page is the real one."""
    for path, expected in ((OFFERS_PATH, b"Available offers"), (MINIMAL_PATH, b"ok")):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        if response.status != 200 or expected not in body:
            raise SystemExit(f"{path}: HTTP {response.status}, not the page expected")


# Load generators -------------------------------------------------------------------------------


def load_wrk(url: str, cookie: str, *, duration: int, connections: int) -> Result:
    output = subprocess.run(
        [
            "wrk",
            "--threads",
            "1",
            "--connections",
            str(connections),
            "--duration",
            f"{duration}s",
            "--latency",
            "--header",
            f"Cookie: sessionid={cookie}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[latency.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        # gunicorn's sync workers close each connection: wrk counts those closes as read errors.
        errors += int(socket_errors.group(1)) + int(socket_errors.group(4))
    return Result(rate, float(latency.group(1)) * scale, errors)


def load_python(url: str, cookie: str, *, duration: int, connections: int) -> Result:
    """A threaded client: ``connections`` threads, each one request at a time, for ``duration``."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    path = "/" + url.split("//")[1].split("/", 1)[1]
    deadline = time.monotonic() + duration
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker() -> None:
        mine: list[float] = []
        failed = 0
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                connection = http.client.HTTPConnection(host, int(port), timeout=10)
                connection.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
                response = connection.getresponse()
                response.read()
                connection.close()
                if response.status != 200:
                    failed += 1
                    continue
            except OSError:
                failed += 1
                continue
            mine.append(time.monotonic() - started)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    mean_ms = statistics.fmean(latencies) * 1000 if latencies else 0.0
    return Result(len(latencies) / elapsed, mean_ms, errors[0])


# Main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument(
        "--workers", type=int, default=2 * (os.cpu_count() or 1), help="gunicorn sync workers"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of both pages")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args()
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    load = load_wrk if client == "wrk" else load_python

    workdir = Path(tempfile.mkdtemp(prefix="pp-bench-offers-"))
    env = bench_environment(workdir)
    os.environ.update(env)
    os.environ["LOG_LEVEL"] = "WARNING"  # quiet here; gunicorn keeps the request log
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise")

    django.setup()
    cookie = seed()
    queries = queries_per_page(cookie)

    load_before = os.getloadavg()[0]
    port = free_port()
    server = gunicorn_start(env, port, args.workers, workdir / "gunicorn.log")
    try:
        page_check(port, cookie)
        base = f"http://127.0.0.1:{port}"
        for path in (MINIMAL_PATH, OFFERS_PATH):  # warm every worker
            load(f"{base}{path}", cookie, duration=2, connections=args.connections)
        results: dict[str, list[Result]] = {MINIMAL_PATH: [], OFFERS_PATH: []}
        for _round in range(args.rounds):
            for path in (MINIMAL_PATH, OFFERS_PATH):
                results[path].append(
                    load(
                        f"{base}{path}",
                        cookie,
                        duration=args.duration,
                        connections=args.connections,
                    )
                )
    finally:
        process_stop(server)
    shutil.rmtree(workdir, ignore_errors=True)  # kept, with gunicorn.log, when a run fails

    database = env["DATABASE_URL"].split("://")[0]
    print(
        f"gunicorn {args.workers} sync workers, {database}, {client} with {args.connections} "
        f"connections, {args.rounds} rounds of {args.duration} s per page, {os.cpu_count()} CPUs "
        f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)"
    )
    print(f"{'page':<28}{'requests/s':>12}{'mean latency':>15}{'queries':>9}{'errors':>8}")
    rates = {}
    for path, label in (
        (MINIMAL_PATH, "minimal Django view"),
        (OFFERS_PATH, "Partnership > Offers"),
    ):
        rate = statistics.median(r.requests_per_second for r in results[path])
        latency = statistics.median(r.latency_ms for r in results[path])
        errors = sum(r.errors for r in results[path])
        rates[path] = rate
        print(f"{label:<28}{rate:>12.1f}{latency:>12.1f} ms{queries[path]:>9}{errors:>8}")
    each = ", ".join(f"{r.requests_per_second:.0f}" for r in results[OFFERS_PATH])
    print(f"Offers rounds: {each} requests/s")
    ratio = rates[OFFERS_PATH] / rates[MINIMAL_PATH]
    print(f"ratio Offers / minimal: {ratio:.2f} ({1 / ratio:.2f}x the minimal view's cost)")


if __name__ == "__main__":
    main()
