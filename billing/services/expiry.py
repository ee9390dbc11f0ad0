"""Expiry: a subscription whose grace window ended without a renewal (docs/product.md).

Expired, benefits revoked, back to Network membership, the partner emailed once. Safe to run
twice and concurrently: each subscription is claimed by a conditional UPDATE.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from billing import emails
from billing.models import (
    LIVE_STATUSES,
    Order,
    OrderKind,
    OrderStatus,
    ReminderKind,
    Subscription,
    SubscriptionStatus,
)
from billing.selectors.renewals import subscriptions_to_expire
from billing.services.benefits import benefits_revoke
from billing.services.reminders import billing_recipients, email_deliver, reminder_claim
from billing.services.subscriptions import subscription_record_event
from billing.terms import anniversaries_renewable_on, grace_end
from core import clock


def subscription_expire(*, subscription: Subscription, today: dt.date) -> bool:
    """End a subscription whose grace window is over. ``False`` if it was not live any more.

    Expired, ``ended_on`` the last day of grace, auto-renewal off, the open renewal order
    canceled, benefits revoked: the organization is back to Network membership (its tier is
    read from live subscriptions). The partner is emailed once.
    """
    anniversary = subscription.current_term_end
    last_day = grace_end(anniversary)
    still_in_grace, _furthest = anniversaries_renewable_on(today)
    recipients = billing_recipients(subscription=subscription)
    with transaction.atomic():
        won = Subscription.objects.filter(
            pk=subscription.pk,
            status__in=LIVE_STATUSES,
            current_term_end=anniversary,
            current_term_end__lt=still_in_grace,
        ).update(
            status=SubscriptionStatus.EXPIRED,
            ended_on=last_day,
            auto_renew=False,
            updated_at=clock.now(),
        )
        if not won:
            return False
        previous = subscription.status
        subscription.status = SubscriptionStatus.EXPIRED
        subscription.ended_on = last_day
        subscription.auto_renew = False
        Order.objects.filter(
            subscription=subscription,
            kind=OrderKind.RENEWAL,
            term_number=subscription.term_number + 1,
            status__in=[OrderStatus.PENDING, OrderStatus.FAILED, OrderStatus.REQUIRES_ACTION],
        ).update(status=OrderStatus.CANCELED, next_retry_on=None)
        benefits_revoke(subscription=subscription)
        subscription_record_event(
            subscription=subscription,
            kind="expired",
            from_status=previous,
            to_status=SubscriptionStatus.EXPIRED,
            actor_label="billing cycle",
            note=f"Not renewed by the end of the grace window ({last_day:%Y-%m-%d}).",
        )
        claimed = reminder_claim(
            subscription=subscription,
            term_number=subscription.term_number,
            kind=ReminderKind.EXPIRED,
            recipients=recipients,
        )
    if claimed:
        email_deliver(
            lambda people: emails.email_subscription_expired(
                subscription=subscription, recipients=people
            ),
            recipients,
            what=f"expired for subscription {subscription.pk}",
        )
    return True


def subscriptions_expire(*, today: dt.date | None = None) -> list[int]:
    """Expire every live subscription whose grace window ended. Returns their ids."""
    today = today or clock.today()
    return [
        subscription.pk
        for subscription in subscriptions_to_expire(today=today)
        if subscription_expire(subscription=subscription, today=today)
    ]
