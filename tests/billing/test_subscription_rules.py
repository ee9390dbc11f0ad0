"""The subscription rules of docs/product.md: anniversaries, the renewal window, the auto-renew lock."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from billing.models import SubscriptionEvent, SubscriptionStatus
from billing.selectors.subscriptions import renewal_blocker
from billing.services.subscriptions import subscription_turn_off_auto_renew
from billing.terms import anniversary_date, renewal_window, term_dates
from tests.billing.factories import make_subscription


def test_anniversary_is_one_year_from_purchase():
    assert anniversary_date(dt.date(2026, 11, 24), 1) == dt.date(2027, 11, 24)


def test_a_29_february_purchase_renews_on_28_february():
    assert anniversary_date(dt.date(2028, 2, 29), 1) == dt.date(2029, 2, 28)


def test_a_29_february_purchase_comes_back_to_29_february_in_leap_years():
    # Terms are anchored to the purchase date: "each year on this date".
    assert term_dates(started_on=dt.date(2028, 2, 29), term_number=4) == (
        dt.date(2031, 2, 28),
        dt.date(2032, 2, 29),
    )


def test_terms_follow_each_other_without_gaps():
    start = dt.date(2028, 2, 29)
    for number in range(1, 10):
        _, end = term_dates(started_on=start, term_number=number)
        next_start, _ = term_dates(started_on=start, term_number=number + 1)
        assert end == next_start


@pytest.fixture
def subscription(contoso, offer):
    # Bought 2026-03-10: the anniversary is 2027-03-10.
    return make_subscription(contoso, offer, started_on=dt.date(2026, 3, 10))


ANNIVERSARY = dt.date(2027, 3, 10)


def test_renewal_window_opens_90_days_before_and_closes_30_days_after(subscription):
    window = renewal_window(subscription=subscription)
    assert window.opens_on == ANNIVERSARY - dt.timedelta(days=90)
    assert window.closes_on == ANNIVERSARY + dt.timedelta(days=30)


@pytest.mark.parametrize(
    ("days_from_anniversary", "renewable"),
    [(-91, False), (-90, True), (0, True), (30, True), (31, False)],
)
def test_manual_renewal_window_edges(subscription, days_from_anniversary, renewable):
    today = ANNIVERSARY + dt.timedelta(days=days_from_anniversary)
    assert (renewal_blocker(subscription=subscription, today=today) is None) is renewable


def test_renewal_blocker_says_when_the_window_opens(subscription):
    reason = renewal_blocker(subscription=subscription, today=ANNIVERSARY - dt.timedelta(days=91))
    assert "2026-12-10" in reason


def test_an_expired_subscription_cannot_be_renewed(subscription):
    subscription.status = SubscriptionStatus.EXPIRED
    subscription.save()
    assert renewal_blocker(subscription=subscription, today=ANNIVERSARY) is not None


def test_turning_auto_renew_off_locks_it(subscription, bob):
    subscription_turn_off_auto_renew(subscription=subscription, actor=bob)

    subscription.refresh_from_db()
    assert subscription.auto_renew is False
    assert subscription.auto_renew_locked is True
    event = SubscriptionEvent.objects.get(subscription=subscription, kind="auto_renew_off")
    assert event.actor == bob


def test_turning_auto_renew_off_twice_records_one_change(subscription, bob):
    subscription_turn_off_auto_renew(subscription=subscription, actor=bob)
    subscription_turn_off_auto_renew(subscription=subscription, actor=bob)
    assert (
        SubscriptionEvent.objects.filter(subscription=subscription, kind="auto_renew_off").count()
        == 1
    )


def test_an_expired_subscription_has_no_auto_renew_to_turn_off(subscription, bob):
    subscription.status = SubscriptionStatus.EXPIRED
    subscription.save()
    with pytest.raises(ValidationError):
        subscription_turn_off_auto_renew(subscription=subscription, actor=bob)
