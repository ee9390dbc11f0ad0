"""Writes about what was bought: subscriptions, their terms, auto-renewal, orders.

Every rule that changes a subscription lives here; views, admin actions and tasks only call it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import Order, OrderKind, Subscription, SubscriptionEvent, SubscriptionStatus
from billing.selectors.subscriptions import renewal_blocker, term_dates
from membership.models import User
from partnerportal import clock


def subscription_record_event(
    *,
    subscription: Subscription,
    kind: str,
    from_status: str = "",
    to_status: str = "",
    actor: User | None = None,
    actor_label: str = "",
    note: str = "",
) -> SubscriptionEvent:
    return SubscriptionEvent.objects.create(
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
    """Turn auto-renewal off. It stays locked off until the subscription is renewed again."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if not subscription.is_live:
        raise ValidationError(_("Only an active or past-due subscription has auto-renewal."))
    if not subscription.auto_renew:
        return subscription
    subscription.auto_renew = False
    subscription.auto_renew_locked = True
    subscription.save(update_fields=["auto_renew", "auto_renew_locked", "updated_at"])
    subscription_record_event(
        subscription=subscription,
        kind="auto_renew_off",
        from_status=subscription.status,
        actor=actor,
        note="Auto-renew turned off; locked until the next renewal.",
    )
    return subscription


@transaction.atomic
def subscription_turn_on_auto_renew(
    *, subscription: Subscription, actor: User | None
) -> Subscription:
    """Refused while locked: once turned off, only a renewal turns auto-renewal back on."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.auto_renew_locked:
        raise ValidationError(
            _("Auto-renewal cannot be turned back on until you renew your subscription again.")
        )
    if not subscription.is_live:
        raise ValidationError(_("Only an active or past-due subscription has auto-renewal."))
    if not subscription.auto_renew:
        subscription.auto_renew = True
        subscription.save(update_fields=["auto_renew", "updated_at"])
        subscription_record_event(
            subscription=subscription,
            kind="auto_renew_on",
            from_status=subscription.status,
            actor=actor,
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


@transaction.atomic
def subscription_apply_renewal(
    *, subscription: Subscription, order: Order, actor: User | None, actor_label: str = ""
) -> Subscription:
    """Move a subscription into the term a paid renewal order bought.

    Renewing early never loses days: the new term starts at the anniversary. A renewal turns
    auto-renewal back on and lifts the lock.
    """
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if order.kind != OrderKind.RENEWAL or order.subscription_id != subscription.pk:
        raise ValidationError("Not a renewal order of this subscription.")
    if order.term_number != subscription.term_number + 1:
        # Already applied (a retry or a webhook after the browser): nothing to do twice.
        return subscription
    previous = subscription.status
    subscription.term_number = order.term_number
    subscription.current_term_start, subscription.current_term_end = term_dates(
        started_on=subscription.started_on, term_number=order.term_number
    )
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.auto_renew = True
    subscription.auto_renew_locked = False
    if order.payment_method_id:
        subscription.payment_method_id = order.payment_method_id
    subscription.save()
    subscription_record_event(
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
    return subscription


def subscription_check_renewable(*, subscription: Subscription) -> None:
    """Raise a ValidationError with the reason when a manual renewal is not possible today."""
    reason = renewal_blocker(subscription=subscription)
    if reason:
        raise ValidationError(reason)
