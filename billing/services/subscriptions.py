"""Writes about what was bought: subscriptions, their terms, auto-renewal, orders.

Every rule that changes a subscription lives here; views, admin actions and tasks only call it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import Order, OrderKind, Subscription, SubscriptionEvent, SubscriptionStatus
from billing.terms import term_dates
from core import clock
from membership.models import AuditEvent, User
from membership.services import audit_record


def subscription_record_event(
    *, subscription: Subscription, kind: str, **details: Any
) -> SubscriptionEvent:
    """Record a change of the subscription now; ``details`` are ``subscription_event``'s."""
    event = subscription_event(subscription=subscription, kind=kind, **details)
    event.save(force_insert=True)
    return event


def subscription_event(
    *,
    subscription: Subscription,
    kind: str,
    from_status: str = "",
    to_status: str = "",
    actor: User | None = None,
    actor_label: str = "",
    note: str = "",
) -> SubscriptionEvent:
    """An unsaved ``subscription_record_event``, for writing many at once with ``bulk_create``."""
    return SubscriptionEvent(
        subscription=subscription,
        kind=kind,
        from_status=from_status,
        to_status=to_status or subscription.status,
        actor=actor,
        actor_label=actor_label or (actor.email if actor else "system"),
        note=note,
        created_at=clock.now(),
    )


@transaction.atomic
def subscription_turn_off_auto_renew(
    *, subscription: Subscription, actor: User | None
) -> Subscription:
    """Turn auto-renewal off. It stays locked off until the subscription is renewed again.

    The change, its history row and its audit record (with the client's address, from the
    request) are one transaction; turning it off again changes and records nothing.
    """
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if not subscription.is_live:
        raise ValidationError(_("Only an active or past-due subscription has auto-renewal."))
    if not subscription.auto_renew:
        return subscription
    subscription.auto_renew = False
    subscription.auto_renew_locked = True
    subscription.updated_at = clock.now()
    subscription.save(update_fields=["auto_renew", "auto_renew_locked", "updated_at"])
    subscription_record_event(
        subscription=subscription,
        kind="auto_renew_off",
        from_status=subscription.status,
        actor=actor,
        note="Auto-renew turned off; locked until the next renewal.",
    )
    audit_record(
        action=AuditEvent.Action.AUTO_RENEW_OFF,
        organization=subscription.organization,
        actor=actor,
        target=str(subscription.offer),
        detail={"subscription": subscription.pk, "expires_on": str(subscription.current_term_end)},
    )
    return subscription


@transaction.atomic
def subscription_start(*, order: Order, actor: User | None, actor_label: str = "") -> Subscription:
    """Create the subscription of a paid purchase order: term 1 from the purchase date.

    Called inside the transaction that marks the order paid; auto-renewal is on after purchase.
    """
    today = clock.today()
    term_start, term_end = term_dates(started_on=today, term_number=1)
    subscription = Subscription.objects.create(
        organization=order.organization,
        offer=order.offer,
        status=SubscriptionStatus.ACTIVE,
        started_on=today,
        term_number=1,
        current_term_start=term_start,
        current_term_end=term_end,
        auto_renew=True,
        auto_renew_locked=False,
        payment_method=order.payment_method,
    )
    order.subscription = subscription
    order.term_number = 1
    order.term_start, order.term_end = term_start, term_end
    order.updated_at = clock.now()
    order.save(
        update_fields=["subscription", "term_number", "term_start", "term_end", "updated_at"]
    )
    subscription_record_event(
        subscription=subscription,
        kind="purchased",
        to_status=SubscriptionStatus.ACTIVE,
        actor=actor,
        actor_label=actor_label,
    )
    return subscription


def subscription_apply_renewal(
    *, subscription: Subscription, order: Order, actor: User | None, actor_label: str = ""
) -> Subscription:
    """Move a subscription into the term a paid renewal order bought.

    Renewing early never loses days: the new term starts at the anniversary. A renewal turns
    auto-renewal back on and lifts the lock.
    """
    if order.kind != OrderKind.RENEWAL or order.subscription_id != subscription.pk:
        raise ValidationError("Not a renewal order of this subscription.")
    return subscriptions_apply_renewals(orders=[order], actor=actor, actor_label=actor_label)[
        order.pk
    ]


@transaction.atomic
def subscriptions_apply_renewals(
    *, orders: list[Order], actor: User | None, actor_label: str = ""
) -> dict[int, Subscription]:
    """``subscription_apply_renewal`` for many paid renewal orders at once; by order id.

    The subscriptions are locked, moved and recorded with one statement each for the batch. A
    renewal applied already (a retry, a webhook after the browser) is not applied twice.
    """
    if not orders:
        return {}
    locked = {
        subscription.pk: subscription
        for subscription in Subscription.objects.select_for_update()
        .filter(pk__in=[order.subscription_id for order in orders])
        .order_by("pk")
    }
    now = clock.now()
    moved: list[Subscription] = []
    new_cards: dict[int, int] = {}  # the renewal was paid with another card: it stays on file
    events: list[SubscriptionEvent] = []
    for order in orders:
        subscription = locked[order.subscription_id]
        if order.kind != OrderKind.RENEWAL:
            raise ValidationError("Not a renewal order of this subscription.")
        if order.term_number != subscription.term_number + 1:
            continue  # already applied: nothing to do twice
        previous = subscription.status
        subscription.term_number = order.term_number
        subscription.current_term_start, subscription.current_term_end = term_dates(
            started_on=subscription.started_on, term_number=order.term_number
        )
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.auto_renew = True
        subscription.auto_renew_locked = False
        if order.payment_method_id and order.payment_method_id != subscription.payment_method_id:
            subscription.payment_method_id = order.payment_method_id
            new_cards[subscription.pk] = order.payment_method_id
        subscription.updated_at = now
        moved.append(subscription)
        events.append(
            subscription_event(
                subscription=subscription,
                kind="renewed",
                from_status=previous,
                to_status=SubscriptionStatus.ACTIVE,
                actor=actor,
                actor_label=actor_label,
                note=(
                    f"Term {order.term_number}: "
                    f"{subscription.current_term_start} – {subscription.current_term_end}"
                ),
            )
        )
    # One UPDATE per new term (a batch renews on the same anniversary, so usually one), rather
    # than bulk_update's CASE per row and field, which costs far more to build than to run.
    terms: dict[tuple, list[int]] = defaultdict(list)
    for subscription in moved:
        term = (
            subscription.term_number,
            subscription.current_term_start,
            subscription.current_term_end,
        )
        terms[term].append(subscription.pk)
    for (term_number, term_start, term_end), pks in terms.items():
        Subscription.objects.filter(pk__in=pks).update(
            term_number=term_number,
            current_term_start=term_start,
            current_term_end=term_end,
            status=SubscriptionStatus.ACTIVE,
            auto_renew=True,
            auto_renew_locked=False,
            updated_at=now,
        )
    for subscription_id, card_id in new_cards.items():
        Subscription.objects.filter(pk=subscription_id).update(
            payment_method_id=card_id, updated_at=now
        )
    SubscriptionEvent.objects.bulk_create(events)
    return {order.pk: locked[order.subscription_id] for order in orders}
