"""Stripe's rate limit: 429s are retried with backoff and never fail a renewal; paced jobs stay
under the limit. Against localstripe behind ``scripts/stripe_proxy.py``, which answers HTTP 429
with Stripe's ``rate_limit_error`` body beyond its token bucket, as Stripe does."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from billing import stripe_gateway
from billing.models import Order
from billing.services.renewals import RenewalOutcome, subscriptions_renew_automatically
from core import clock
from tests.billing.renewal_helpers import CARD_OK, moment, partners_due_on, succeeded_payments
from tests.plugins.services import ARTIFACTS_DIR, stripe_proxy_start

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

ANNIVERSARY = dt.date(2026, 6, 1)


@pytest.fixture
def limited_stripe(localstripe, tmp_path, settings, request):
    """The proxy with a rate limit of 4 requests a second in front of the session's localstripe."""
    proxy = stripe_proxy_start(
        localstripe.url,
        tmp_path,
        rate=4,
        log_path=ARTIFACTS_DIR / f"stripe-proxy-{request.node.name}.log",
    )
    settings.STRIPE_API_BASE = proxy.url
    try:
        yield proxy
    finally:
        proxy.stop()


def renew_all(subscriptions) -> list[str]:
    clock.set_now(moment(ANNIVERSARY))
    results = subscriptions_renew_automatically(
        subscription_ids=[subscription.pk for subscription in subscriptions]
    )
    return [result.outcome for result in results]


def test_a_429_is_retried_with_backoff_and_never_fails_a_renewal(
    localstripe, offer, limited_stripe
):
    subscriptions = partners_due_on(offer, ANNIVERSARY, [CARD_OK] * 8)
    limited_stripe.reset()  # the counts of the setup's own calls

    outcomes = renew_all(subscriptions)  # unpaced: far more than 4 requests a second

    assert limited_stripe.totals().get("rate_limited", 0) > 0
    assert outcomes == [RenewalOutcome.RENEWED] * 8
    for subscription in subscriptions:
        customer = subscription.organization.stripe_customer_id
        assert len(succeeded_payments(localstripe, customer)) == 1


def test_paced_jobs_stay_under_the_rate_limit(offer, limited_stripe, settings):
    subscriptions = partners_due_on(offer, ANNIVERSARY, [CARD_OK] * 4)
    limited_stripe.reset()
    # The jobs' share of an account limited to 4 requests a second.
    settings.STRIPE_RATE_LIMIT = 4
    settings.STRIPE_JOBS_RATE_SHARE = 0.9
    settings.STRIPE_JOBS_BUCKET = f"test-{uuid.uuid4().hex}"

    with stripe_gateway.paced():
        outcomes = renew_all(subscriptions)

    assert outcomes == [RenewalOutcome.RENEWED] * 4
    assert limited_stripe.totals().get("rate_limited", 0) == 0
    assert limited_stripe.totals()["forwarded"] >= 8  # a create and a confirm each


def test_a_create_that_stays_rate_limited_is_an_interruption_not_a_failure(
    offer, limited_stripe, monkeypatch, mailoutbox
):
    [subscription] = partners_due_on(offer, ANNIVERSARY, [CARD_OK])
    monkeypatch.setattr(stripe_gateway, "RATE_LIMIT_RETRIES", 1)
    limited_stripe.faults(
        [{"action": "rate_limit", "method": "POST", "path": "/v1/payment_intents"}]
    )

    [outcome] = renew_all([subscription])

    order = Order.objects.get(kind="renewal")
    assert limited_stripe.totals()["rate_limited"] == 2  # the first try and its one retry
    assert outcome == RenewalOutcome.PENDING  # retried at the next run; nobody emailed
    assert (order.status, order.failure_code, order.next_retry_on) == (
        "failed",
        "interrupted",
        ANNIVERSARY,
    )
    assert mailoutbox == []
