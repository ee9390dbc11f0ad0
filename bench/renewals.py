"""Renewal throughput: the billing cycle's service against the bare payment calls it makes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pp_bench .venv/bin/python bench/renewals.py
        [--sizes 1000 10000] [--bare 1000] [--sample 200] [--workers 1] [--localstripe LAUNCHER]

Prints, side by side, in one run against one localstripe (``scripts/localstripe_server.py``,
which does not pickle its whole store on every call):

- renewals per second through ``subscriptions_renew_automatically``, in the batches the billing
  cycle uses (``RENEWAL_BATCH_SIZE`` per task, a setting), for each size of due
  subscriptions (1,000 and 10,000 by default), and the time it took;
- bare PaymentIntent create + confirm per second through ``billing.stripe_gateway`` (the two
  Stripe calls every renewal makes, nothing else), measured just before each size, against
  localstripe as it is then (localstripe gets slower as it fills up; both sides pay for that);
- their ratio (the app's overhead over the bare payment calls);
- database queries per renewal, counted with ``CaptureQueriesContext`` on a sample of its own,
  with the statements that make them up.

Targets (issue 4): overhead at most 25 %, at most 10 queries per renewal, T(10,000) / T(1,000)
at most 11. The database is a fresh test database (``test_<name>`` of DATABASE_URL, created and
dropped here), so nothing of yours is touched. PostgreSQL only: it is the system of record.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.data import cards_create, due_subscriptions  # noqa: E402 (after the path)

TODAY = dt.date(2026, 3, 2)  # any date; the clock is frozen at 00:05 on it
TARGET_OVERHEAD = 0.25
TARGET_QUERIES = 10
TARGET_SCALING = 11.0


# localstripe -----------------------------------------------------------------------------------


def localstripe_start(workdir: Path, launcher: Path) -> tuple[subprocess.Popen, str]:
    port_file = workdir / "localstripe.port"
    process = subprocess.Popen(
        [
            sys.executable,
            str(launcher),
            "--port",
            "0",
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip().isdigit():
            url = f"http://127.0.0.1:{port_file.read_text().strip()}"
            try:
                urllib.request.urlopen(f"{url}/js.stripe.com/v3/", timeout=2).close()
                return process, url
            except OSError:
                pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise SystemExit("localstripe did not start (scripts/localstripe_server.py)")


# Measuring -------------------------------------------------------------------------------------


def run_split(function, items: list, workers: int) -> float:
    """Call ``function`` on every item with ``workers`` threads; seconds it took."""
    from django.db import connection

    chunks = [items[index::workers] for index in range(workers)]
    errors: list[BaseException] = []

    def work(chunk):
        try:
            for item in chunk:
                function(item)
        except BaseException as error:
            errors.append(error)
        finally:
            if workers > 1:
                connection.close()

    started = time.perf_counter()
    if workers == 1:
        work(chunks[0])
    else:
        threads = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed


def renew(batch: list[int]) -> None:
    """One batch, as one ``renewals_charge`` task runs it."""
    from billing.services.renewals import RenewalOutcome, subscriptions_renew_automatically

    for result in subscriptions_renew_automatically(subscription_ids=batch):
        if result.outcome != RenewalOutcome.RENEWED:
            raise RuntimeError(f"subscription {result.subscription_id} was not renewed: {result}")


def batches(ids: list[int]) -> list[list[int]]:
    from billing.services.renewals import renewal_batches

    return renewal_batches(ids)


def bare_payments(cards: list[tuple[str, str]], count: int, workers: int) -> float:
    """Seconds for ``count`` PaymentIntent create + confirm, the two calls of every renewal."""
    from billing import stripe_gateway

    def pay(number: int) -> None:
        customer, card = cards[number % len(cards)]
        key = f"bench-bare-{number}-{time.monotonic_ns()}"
        intent = stripe_gateway.payment_intent_create(
            amount=47500,
            currency="USD",
            customer_id=customer,
            payment_method_id=card,
            idempotency_key=key,
            metadata={"order_id": str(number), "attempt": "1"},
        )
        intent = stripe_gateway.payment_intent_confirm(
            intent.id, idempotency_key=key, off_session=True
        )
        if intent.status != "succeeded":
            raise RuntimeError(intent)

    return run_split(pay, list(range(count)), workers)


_TABLE = re.compile(
    r'^(SELECT|INSERT|UPDATE|DELETE)\b(?:.*?\b(?:FROM|INTO)\s+|\s+)"(\w+)"',
    re.IGNORECASE | re.DOTALL,
)


def statement_kind(sql: str) -> str:
    if sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
        return "savepoint"
    match = _TABLE.match(sql)
    return f"{match.group(1).upper()} {match.group(2)}" if match else sql.split()[0].upper()


def queries_per_renewal(offer, sample: int) -> tuple[float, Counter]:
    """Statements sent to the database per renewal, counted one renewal at a time.

    Counted the way the cycle renews, a batch (``RENEWAL_BATCH_SIZE``) per call, and divided by
    the number of renewals; every statement is counted, transaction control included. One
    ``CaptureQueriesContext`` per batch: Django keeps at most 9,000 queries in its log, so one
    context around the whole sample would silently drop the oldest.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    kinds: Counter = Counter()
    for batch in batches(due_subscriptions(offer, sample, TODAY)):
        connection.queries_log.clear()  # the log is capped: start each count from empty
        with CaptureQueriesContext(connection) as captured:
            renew(batch)
        kinds.update(statement_kind(query["sql"]) for query in captured.captured_queries)
    return sum(kinds.values()) / sample, kinds


# Main ------------------------------------------------------------------------------------------


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--bare", type=int, default=1000, help="bare create+confirm pairs")
    parser.add_argument("--sample", type=int, default=200, help="renewals to count queries on")
    parser.add_argument("--workers", type=int, default=1, help="threads, same for both sides")
    parser.add_argument(
        "--localstripe",
        type=Path,
        default=BASE_DIR / "scripts" / "localstripe_server.py",
        help="the localstripe launcher to start (default: scripts/localstripe_server.py)",
    )
    return parser.parse_args()


def main() -> int:
    args = arguments()
    # A stopped bench still drops its test database and stops its localstripe (``finally``).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (its test_ copy is used).")
    workdir = Path(tempfile.mkdtemp(prefix="bench-renewals-"))
    localstripe, url = localstripe_start(workdir, args.localstripe)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "partnerportal.settings",
            "STRIPE_API_BASE": url,
            "EMAIL_URL": "memorymail://",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    # The test settings (no secrets needed, fast hasher): tests/plugins/in_test_run.py.
    import tests.plugins.in_test_run  # noqa: F401

    django.setup()
    from django.conf import settings
    from django.core import mail
    from django.db import connection

    from core import clock
    from partnerportal.demo import action_pack_offer

    # Emails are rendered and sent to memory. Not setup_test_environment(): it instruments
    # every template render for the test client, a cost production does not have.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        clock.set_now(dt.datetime.combine(TODAY, dt.time(0, 5), tzinfo=dt.UTC))
        offer = action_pack_offer()
        per_renewal, kinds = queries_per_renewal(offer, args.sample)
        mail.outbox.clear()

        rows = []
        bare_cards = cards_create(200)
        for size in args.sizes:
            ids = due_subscriptions(offer, size, TODAY)
            mail.outbox.clear()
            # The bare calls run just before the renewals, against localstripe as it is then:
            # both sides pay for whatever localstripe's own size costs it.
            bare_seconds = bare_payments(bare_cards, args.bare, args.workers)
            seconds = run_split(renew, batches(ids), args.workers)
            rows.append((size, args.bare / bare_seconds, seconds, size / seconds))
    finally:
        clock.set_now(None)
        connection.creation.destroy_test_db(old_name, verbosity=0)
        localstripe.terminate()
        localstripe.wait(timeout=10)

    print(
        f"Renewals on PostgreSQL + localstripe, {args.workers} worker thread(s), "
        f"{os.cpu_count()} CPUs"
    )
    print()
    print(
        f"{'due subscriptions':>18}{'bare create+confirm/s':>24}{'renewals/s':>12}"
        f"{'ratio':>8}{'renewals took':>15}"
    )
    for size, bare_rate, seconds, rate in rows:
        print(
            f"{size:>18,}{bare_rate:>24.1f}{rate:>12.1f}{bare_rate / rate:>8.2f}{seconds:>14.1f}s"
        )
    print(f"(bare: {args.bare:,} PaymentIntent create + confirm pairs, measured before each size)")
    print()
    overhead = max(bare_rate / rate for _size, bare_rate, _seconds, rate in rows) - 1
    print(
        f"app overhead over the bare payment calls: {overhead:.0%} (target <= {TARGET_OVERHEAD:.0%})"
    )
    control = sum(
        count for kind, count in kinds.items() if kind in ("BEGIN", "COMMIT", "savepoint")
    )
    statements = per_renewal - control / args.sample
    batch = min(settings.RENEWAL_BATCH_SIZE, args.sample)
    print(
        f"database queries per renewal: {per_renewal:.2f} (target <= {TARGET_QUERIES}), of which "
        f"{statements:.2f} SQL statements and {control / args.sample:.2f} transaction control"
    )
    print(f"  per batch of {batch} renewals ({args.sample} renewals counted):")
    for kind, count in kinds.most_common():
        print(f"    {count * batch / args.sample:6.1f}  {kind}")
    if len(rows) >= 2:
        (small, _, t_small, _), (large, _, t_large, _) = rows[0], rows[-1]
        scaling = t_large / t_small
        limit = TARGET_SCALING * large / small / 10
        print(f"T({large:,}) / T({small:,}): {scaling:.2f} (target <= {limit:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
