"""The test services themselves work: localstripe, Chromium against the live server, a worker.

When one of these fails, every test built on it fails too; this file says which service it is.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import stripe
from django.conf import settings

from tests.plugins.services import CeleryWorker, LocalStripe, localstripe_start


def _stripe_client(localstripe: LocalStripe) -> stripe.StripeClient:
    # A client of its own rather than stripe.api_base/api_key: no global state leaks into the
    # portal's Stripe module in later tests.
    return stripe.StripeClient(localstripe.secret_key, base_addresses={"api": localstripe.url})


def test_localstripe_records_a_payment_intent(localstripe: LocalStripe) -> None:
    client = _stripe_client(localstripe)
    customer = client.v1.customers.create(params={"email": "alice@contoso.example"})
    intent = client.v1.payment_intents.create(
        params={"amount": 47500, "currency": "usd", "customer": customer.id}
    )

    recorded = localstripe.payment_intents(customer=customer.id)
    assert [(pi["id"], pi["amount"], pi["currency"]) for pi in recorded] == [
        (intent.id, 47500, "usd")
    ]
    assert intent.id in {pi["id"] for pi in localstripe.payment_intents()}


def test_localstripe_lists_past_one_page(localstripe: LocalStripe) -> None:
    client = _stripe_client(localstripe)
    created = {
        client.v1.payment_intents.create(params={"amount": 100 + n, "currency": "eur"}).id
        for n in range(105)
    }

    assert created <= {pi["id"] for pi in localstripe.payment_intents()}


def test_localstripe_is_where_the_portal_settings_point(localstripe: LocalStripe) -> None:
    portal = (
        settings.STRIPE_API_BASE,
        settings.STRIPE_JS_URL,
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_PUBLISHABLE_KEY,
    )

    assert portal == (
        localstripe.url,
        f"{localstripe.url}/js.stripe.com/v3/",
        "sk_test_localstripe",
        "pk_test_localstripe",
    )


def test_localstripe_keeps_its_state_across_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "localstripe.pickle"
    first = localstripe_start(tmp_path, log_path=tmp_path / "first.log", state=state)
    try:
        customer = first.request("POST", "/v1/customers", {"email": "bob@contoso.example"})
    finally:
        first.process.send_signal(signal.SIGTERM)
        first.process.wait(timeout=10)
    second = localstripe_start(tmp_path, log_path=tmp_path / "second.log", state=state)
    try:
        again = second.request("GET", f"/v1/customers/{customer['id']}")
        # Lists read the launcher's index of the store, which the load must rebuild.
        later = second.request("POST", "/v1/customers", {"email": "charlie@contoso.example"})
        listed = second.list_all("customers")
    finally:
        second.stop()

    assert first.process.returncode == 0
    assert again["email"] == "bob@contoso.example"
    assert [each["id"] for each in listed] == [customer["id"], later["id"]]


def test_browser_reads_the_live_server(page, live_server, localstripe: LocalStripe) -> None:
    # /healthz/ready checks the database, the broker, the templates and reports Stripe.
    page.goto(f"{live_server.url}/healthz/ready")

    assert json.loads(page.inner_text("body"))["status"] == "ok"


def test_celery_worker_answers_and_runs_a_task(celery_worker_process: CeleryWorker) -> None:
    app = celery_worker_process.app
    replies = app.control.ping(destination=[celery_worker_process.hostname], timeout=2)
    # celery.accumulate is built into Celery: it proves a task sent from the test reaches the
    # worker's private queue, before the portal has any task of its own to try.
    app.send_task("celery.accumulate", args=(1, 2))
    celery_worker_process.wait_for_tasks("celery.accumulate")

    assert replies == [{celery_worker_process.hostname: {"ok": "pong"}}]
