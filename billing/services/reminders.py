"""Billing emails sent at most once: renewal reminders, and the claim every billing email uses.

**Claim, then send.** A ``ReminderSent`` row, unique per (subscription, term, kind, attempt), is
inserted before the email goes out, in its own transaction (or in the caller's, with the state
change the email reports). A second worker, a second beat or the cycle run by hand fails on the
constraint and sends nothing. The email is sent once that transaction has committed, so a rolled
back change never emails anyone; if the process dies in between, the email is lost rather than
sent twice (at most once, and the row says who it was meant for).

Call these outside any transaction (jobs, commands and admin actions are): inside one, the email
would go out before the outer transaction commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction

from billing import emails
from billing.models import ReminderKind, ReminderSent, Subscription
from billing.selectors.reminders import card_last_valid_day, reminders_due
from billing.selectors.renewals import renewal_quote
from core import clock
from membership.models import User
from membership.permissions import Action
from membership.selectors import organizations_people_who_may
from offers.selectors import offer_price

logger = logging.getLogger(__name__)

Send = Callable[[Sequence[User | str]], int]


def billing_recipients(*, subscription: Subscription) -> list[User | str]:
    """The organization's people who may purchase; its contact address if there is nobody."""
    return billing_recipients_of(subscriptions=[subscription])[subscription.pk]


def billing_recipients_of(*, subscriptions: Sequence[Subscription]) -> dict[int, list[User | str]]:
    """``billing_recipients`` of several subscriptions in one query, by subscription id."""
    people = organizations_people_who_may(
        organization_ids={subscription.organization_id for subscription in subscriptions},
        action=Action.PURCHASE,
    )
    recipients: dict[int, list[User | str]] = {}
    for subscription in subscriptions:
        organization = subscription.organization
        found: list[User | str] = list(people.get(organization.pk, []))
        if not found and organization.contact_email:
            found = [organization.contact_email]
        recipients[subscription.pk] = found
    return recipients


def reminder_claim(
    *,
    subscription: Subscription,
    term_number: int,
    kind: str,
    recipients: Sequence[User | str],
    attempt: int = 0,
) -> bool:
    """Record that this email is being sent; ``False`` if someone already did (send nothing)."""
    claim = ReminderSent(
        subscription=subscription,
        term_number=term_number,
        kind=kind,
        attempt=attempt,
        sent_at=clock.now(),
        recipients=[getattr(person, "email", person) for person in recipients],
    )
    try:
        if connection.in_atomic_block:
            # Inside the caller's transaction, a duplicate must fail in a savepoint of its own.
            with transaction.atomic():
                claim.save(force_insert=True)
        else:
            claim.save(force_insert=True)  # one statement, committed at once
    except IntegrityError:
        return False
    return True


def email_deliver(send: Send, recipients: Sequence[User | str], *, what: str) -> int:
    """Send a claimed email. A mail server failure is logged: the claim stays (at most once)."""
    if not recipients:
        logger.warning("billing email %s has no recipient", what)
        return 0
    try:
        return send(recipients)
    except Exception:
        logger.exception("billing email %s could not be sent", what)
        return 0


def notify_once(
    *,
    subscription: Subscription,
    term_number: int,
    kind: str,
    send: Send,
    attempt: int = 0,
) -> bool:
    """Claim the email (subscription, term, kind, attempt) and send it; ``False`` if already sent."""
    recipients = billing_recipients(subscription=subscription)
    if not reminder_claim(
        subscription=subscription,
        term_number=term_number,
        kind=kind,
        recipients=recipients,
        attempt=attempt,
    ):
        return False
    email_deliver(send, recipients, what=f"{kind} for subscription {subscription.pk}")
    return True


@dataclass(frozen=True)
class Notice:
    """One billing email to send at most once: ``notify_once``'s arguments."""

    subscription: Subscription
    term_number: int
    kind: str
    send: Send
    attempt: int = 0


def notify_once_each(*, notices: Sequence[Notice]) -> int:
    """``notify_once`` for many emails (a batch of receipts): one query for the recipients, one
    insert for the claims. Returns how many were sent.

    If any of them was claimed by someone else meanwhile (a follow-up running at the same
    moment), the batch's insert fails as a whole and each is claimed on its own instead.
    """
    if not notices:
        return 0
    recipients = billing_recipients_of(subscriptions=[notice.subscription for notice in notices])
    now = clock.now()
    claims = [
        ReminderSent(
            subscription=notice.subscription,
            term_number=notice.term_number,
            kind=notice.kind,
            attempt=notice.attempt,
            sent_at=now,
            recipients=[
                getattr(person, "email", person) for person in recipients[notice.subscription.pk]
            ],
        )
        for notice in notices
    ]
    try:
        with transaction.atomic():
            ReminderSent.objects.bulk_create(claims)
    except IntegrityError:
        return sum(
            notify_once(
                subscription=notice.subscription,
                term_number=notice.term_number,
                kind=notice.kind,
                send=notice.send,
                attempt=notice.attempt,
            )
            for notice in notices
        )
    for notice in notices:
        email_deliver(
            notice.send,
            recipients[notice.subscription.pk],
            what=f"{notice.kind} for subscription {notice.subscription.pk}",
        )
    return len(notices)


def _sender(subscription: Subscription, kind: str, today: dt.date) -> Send:
    """The email function for a calendar reminder, bound to its subscription and day."""
    if kind in emails.EXPIRY_REMINDER_KINDS:
        return lambda people: emails.email_expiry_reminder(
            subscription=subscription, today=today, recipients=people
        )
    if kind == ReminderKind.GRACE_STARTED:
        return lambda people: emails.email_grace_started(
            subscription=subscription, recipients=people
        )
    if kind == ReminderKind.GRACE_ENDING:
        return lambda people: emails.email_grace_ending(
            subscription=subscription, today=today, recipients=people
        )
    if kind == ReminderKind.UPCOMING_RENEWAL:
        price = offer_price(offer=subscription.offer, currency=subscription.organization.currency)
        # What the card will be charged: the price plus the tax of the billing profile now.
        tax = price and renewal_quote(subscription=subscription, price=price)
        return lambda people: emails.email_renewal_upcoming(
            subscription=subscription, price=price, tax=tax, recipients=people
        )
    if kind == ReminderKind.CARD_EXPIRING:
        card_expires_on = card_last_valid_day(subscription.payment_method)
        return lambda people: emails.email_card_expiring(
            subscription=subscription, card_expires_on=card_expires_on, recipients=people
        )
    raise ValueError(f"not a calendar reminder: {kind}")


def reminders_send(*, today: dt.date | None = None) -> Counter[str]:
    """Send every calendar reminder due today, once each. Returns how many of each kind."""
    today = today or clock.today()
    sent: Counter[str] = Counter()
    for due in reminders_due(today=today):
        if notify_once(
            subscription=due.subscription,
            term_number=due.term_number,
            kind=due.kind,
            send=_sender(due.subscription, due.kind, today),
        ):
            sent[due.kind] += 1
    return sent
