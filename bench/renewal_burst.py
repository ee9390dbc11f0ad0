"""Anniversary day: N renewals due at once, against a Stripe that is slow and rate limited.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pp_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/renewal_burst.py --renewals 2000 --latency-ms 200 \\
        --stripe-rate 25 --workers 24

Starts localstripe and ``scripts/stripe_proxy.py`` in front of it (``--latency-ms`` ± a quarter
of it, and a token bucket of ``--stripe-rate`` requests a second answering 429 beyond it, as
Stripe does), a fresh PostgreSQL database (``<name>_burst``, dropped at the end), and real Celery
workers on a Redis database of their own, as production runs them: one worker for the default
queue, one for the renewals queue with a thread pool of ``--workers`` threads. The portal is
told the account's limit (``STRIPE_RATE_LIMIT`` = the proxy's rate) and paces its jobs to its
share (``STRIPE_JOBS_RATE_SHARE``, 0.95). N subscriptions fall due; the cycle is sent once, as
beat sends it; the bench waits until every one is renewed.

Prints renewals per second; the bound, R ÷ Stripe calls per renewal (2: a create and a
confirm); their ratio; the 429s the proxy answered; duplicate charges and lost renewals (from
localstripe's own records and our rows); renewals failed; and the time it took. The last line
is ``ratio X.XX duplicates N lost N``. Targets: ratio ≥ 0.9, no duplicate, none lost, none
failed because of a 429.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.data import due_subscriptions  # noqa: E402 (after the path)
from bench.stack import Stack, bench_database_drop, bench_django  # noqa: E402

CALLS_PER_RENEWAL = 2  # create + confirm
TARGET_RATIO = 0.9


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renewals", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--stripe-rate", type=float, default=25, help="requests a second")
    parser.add_argument("--workers", type=int, default=24, help="threads of the renewals worker")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait at most")
    return parser.parse_args()


def renewed_count(ids: list[int]) -> int:
    from billing.models import Subscription

    return Subscription.objects.filter(pk__in=ids, term_number=2).count()


def outcome_counts(stack: Stack, ids: list[int]) -> tuple[int, int, Counter]:
    """(duplicate charges, lost renewals, renewal orders by status and failure)."""
    from billing.models import Order

    orders = {o.pk: o for o in Order.objects.filter(subscription__in=ids, kind="renewal")}
    refunded = {refund.get("payment_intent") for refund in stack.localstripe.refunds()}
    charged: Counter[int] = Counter()
    for intent in stack.localstripe.payment_intents():
        order_id = int(intent["metadata"].get("order_id", 0))
        if intent["status"] == "succeeded" and order_id in orders and intent["id"] not in refunded:
            charged[orders[order_id].subscription_id] += 1
    duplicates = sum(count - 1 for count in charged.values())
    lost = len(ids) - renewed_count(ids)
    statuses = Counter(f"{o.status} {o.failure_code}".strip() for o in orders.values())
    return duplicates, lost, statuses


def main() -> int:
    args = arguments()
    name = bench_django("burst")
    from django.conf import settings

    from partnerportal.celery import app
    from partnerportal.demo import action_pack_offer

    app.connection_for_write().default_channel.client.flushdb()  # the bench's own Redis db
    workdir = Path(tempfile.mkdtemp(prefix="bench-burst-"))
    environment = {
        "STRIPE_RATE_LIMIT": str(args.stripe_rate),
        "STRIPE_JOBS_BUCKET": f"bench-{uuid.uuid4().hex}",
    }
    stack = Stack(
        workdir,
        environment=environment,
        renewals_queue="renewals",
        latency_ms=args.latency_ms,
        jitter_ms=args.latency_ms / 4,
        rate=args.stripe_rate,
    )
    try:
        # The setup talks to localstripe directly: it is not what is measured.
        settings.STRIPE_API_BASE = stack.localstripe.url
        ids = due_subscriptions(action_pack_offer(), args.renewals, dt.date.today())
        # As docs/production.md runs them: prefork for the default queue (receipts' PDFs, emails).
        stack.workers_start(queues="celery", pool="prefork", concurrency=2)
        stack.workers_start(queues="renewals", pool="threads", concurrency=args.workers)
        stack.proxy.reset()
        started = time.monotonic()
        app.send_task("billing.tasks.billing_cycle_run")
        while renewed_count(ids) < len(ids):
            if time.monotonic() - started > args.timeout:
                break
            time.sleep(0.5)
        seconds = time.monotonic() - started
        totals = stack.proxy.totals()
        duplicates, lost, statuses = outcome_counts(stack, ids)
    finally:
        stack.stop()
        bench_database_drop(name)

    renewed = len(ids) - lost
    rate = renewed / seconds
    bound = args.stripe_rate / CALLS_PER_RENEWAL
    ratio = rate / bound
    print(
        f"Anniversary burst: {len(ids):,} renewals, Stripe {args.latency_ms:.0f} ms ± "
        f"{args.latency_ms / 4:.0f} ms at {args.stripe_rate:g} requests/s, renewals worker "
        f"{args.workers} threads, jobs' share {settings.STRIPE_JOBS_RATE_SHARE:.0%}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"  renewed                {renewed:,} in {seconds:.1f} s")
    print(f"  renewals/s             {rate:.2f}")
    print(f"  bound (R / {CALLS_PER_RENEWAL} calls)     {bound:.2f}")
    print(f"  Stripe calls/renewal   {totals.get('forwarded', 0) / max(renewed, 1):.2f}")
    print(f"  429s answered          {totals.get('rate_limited', 0)}")
    print(f"  renewal orders         {dict(statuses)}")
    print(f"ratio {ratio:.2f} duplicates {duplicates} lost {lost}")
    return 0 if ratio >= TARGET_RATIO and duplicates == 0 and lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
