"""No renewal is ever charged twice: many workers, duplicate tasks, the cycle by hand, and faults.

On PostgreSQL (the system of record; SQLite serialises writers and would prove little): 208 due
subscriptions in batches of 13, every ``renewals_charge`` task enqueued twice (two beats), 8 worker threads
draining the queue in random order while ``run_billing_cycle`` runs by hand at the same time.
Faults are injected on each order's first attempt, by wrapping the Stripe gateway so the real
call goes through and *then* something goes wrong (the only way to reproduce "Stripe answered,
we never heard it" against a working localstripe):

- a crash after Stripe answered the confirm, before our commit: the exception escapes the
  service, as if the worker died; the order stays ``processing`` with its PaymentIntent id;
- a timeout on the confirm (the request reached Stripe, the answer was lost);
- a timeout on the create (the PaymentIntent exists, unconfirmed: nothing was charged).

Then the cycle runs again after the reconciliation delay. localstripe's own records must show
exactly one successful charge per (subscription, term), and every subscription must be renewed
or explicitly past due with its failure recorded: nothing charged twice, nothing lost.
"""

from __future__ import annotations

import datetime as dt
import queue
import random
import threading
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from billing import stripe_gateway, tasks
from billing.models import (
    Order,
    OrderStatus,
    ReminderKind,
    ReminderSent,
    Subscription,
    SubscriptionEvent,
)
from billing.selectors.payments import claim_timeout
from billing.services.renewals import billing_cycle_run_now
from core import clock
from membership.models import Organization
from tests.billing.renewal_helpers import (
    CARD_OK,
    every_13th_declined,
    moment,
    partners_due_on,
)
from tests.plugins.services import service_missing

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("frozen_clock")]

SUBSCRIPTIONS = 208
WORKERS = 8
TODAY = dt.date(2025, 11, 3)
CRASH, CONFIRM_TIMEOUT, CREATE_TIMEOUT = "crash", "confirm timeout", "create timeout"


@pytest.fixture(autouse=True)
def postgresql():
    if connection.vendor != "postgresql":
        service_missing("the double-charge test needs PostgreSQL (set DATABASE_URL)")


def fault_for(order_id: int) -> str | None:
    """Which fault an order's first attempt meets: about one order in ten of each kind."""
    return {1: CRASH, 2: CONFIRM_TIMEOUT, 3: CREATE_TIMEOUT}.get(order_id % 10)


class Faults:
    """Wraps the gateway: the real call goes through, then the fault (first attempts only)."""

    def __init__(self, monkeypatch) -> None:
        self.create = stripe_gateway.payment_intent_create
        self.confirm = stripe_gateway.payment_intent_confirm
        self.order_of_intent: dict[str, int] = {}
        self.injected: Counter[str] = Counter()
        self.lock = threading.Lock()
        monkeypatch.setattr(stripe_gateway, "payment_intent_create", self.faulty_create)
        monkeypatch.setattr(stripe_gateway, "payment_intent_confirm", self.faulty_confirm)

    def _count(self, fault: str) -> None:
        with self.lock:
            self.injected[fault] += 1

    def faulty_create(self, **kwargs):
        intent = self.create(**kwargs)
        order_id = int(kwargs["metadata"]["order_id"])
        first = kwargs["metadata"]["attempt"] == "1"
        with self.lock:
            self.order_of_intent[intent.id] = order_id if first else 0
        if first and fault_for(order_id) == CREATE_TIMEOUT:
            self._count(CREATE_TIMEOUT)
            raise stripe_gateway.StripeUnavailable("simulated: read timed out after create")
        return intent

    def faulty_confirm(self, payment_intent_id, **kwargs):
        intent = self.confirm(payment_intent_id, **kwargs)
        fault = fault_for(self.order_of_intent.get(payment_intent_id, 0))
        if fault == CRASH:
            self._count(CRASH)
            raise RuntimeError("simulated: worker lost after Stripe answered, before our commit")
        if fault == CONFIRM_TIMEOUT:
            self._count(CONFIRM_TIMEOUT)
            raise stripe_gateway.StripeUnavailable("simulated: read timed out after confirm")
        return intent


def due_subscriptions(offer) -> dict[int, str]:
    """208 organizations, each with its own Stripe customer, card and subscription due today."""
    cards = every_13th_declined(SUBSCRIPTIONS)
    subscriptions = partners_due_on(offer, TODAY, cards)
    return {subscription.pk: card for subscription, card in zip(subscriptions, cards, strict=True)}


def run_workers(jobs: queue.Queue, errors: list[BaseException], by_hand: list[str]) -> None:
    """8 threads drain the task queue while the cycle also runs by hand in a 9th."""

    def worker() -> None:
        try:
            while True:
                try:
                    task, args = jobs.get_nowait()
                except queue.Empty:
                    return
                try:
                    task(*args)
                except Exception as error:  # a failed task: Celery logs it and moves on
                    errors.append(error)
        finally:
            connection.close()

    def cycle_by_hand() -> None:
        try:
            out = StringIO()
            call_command("run_billing_cycle", stdout=out, stderr=StringIO())
            by_hand.append(out.getvalue())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    threads.append(threading.Thread(target=cycle_by_hand))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def beat_twice(monkeypatch) -> queue.Queue:
    """Run beat's task twice (two beats): every task it fans out lands in the queue twice."""
    sent: list[tuple] = []
    for name in (
        "renewals_charge",
        "billing_reconcile",
        "billing_reconcile_orders",
        "billing_follow_up",
        "billing_cancellations_end",
        "billing_expire",
        "billing_reminders_send",
    ):
        task = getattr(tasks, name)
        monkeypatch.setattr(
            task,
            "apply_async_on_commit",
            lambda args=(), task=task, **options: sent.append((task, tuple(args))),
        )
    tasks.billing_cycle_run()
    tasks.billing_cycle_run()
    random.Random(20251103).shuffle(sent)
    jobs: queue.Queue = queue.Queue()
    for job in sent:
        jobs.put(job)
    return jobs


def test_every_due_renewal_is_charged_exactly_once(
    localstripe, offer, monkeypatch, mailoutbox, settings
):
    cards = due_subscriptions(offer)
    faults = Faults(monkeypatch)
    clock.set_now(moment(TODAY))
    # Smaller batches than production's: more tasks racing for the same orders.
    settings.RENEWAL_BATCH_SIZE = 13

    jobs = beat_twice(monkeypatch)
    batched = Counter(
        pk for task, args in jobs.queue if task is tasks.renewals_charge for pk in args[0]
    )
    assert batched == {pk: 2 for pk in cards}
    errors: list[BaseException] = []
    by_hand: list[str] = []
    run_workers(jobs, errors, by_hand)

    # Every kind of fault happened, and the crashes escaped the service like a lost worker.
    assert set(faults.injected) == {CRASH, CONFIRM_TIMEOUT, CREATE_TIMEOUT}
    assert all(isinstance(error, RuntimeError) for error in errors)
    assert len(by_hand) == 1
    assert Order.objects.filter(status=OrderStatus.PROCESSING).exists()  # the crashed ones

    # The next hourly runs, once the reconciliation delay has passed.
    clock.set_now(moment(TODAY) + claim_timeout() + dt.timedelta(minutes=1))
    first = billing_cycle_run_now()
    clock.set_now(moment(TODAY, dt.time(2, 5)))
    second = billing_cycle_run_now()
    assert first.reconciled == faults.injected[CRASH]
    assert (second.renewed, second.failed, second.pending, second.errors) == ([], [], [], [])

    # localstripe's own records: one successful charge per (subscription, term), none twice.
    orders = {order.pk: order for order in Order.objects.filter(kind="renewal")}
    succeeded = Counter()
    customers = set(Organization.objects.values_list("stripe_customer_id", flat=True))
    for intent in localstripe.payment_intents():
        if intent["customer"] in customers and intent["status"] == "succeeded":
            order = orders[int(intent["metadata"]["order_id"])]
            succeeded[(order.subscription_id, order.term_number)] += 1
    should_renew = {pk for pk, card in cards.items() if card == CARD_OK}
    assert succeeded == {(pk, 2): 1 for pk in should_renew}

    # Every subscription renewed, or explicitly past due with its failure recorded: none lost.
    renewal_of = {order.subscription_id: order for order in orders.values()}
    for subscription in Subscription.objects.filter(pk__in=cards):
        order = renewal_of[subscription.pk]
        if subscription.pk in should_renew:
            assert (subscription.status, subscription.term_number) == ("active", 2)
            assert (order.status, order.amount) == (OrderStatus.PAID, 47500)
            assert order.invoice_number
        else:
            assert (subscription.status, subscription.term_number) == ("past_due", 1)
            assert (order.status, order.failure_code) == (OrderStatus.FAILED, "card_declined")
            assert order.next_retry_on == TODAY + dt.timedelta(days=1)
            assert SubscriptionEvent.objects.filter(
                subscription=subscription, kind="renewal_failed"
            ).exists()
    assert not Order.objects.filter(status=OrderStatus.PROCESSING).exists()

    # Each outcome was told once: one receipt per renewal, one notice per declined subscription.
    receipts = ReminderSent.objects.filter(kind=ReminderKind.RENEWAL_RECEIPT)
    assert sorted(receipts.values_list("subscription_id", flat=True)) == sorted(should_renew)
    notices = ReminderSent.objects.filter(kind=ReminderKind.RENEWAL_FAILED)
    assert sorted(notices.values_list("subscription_id", flat=True)) == sorted(
        set(cards) - should_renew
    )
    assert len(mailoutbox) == len(cards)  # one contact address per organization
