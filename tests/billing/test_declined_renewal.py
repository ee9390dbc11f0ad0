"""A renewal on a card whose every charge is declined (4000 0000 0000 0341), day by day.

Past due on the anniversary, retried on days 1, 3, 7 and 14 after it, each failure emailed with
the next step, a last call before the grace window ends, expired as day 30 ends. The cycle runs
every hour of every day, so a retry made twice or a day missed would show.
"""

from __future__ import annotations

import datetime as dt

import pytest

from billing.models import Order, PaymentAttempt, SubscriptionEvent
from billing.selectors.subscriptions import Tier, organization_tier
from billing.services.renewals import billing_cycle_run_now
from core import clock
from tests.billing.renewal_helpers import (
    CARD_CHARGES_DECLINED,
    card_on_file,
    moment,
    subscription_due_on,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

ANNIVERSARY = dt.date(2025, 10, 1)
OFFER = "Microsoft Action Pack subscription"


def day(offset: int) -> dt.date:
    return ANNIVERSARY + dt.timedelta(days=offset)


@pytest.fixture
def declined(localstripe, contoso, offer, alice, bob, bea):
    card = card_on_file(contoso, CARD_CHARGES_DECLINED)
    return subscription_due_on(contoso, offer, ANNIVERSARY, card=card)


def run_hourly(first: int, last: int, every_hours: int = 6):
    """The cycle at 00:05 and then every ``every_hours`` hours, from day ``first`` to ``last``."""
    for offset in range(first, last + 1):
        for hour in range(0, 24, every_hours):
            clock.set_now(moment(day(offset), dt.time(hour, 5)))
            billing_cycle_run_now()


def test_it_is_retried_on_the_scheduled_days_then_expires(
    localstripe, contoso, declined, mailoutbox
):
    history = {}  # day offset -> (status, attempts so far, emails that day)
    for offset in range(-16, 33):
        before = len(mailoutbox)
        run_hourly(offset, offset)
        declined.refresh_from_db()
        subjects = sorted(
            {m.subject for m in mailoutbox[before:] if m.to == ["bob@contoso.example"]}
        )
        history[offset] = (declined.status, PaymentAttempt.objects.count(), subjects)

    failed = f"We could not renew your {OFFER}"
    noticed = {offset: entry for offset, entry in history.items() if entry[2]}
    assert noticed == {
        -15: ("active", 0, [f"Your {OFFER} renews on Oct. 1, 2025"]),
        0: ("past_due", 1, [failed]),
        1: ("past_due", 2, [failed]),
        3: ("past_due", 3, [failed]),
        7: ("past_due", 4, [failed]),
        14: ("past_due", 5, [failed]),
        23: ("past_due", 5, [f"Renew your {OFFER} by Oct. 31, 2025 to keep your benefits"]),
        31: ("expired", 5, [f"Your {OFFER} has expired"]),
    }
    # Past due from the anniversary to the last day of grace (day 30); expired as it ends.
    assert {history[offset][0] for offset in range(0, 31)} == {"past_due"}
    assert history[32][0] == "expired"
    declined.refresh_from_db()
    assert declined.ended_on == day(30)
    assert organization_tier(organization=contoso) == Tier.NETWORK

    # localstripe's own records: five declined attempts, each closed (canceled) once declined so
    # that nothing can charge it later, and no money taken.
    intents = localstripe.payment_intents(customer=contoso.stripe_customer_id)
    assert len(intents) == 5
    assert [(intent["status"], intent["last_payment_error"]["code"]) for intent in intents] == [
        ("canceled", "card_declined")
    ] * 5
    assert [
        c
        for c in localstripe.charges(customer=contoso.stripe_customer_id)
        if c["status"] == "succeeded"
    ] == []

    order = Order.objects.get(subscription=declined, kind="renewal")
    assert (order.status, order.attempt_count, order.failure_code) == (
        "canceled",
        5,
        "card_declined",
    )
    attempts = list(order.attempts.order_by("number"))
    assert [a.created_at.date() for a in attempts] == [day(0), day(1), day(3), day(7), day(14)]
    assert all(a.off_session and a.failure_code == "card_declined" for a in attempts)


def test_each_failure_email_says_what_happens_next(localstripe, declined, mailoutbox):
    run_hourly(0, 15)

    bodies = [m.body for m in mailoutbox if m.to == ["bob@contoso.example"]]
    assert len(bodies) == 5
    assert "We will try again on Oct. 2, 2025." in bodies[0]
    assert "We will try again on Oct. 4, 2025." in bodies[1]
    assert "We will try again on Oct. 8, 2025." in bodies[2]
    assert "We will try again on Oct. 15, 2025." in bodies[3]
    assert "We will not try again automatically." in bodies[4]
    for body in bodies:
        assert "Reason: Your card was declined." in body
        assert "Its benefits keep working until Oct. 31, 2025" in body
        assert f"/partnership/subscriptions/{declined.pk}/" in body


def test_the_history_shows_each_failed_attempt(localstripe, declined):
    run_hourly(0, 15, every_hours=12)

    events = list(
        SubscriptionEvent.objects.filter(subscription=declined).values_list(
            "kind", "from_status", "to_status"
        )
    )
    assert (
        events
        == [("renewal_failed", "active", "past_due")]
        + [("renewal_failed", "past_due", "past_due")] * 4
    )
    last = SubscriptionEvent.objects.filter(subscription=declined).last()
    assert "Automatic retries stopped" in last.note
