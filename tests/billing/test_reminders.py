"""Renewal reminders (billing.services.reminders): which, when, to whom, once, in whose language."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from billing.models import ReminderKind, ReminderSent
from billing.services.reminders import reminder_claim, reminders_send
from core import clock
from membership.models import Role, User
from membership.services import membership_add
from tests.billing.renewal_helpers import (
    card_on_file,
    moment,
    subscription_due_on,
)
from tests.plugins.services import service_missing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

ANNIVERSARY = dt.date(2025, 6, 20)


@pytest.fixture
def people(alice, bob, bea, axel, victor):
    """All of Contoso's people; only alice (Global admin) and bob (MPN partner admin) may buy."""
    return [alice, bob, bea, axel, victor]


def days_before(days: int) -> dt.date:
    return ANNIVERSARY - dt.timedelta(days=days)


def send_on(day: dt.date):
    clock.set_now(moment(day))
    return reminders_send(today=day)


def test_auto_renew_off_reminds_30_15_7_and_1_days_before_expiry(
    localstripe, contoso, offer, people, mailoutbox
):
    subscription_due_on(contoso, offer, ANNIVERSARY, card=None, auto_renew=False)
    sent_on: dict[dt.date, list[str]] = {}

    day = days_before(40)
    while day < ANNIVERSARY:
        before = len(mailoutbox)
        send_on(day)
        if len(mailoutbox) > before:
            sent_on[day] = sorted({m.subject for m in mailoutbox[before:]})
        day += dt.timedelta(days=1)

    offer_name = "Microsoft Action Pack subscription"
    assert sent_on == {
        days_before(30): [f"Your {offer_name} expires in 30 days"],
        days_before(15): [f"Your {offer_name} expires in 15 days"],
        days_before(7): [f"Your {offer_name} expires in 7 days"],
        days_before(1): [f"Your {offer_name} expires tomorrow"],
    }
    assert sorted({m.to[0] for m in mailoutbox}) == ["alice@contoso.example", "bob@contoso.example"]
    assert "http://127.0.0.1:8000/partnership/" in mailoutbox[0].body


def test_auto_renew_off_reminds_on_the_anniversary_and_7_days_before_grace_ends(
    localstripe, contoso, offer, people, mailoutbox
):
    subscription_due_on(contoso, offer, ANNIVERSARY, card=None, auto_renew=False)
    sent_on = {}
    for offset in range(0, 31):
        day = ANNIVERSARY + dt.timedelta(days=offset)
        before = len(mailoutbox)
        send_on(day)
        if len(mailoutbox) > before:
            sent_on[offset] = mailoutbox[before].subject

    assert sent_on == {
        0: "Your Microsoft Action Pack subscription has reached its anniversary",
        23: "Renew your Microsoft Action Pack subscription by July 20, 2025 to keep your benefits",
    }


def test_auto_renew_on_announces_the_charge_15_days_before(
    localstripe, contoso, offer, people, mailoutbox
):
    card = card_on_file(contoso, exp_month=12, exp_year=2034)
    subscription_due_on(contoso, offer, ANNIVERSARY, card=card)

    assert sum(send_on(days_before(16)).values()) == 0
    assert send_on(days_before(15)) == {ReminderKind.UPCOMING_RENEWAL: 1}

    notice = mailoutbox[0]
    assert notice.subject == "Your Microsoft Action Pack subscription renews on June 20, 2025"
    assert "We will charge $475.00 for the next year to the Visa card ending in 4242" in notice.body
    assert "turn off auto-renew" in notice.body
    assert len(mailoutbox) == 2


def test_a_card_expiring_before_the_renewal_is_announced_30_days_before(
    localstripe, contoso, offer, people, mailoutbox
):
    card = card_on_file(contoso, exp_month=5, exp_year=2025)
    subscription_due_on(contoso, offer, ANNIVERSARY, card=card)

    assert send_on(days_before(30)) == {ReminderKind.CARD_EXPIRING: 1}
    assert mailoutbox[0].subject == "Your card expires before your subscription renews"
    assert "expires on May 31, 2025" in mailoutbox[0].body


def test_a_card_valid_through_the_renewal_month_gets_no_notice(
    localstripe, contoso, offer, people, mailoutbox
):
    card = card_on_file(contoso, exp_month=6, exp_year=2025)  # valid until 30 June
    subscription_due_on(contoso, offer, ANNIVERSARY, card=card)

    for days in range(30, 15, -1):
        send_on(days_before(days))

    assert mailoutbox == []


def test_each_reminder_is_sent_once_however_often_the_cycle_runs(
    localstripe, contoso, offer, people, mailoutbox
):
    subscription_due_on(contoso, offer, ANNIVERSARY, card=None, auto_renew=False)

    for hour in range(24):
        clock.set_now(moment(days_before(7), dt.time(hour, 5)))
        reminders_send()

    assert len(mailoutbox) == 2
    assert ReminderSent.objects.get().kind == ReminderKind.EXPIRY_7


def test_a_missed_day_is_caught_up_late_not_skipped(
    localstripe, contoso, offer, people, mailoutbox
):
    """The cycle did not run on the 30-day mark (an outage): the reminder goes out the next day."""
    subscription_due_on(contoso, offer, ANNIVERSARY, card=None, auto_renew=False)

    assert send_on(days_before(29)) == {ReminderKind.EXPIRY_30: 1}
    assert sum(send_on(days_before(28)).values()) == 0
    assert send_on(days_before(15)) == {ReminderKind.EXPIRY_15: 1}


def test_reminders_go_out_in_each_recipients_language(localstripe, contoso, offer, bob, mailoutbox):
    lucia = User.objects.create_user(
        email="lucia@contoso.example", full_name="Lucía", language="es"
    )
    membership_add(organization=contoso, user=lucia, roles={Role.GLOBAL_ADMIN})
    subscription_due_on(contoso, offer, ANNIVERSARY, card=None, auto_renew=False)

    send_on(days_before(30))

    by_recipient = {m.to[0]: m for m in mailoutbox}
    assert "Suscripción a Microsoft Action Pack" in by_recipient["lucia@contoso.example"].subject
    assert "20 de junio de 2025" in by_recipient["lucia@contoso.example"].body
    assert "Microsoft Action Pack subscription" in by_recipient["bob@contoso.example"].subject
    assert "June 20, 2025" in by_recipient["bob@contoso.example"].body


def test_an_expired_or_canceled_subscription_gets_no_reminder(
    localstripe, contoso, fabrikam, charlie, offer, people, mailoutbox
):
    subscription_due_on(contoso, offer, ANNIVERSARY, card=None, auto_renew=False, status="expired")
    subscription_due_on(
        fabrikam, offer, ANNIVERSARY, card=None, auto_renew=False, cancel_at_term_end=True
    )

    send_on(days_before(30))

    assert mailoutbox == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_the_same_reminder_send_it_once(contoso, offer, people):
    if connection.vendor != "postgresql":
        # pytest-django's in-memory SQLite fails a second writer at once ("database table is
        # locked") instead of making it wait, so the race cannot be staged there.
        service_missing("two concurrent writers need PostgreSQL (set DATABASE_URL)")
    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=None, auto_renew=False)
    barrier = threading.Barrier(2)
    claims: list[bool] = []

    def worker() -> None:
        try:
            barrier.wait()
            claims.append(
                reminder_claim(
                    subscription=subscription,
                    term_number=1,
                    kind=ReminderKind.EXPIRY_7,
                    recipients=["alice@contoso.example"],
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(claims) == [False, True]
    assert ReminderSent.objects.count() == 1


def test_a_past_due_subscription_turned_off_gets_no_anniversary_notice_but_the_last_call(
    localstripe, contoso, offer, people, mailoutbox
):
    """Its renewal failed (the partner was told), then auto-renew was turned off in the grace."""
    subscription_due_on(contoso, offer, ANNIVERSARY, card=None, auto_renew=False, status="past_due")

    assert sum(send_on(ANNIVERSARY + dt.timedelta(days=2)).values()) == 0
    assert send_on(ANNIVERSARY + dt.timedelta(days=23)) == {ReminderKind.GRACE_ENDING: 1}
