"""Recovery: from the end of a fault to every renewal settled, with real workers and beat.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pp_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/recovery.py [--subscriptions 500] [--faults stall kill]
        [--stall-seconds 120] [--workers 2] [--concurrency 2]

Starts localstripe, ``scripts/stripe_proxy.py`` in front of it, Celery prefork workers and beat
with the production settings (claim timeout ``PAYMENT_CLAIM_TIMEOUT`` 180 s, reconciliation
every ``PAYMENT_RECONCILE_EVERY_SECONDS`` 60 s, Stripe timeout 20 s) on a Redis database of its
own (number 15 of REDIS_URL's server) and a fresh PostgreSQL database (``<name>_recovery`` of
DATABASE_URL, dropped at the end). For each fault, N subscriptions fall due and the cycle is
sent as beat sends it, then:

- **stall**: Stripe stops answering confirms and lookups for ``--stall-seconds`` (the proxy
  holds them; when the stall ends it forwards them, as Stripe finishes what it received);
- **kill**: every worker process is killed (SIGKILL) while batches are being charged, and
  workers are started again at once.

It prints, per fault, the time from the end of the fault to the moment no order is
``processing`` and no PaymentIntent of ours can still charge, and checks localstripe's records:
no renewal charged twice, none lost (charged but not renewed). Target: at most 5 minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.data import due_subscriptions  # noqa: E402 (after the path)
from bench.stack import Stack, bench_database_drop, bench_django  # noqa: E402

TARGET_SECONDS = 5 * 60
CONFIRM = "/v1/payment_intents/*/confirm"


# Measuring --------------------------------------------------------------------------------------


def settled(ids: list[int]) -> bool:
    """No renewal of these subscriptions is in flight or could still charge."""
    from billing.models import OPEN_ATTEMPT_STATUSES, Order, OrderStatus, PaymentAttempt

    renewals = Order.objects.filter(subscription__in=ids, kind="renewal")
    return not (
        renewals.filter(status=OrderStatus.PROCESSING).exists()
        or PaymentAttempt.objects.filter(
            order__in=renewals, status__in=OPEN_ATTEMPT_STATUSES
        ).exists()
    )


def wait_settled(ids: list[int], *, limit: float) -> float:
    """Seconds until ``settled``, polled once a second; ``inf`` past ``limit``."""
    started = time.monotonic()
    while not settled(ids):
        if time.monotonic() - started > limit:
            return float("inf")
        time.sleep(1)
    return time.monotonic() - started


def charges_checked(stack: Stack, ids: list[int]) -> tuple[int, int, Counter]:
    """(charged twice, lost, order statuses) from localstripe's records and our rows."""
    from billing.models import Order, Subscription

    orders = {
        order.pk: order for order in Order.objects.filter(subscription__in=ids, kind="renewal")
    }
    refunded = {refund.get("payment_intent") for refund in stack.localstripe.refunds()}
    charged: Counter[int] = Counter()
    for intent in stack.localstripe.payment_intents():
        order_id = int(intent["metadata"].get("order_id", 0))
        # An extra charge refunded is no charge.
        if intent["status"] == "succeeded" and order_id in orders and intent["id"] not in refunded:
            charged[orders[order_id].subscription_id] += 1
    twice = sum(count - 1 for count in charged.values())
    renewed = set(
        Subscription.objects.filter(pk__in=ids, term_number=2).values_list("pk", flat=True)
    )
    lost = len(set(charged) - renewed)
    return twice, lost, Counter(order.status for order in orders.values())


def cycle_send() -> None:
    from partnerportal.celery import app

    app.send_task("billing.tasks.billing_cycle_run")


def fault_stall(stack: Stack, ids: list[int], seconds: float) -> None:
    """Confirms and lookups stall for ``seconds``; returns when the stall ends."""
    until = time.time() + seconds
    stack.proxy.faults(
        [
            {"action": "hold", "path": CONFIRM, "until": until},
            {"action": "hold", "method": "GET", "path": "/v1/payment_intents/*", "until": until},
            {"action": "hold", "path": "/v1/payment_intents/*/cancel", "until": until},
        ]
    )
    cycle_send()
    time.sleep(seconds)


def fault_kill(stack: Stack, ids: list[int], args: argparse.Namespace) -> None:
    """Kill every worker while batches are in flight; returns when new workers answer."""
    from billing.models import Order, OrderStatus

    # Slow enough that batches are mid-way when the workers die.
    stack.proxy.faults([{"action": "hold", "path": CONFIRM, "seconds": 0.3}])
    cycle_send()
    deadline = time.monotonic() + 120
    while Order.objects.filter(status=OrderStatus.PAID, subscription__in=ids).count() < 20:
        if time.monotonic() > deadline:
            raise SystemExit("the cycle did not start charging within 120 s")
        time.sleep(0.5)
    stack.workers_kill()
    stack.proxy.reset()
    stack.workers_start(count=args.workers, concurrency=args.concurrency)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=500)
    parser.add_argument("--faults", nargs="+", default=["stall", "kill"], choices=["stall", "kill"])
    parser.add_argument("--stall-seconds", type=float, default=120)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (prefork)")
    parser.add_argument("--concurrency", type=int, default=2, help="processes per worker")
    args = parser.parse_args()
    name = bench_django("recovery")
    from django.conf import settings

    from partnerportal.celery import app
    from partnerportal.demo import action_pack_offer

    workdir = Path(tempfile.mkdtemp(prefix="bench-recovery-"))
    app.connection_for_write().default_channel.client.flushdb()  # the bench's own Redis db
    stack = Stack(workdir)
    rows = []
    try:
        settings.STRIPE_API_BASE = stack.proxy.url
        offer = action_pack_offer()
        stack.workers_start(count=args.workers, concurrency=args.concurrency)
        stack.beat_start()
        for fault in args.faults:
            today = dt.date.today()
            ids = due_subscriptions(offer, args.subscriptions, today)
            stack.proxy.reset()
            # Each returns when its fault ends; wait_settled counts from there.
            if fault == "stall":
                fault_stall(stack, ids, args.stall_seconds)
                label = f"Stripe stalled {args.stall_seconds:.0f} s"
            else:
                fault_kill(stack, ids, args)
                label = "workers killed mid-batch"
            recovery = wait_settled(ids, limit=15 * 60)
            twice, lost, statuses = charges_checked(stack, ids)
            rows.append((label, len(ids), recovery, twice, lost, statuses))
            print(f"{label}: settled {recovery:.0f} s after the fault ended", flush=True)
    finally:
        stack.stop()
        bench_database_drop(name)

    print()
    print(
        f"Recovery with {args.workers} prefork worker(s) × {args.concurrency}, beat, PostgreSQL, "
        f"localstripe behind the fault proxy, {os.cpu_count()} CPUs; claim timeout "
        f"{settings.PAYMENT_CLAIM_TIMEOUT} s, reconciliation every "
        f"{settings.PAYMENT_RECONCILE_EVERY_SECONDS} s, Stripe timeout "
        f"{settings.STRIPE_TIMEOUT_SECONDS:.0f} s"
    )
    print()
    print(f"{'fault':<28}{'due':>6}{'fault end → all settled':>26}{'charged twice':>15}{'lost':>6}")
    for label, due, recovery, twice, lost, statuses in rows:
        print(f"{label:<28}{due:>6}{recovery:>25.0f}s{twice:>15}{lost:>6}   {dict(statuses)}")
    worst = max(row[2] for row in rows)
    print()
    print(f"worst recovery: {worst:.0f} s (target <= {TARGET_SECONDS} s)")
    return 0 if worst <= TARGET_SECONDS and all(row[3] == row[4] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
