"""Clock tests: subscriptions walked day by day through their year and the grace window.

Each test buys the Action Pack the way the Purchase button does (a real charge in localstripe),
then moves ``core.clock`` one day at a time and runs the billing cycle at 00:05, as the
hourly beat would, writing down every day on which something a partner would notice happened:
an email (to whom, its subject), a charge (from localstripe's own records), a change of status
or term. The journal is compared whole, so an extra email or charge on any day fails the test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from billing.models import BenefitGrant, Subscription
from billing.selectors.subscriptions import Tier, organization_tier
from billing.services.orders import renewal_order_for_next_term
from billing.services.payments import order_charge
from billing.services.renewals import billing_cycle_run_now
from billing.services.subscriptions import subscription_turn_off_auto_renew
from core import clock
from tests.billing.renewal_helpers import (
    CYCLE_TIME,
    card_on_file,
    moment,
    purchase,
    succeeded_payments,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

ONE_DAY = dt.timedelta(days=1)
OFFER = "Microsoft Action Pack subscription"


def _state(subscription: Subscription) -> str:
    subscription.refresh_from_db()
    return (
        f"{subscription.status}, term {subscription.term_number}: "
        f"{subscription.current_term_start} to {subscription.current_term_end}"
        + (f", ended {subscription.ended_on}" if subscription.ended_on else "")
    )


class Walk:
    """Runs the cycle once a day and keeps the journal of what a partner would notice."""

    def __init__(self, localstripe, subscription: Subscription, mailoutbox) -> None:
        self.localstripe = localstripe
        self.subscription = subscription
        self.customer = subscription.organization.stripe_customer_id
        self.mailoutbox = mailoutbox
        self.mail_seen = len(mailoutbox)
        self.charges = {p["id"] for p in succeeded_payments(localstripe, self.customer)}
        self.state = _state(subscription)

    def day(self, day: dt.date, at: dt.time = CYCLE_TIME) -> list[str]:
        clock.set_now(moment(day, at))
        report = billing_cycle_run_now()
        charged = report.renewed or report.failed or report.pending or report.reconciled
        return self.noticed(charges=bool(charged))

    def noticed(self, *, charges: bool = True) -> list[str]:
        """What changed since last time: emails, new charges in localstripe, status and term."""
        entries = sorted(
            f"email to {message.to[0]}: {message.subject}"
            for message in self.mailoutbox[self.mail_seen :]
        )
        self.mail_seen = len(self.mailoutbox)
        if charges:  # asking localstripe costs a request: only when the cycle charged
            for payment in succeeded_payments(self.localstripe, self.customer):
                if payment["id"] not in self.charges:
                    self.charges.add(payment["id"])
                    entries.append(f"charged {payment['amount']} {payment['currency']}")
        state = _state(self.subscription)
        if state != self.state:
            entries.append(state)
            self.state = state
        return entries

    def through(self, first: dt.date, last: dt.date) -> dict[dt.date, list[str]]:
        journal = {}
        day = first
        while day <= last:
            if entries := self.day(day):
                journal[day] = entries
            day += ONE_DAY
        return journal


def to_both(subject: str) -> list[str]:
    """The same email to the two people of Contoso who may purchase (alice and bob)."""
    return [
        f"email to alice@contoso.example: {subject}",
        f"email to bob@contoso.example: {subject}",
    ]


@pytest.fixture
def team(alice, bob, bea, victor):
    return alice, bob


def buy_on(day: dt.date, contoso, offer, bob, **card) -> Subscription:
    clock.set_now(moment(day, dt.time(10, 30)))
    order = purchase(contoso, offer, bob, card_on_file(contoso, **card))
    return order.subscription


def test_a_year_with_auto_renew_on(localstripe, contoso, offer, team, mailoutbox):
    alice, bob = team
    subscription = buy_on(dt.date(2025, 1, 15), contoso, offer, bob)
    walk = Walk(localstripe, subscription, mailoutbox)

    journal = walk.through(dt.date(2025, 1, 16), dt.date(2026, 2, 20))

    assert journal == {
        dt.date(2025, 12, 31): to_both(f"Your {OFFER} renews on Jan. 15, 2026"),
        dt.date(2026, 1, 15): [
            *to_both(f"Your {OFFER} has been renewed"),
            "charged 47500 usd",
            "active, term 2: 2026-01-15 to 2027-01-15",
        ],
    }
    receipt = next(m for m in mailoutbox if m.subject == f"Your {OFFER} has been renewed")
    assert "New term: Jan. 15, 2026 to Jan. 15, 2027" in receipt.body
    assert len(succeeded_payments(localstripe, contoso.stripe_customer_id)) == 2  # buy + renew


def test_a_29_february_purchase_renews_on_28_february_and_on_29_in_leap_years(
    localstripe, contoso, offer, team, mailoutbox
):
    alice, bob = team
    subscription = buy_on(dt.date(2024, 2, 29), contoso, offer, bob)
    assert subscription.current_term_end == dt.date(2025, 2, 28)
    walk = Walk(localstripe, subscription, mailoutbox)

    journal = walk.through(dt.date(2024, 3, 1), dt.date(2028, 3, 10))

    renewed = to_both(f"Your {OFFER} has been renewed")
    assert journal == {
        dt.date(2025, 2, 13): to_both(f"Your {OFFER} renews on Feb. 28, 2025"),
        dt.date(2025, 2, 28): [
            *renewed,
            "charged 47500 usd",
            "active, term 2: 2025-02-28 to 2026-02-28",
        ],
        dt.date(2026, 2, 13): to_both(f"Your {OFFER} renews on Feb. 28, 2026"),
        dt.date(2026, 2, 28): [
            *renewed,
            "charged 47500 usd",
            "active, term 3: 2026-02-28 to 2027-02-28",
        ],
        dt.date(2027, 2, 13): to_both(f"Your {OFFER} renews on Feb. 28, 2027"),
        dt.date(2027, 2, 28): [
            *renewed,
            "charged 47500 usd",
            "active, term 4: 2027-02-28 to 2028-02-29",
        ],
        dt.date(2028, 2, 14): to_both(f"Your {OFFER} renews on Feb. 29, 2028"),
        dt.date(2028, 2, 29): [
            *renewed,
            "charged 47500 usd",
            "active, term 5: 2028-02-29 to 2029-02-28",
        ],
    }
    assert len(succeeded_payments(localstripe, contoso.stripe_customer_id)) == 5


def test_auto_renew_off_after_a_29_february_purchase_reminds_then_expires(
    localstripe, contoso, offer, team, mailoutbox
):
    alice, bob = team
    subscription = buy_on(dt.date(2024, 2, 29), contoso, offer, bob)
    clock.set_now(moment(dt.date(2024, 9, 1), dt.time(9)))
    subscription_turn_off_auto_renew(subscription=subscription, actor=bob)
    walk = Walk(localstripe, subscription, mailoutbox)

    journal = walk.through(dt.date(2024, 9, 2), dt.date(2025, 4, 30))

    assert journal == {
        dt.date(2025, 1, 29): to_both(f"Your {OFFER} expires in 30 days"),
        dt.date(2025, 2, 13): to_both(f"Your {OFFER} expires in 15 days"),
        dt.date(2025, 2, 21): to_both(f"Your {OFFER} expires in 7 days"),
        dt.date(2025, 2, 27): to_both(f"Your {OFFER} expires tomorrow"),
        # Anniversary: no charge, the grace window starts; benefits keep working.
        dt.date(2025, 2, 28): to_both(f"Your {OFFER} has reached its anniversary"),
        dt.date(2025, 3, 23): to_both(
            f"Renew your {OFFER} by March 30, 2025 to keep your benefits"
        ),
        # The last day of grace (30 March) is still a day to renew; it expires as it ends.
        dt.date(2025, 3, 31): [
            *to_both(f"Your {OFFER} has expired"),
            "expired, term 1: 2024-02-29 to 2025-02-28, ended 2025-03-30",
        ],
    }
    assert organization_tier(organization=contoso) == Tier.NETWORK
    assert not BenefitGrant.objects.filter(subscription=subscription, revoked_at__isnull=True)
    assert len(succeeded_payments(localstripe, contoso.stripe_customer_id)) == 1  # the purchase


def test_renewing_by_hand_in_the_grace_window_keeps_the_anniversary(
    localstripe, contoso, offer, team, mailoutbox
):
    alice, bob = team
    subscription = buy_on(dt.date(2025, 5, 5), contoso, offer, bob)
    clock.set_now(moment(dt.date(2025, 6, 1), dt.time(9)))
    subscription_turn_off_auto_renew(subscription=subscription, actor=bob)
    walk = Walk(localstripe, subscription, mailoutbox)

    first_year = walk.through(dt.date(2025, 6, 2), dt.date(2026, 5, 14))
    clock.set_now(moment(dt.date(2026, 5, 14), dt.time(16)))
    order = renewal_order_for_next_term(subscription=subscription, placed_by=bob)
    assert order_charge(order=order, off_session=False, actor=bob).paid
    renewed_by_hand = walk.noticed()
    second_year = walk.through(dt.date(2026, 5, 15), dt.date(2027, 5, 6))

    assert first_year == {
        dt.date(2026, 4, 5): to_both(f"Your {OFFER} expires in 30 days"),
        dt.date(2026, 4, 20): to_both(f"Your {OFFER} expires in 15 days"),
        dt.date(2026, 4, 28): to_both(f"Your {OFFER} expires in 7 days"),
        dt.date(2026, 5, 4): to_both(f"Your {OFFER} expires tomorrow"),
        dt.date(2026, 5, 5): to_both(f"Your {OFFER} has reached its anniversary"),
    }
    # Renewed by hand nine days into the grace window: the new term still starts on the
    # anniversary (no day lost), auto-renewal is back on, and both buyers get the receipt.
    assert renewed_by_hand == [
        *to_both(f"Your {OFFER} has been renewed"),
        "charged 47500 usd",
        "active, term 2: 2026-05-05 to 2027-05-05",
    ]
    assert Subscription.objects.filter(
        pk=subscription.pk, auto_renew=True, auto_renew_locked=False
    ).exists()
    assert second_year == {
        dt.date(2027, 4, 20): to_both(f"Your {OFFER} renews on May 5, 2027"),
        dt.date(2027, 5, 5): [
            *to_both(f"Your {OFFER} has been renewed"),
            "charged 47500 usd",
            "active, term 3: 2027-05-05 to 2028-05-05",
        ],
    }


def test_running_the_cycle_every_hour_charges_and_tells_once(
    localstripe, contoso, offer, team, mailoutbox
):
    alice, bob = team
    subscription = buy_on(dt.date(2025, 8, 1), contoso, offer, bob)
    walk = Walk(localstripe, subscription, mailoutbox)
    anniversary = dt.date(2026, 8, 1)

    entries = []
    for hour in range(24):
        entries += walk.day(anniversary, dt.time(hour, 5))
    for hour in range(24):
        entries += walk.day(anniversary + ONE_DAY, dt.time(hour, 5))

    assert entries == [
        *to_both(f"Your {OFFER} has been renewed"),
        "charged 47500 usd",
        "active, term 2: 2026-08-01 to 2027-08-01",
    ]
