"""The card a subscription's renewals are charged to: choosing a saved one, or adding one.

Apart from ``billing.services.subscriptions`` because it uses the payments and the saved cards,
which themselves start and renew subscriptions.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import CLAIMABLE_ORDER_STATUSES, Order, OrderKind, PaymentMethod, Subscription
from billing.services.orders import order_change_card
from billing.services.payment_methods import payment_method_save
from billing.services.subscriptions import subscription_record_event
from core import clock
from membership.models import User


@transaction.atomic
def subscription_change_payment_method(
    *, subscription: Subscription, payment_method: PaymentMethod, actor: User
) -> Subscription:
    """Charge the subscription's renewals to ``payment_method`` from now on.

    A renewal order already open for the next term (a failed automatic charge waiting for its
    retry) switches to the new card too, unless it is being charged at this very moment.
    """
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if payment_method.organization_id != subscription.organization_id or payment_method.removed_at:
        raise ValidationError(_("Choose one of your organization's saved cards."))
    if not subscription.is_live:
        raise ValidationError(_("Only an active or past-due subscription is renewed."))
    if subscription.payment_method_id == payment_method.pk:
        return subscription
    subscription.payment_method = payment_method
    subscription.updated_at = clock.now()
    subscription.save(update_fields=["payment_method", "updated_at"])
    open_renewal = Order.objects.filter(
        subscription=subscription,
        kind=OrderKind.RENEWAL,
        term_number=subscription.term_number + 1,
        status__in=CLAIMABLE_ORDER_STATUSES,
    ).first()
    if open_renewal is not None:
        order_change_card(order=open_renewal, payment_method=payment_method, placed_by=actor)
    subscription_record_event(
        subscription=subscription,
        kind="payment_method_changed",
        from_status=subscription.status,
        actor=actor,
        note=f"Renewals charged to {payment_method}.",
    )
    return subscription


def subscription_add_payment_method(
    *, subscription: Subscription, setup_intent_id: str, actor: User
) -> Subscription:
    """Save the card just entered and charge the subscription's renewals to it."""
    card = payment_method_save(
        organization=subscription.organization, setup_intent_id=setup_intent_id, actor=actor
    )
    return subscription_change_payment_method(
        subscription=subscription, payment_method=card, actor=actor
    )
