"""The subscribe and renew wizards' writes: terms acceptance, the card, paying, 3-D Secure.

The wizard keeps its state in the order row (``order_open_purchase`` for a purchase,
``renewal_order_for_next_term`` for a renewal), not in the session: going back, reloading, a
second tab or a double click all land on the same order, and ``order_charge`` charges an order
once whatever the number of callers.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from billing import stripe_gateway
from billing.models import (
    CLAIMABLE_ORDER_STATUSES,
    Order,
    OrderKind,
    OrderStatus,
    PaymentMethod,
    Subscription,
)
from billing.selectors.checkout import terms_accepted_current
from billing.selectors.subscriptions import purchase_blocker, renewal_blocker
from billing.services.orders import (
    order_change_card,
    order_open_purchase,
    orders_reprice,
    renewal_order_for_next_term,
)
from billing.services.payment_methods import payment_method_save
from billing.services.payment_outcomes import ChargeOutcome, PaymentSetupError
from billing.services.payments import order_authentication, order_charge
from billing.services.reconciliation import order_settle_from_stripe
from core import clock
from core.money import format_money
from membership.models import Organization, User
from offers.models import Offer, TermsAcceptance, TermsVersion
from offers.selectors import terms_current


def terms_accept(
    *,
    organization: Organization,
    terms: TermsVersion,
    actor: User,
    ip_address: str | None,
) -> TermsAcceptance:
    """Record that ``actor`` accepted ``terms`` for the organization: who, when, version, IP."""
    current = terms_current(offer=terms.offer)
    if current is None or current.pk != terms.pk:
        raise ValidationError(
            _("The terms and conditions have changed. Please read and accept the new version.")
        )
    return TermsAcceptance.objects.create(
        terms=terms,
        organization=organization,
        accepted_by=actor,
        accepted_at=clock.now(),
        ip_address=ip_address,
    )


def checkout_purchase_start(
    *,
    organization: Organization,
    offer: Offer,
    terms: TermsVersion | None,
    actor: User,
    ip_address: str | None,
) -> Order:
    """Accept the terms and open (or reopen) the organization's one purchase order for ``offer``."""
    reason = purchase_blocker(organization=organization, offer=offer)
    if reason:
        raise ValidationError(reason)
    acceptance = None
    if terms is not None:
        acceptance = terms_accept(
            organization=organization, terms=terms, actor=actor, ip_address=ip_address
        )
    try:
        return order_open_purchase(
            organization=organization, offer=offer, placed_by=actor, terms_acceptance=acceptance
        )
    except PaymentSetupError as error:
        raise ValidationError(str(error)) from error


def renewal_start(*, subscription: Subscription, actor: User) -> Order:
    """Open the order for the subscription's next term (shared with the automatic renewal)."""
    reason = renewal_blocker(subscription=subscription)
    if reason:
        raise ValidationError(reason)
    try:
        return renewal_order_for_next_term(subscription=subscription, placed_by=actor)
    except PaymentSetupError as error:
        raise ValidationError(str(error)) from error


def checkout_accept_terms(
    *, order: Order, terms: TermsVersion | None, actor: User, ip_address: str | None
) -> Order:
    """Accept the terms for an order already open (the renewal wizard's terms step)."""
    _ensure_changeable(order)
    if terms is not None:
        acceptance = terms_accept(
            organization=order.organization, terms=terms, actor=actor, ip_address=ip_address
        )
        Order.objects.filter(pk=order.pk, status__in=CLAIMABLE_ORDER_STATUSES).update(
            terms_acceptance=acceptance, placed_by=actor, updated_at=clock.now()
        )
    order.refresh_from_db()
    return order


def checkout_choose_card(*, order: Order, payment_method: PaymentMethod, actor: User) -> Order:
    """Pay ``order`` with one of the organization's saved cards."""
    if payment_method.organization_id != order.organization_id or payment_method.removed_at:
        raise ValidationError(_("Choose one of your organization's saved cards."))
    _ensure_changeable(order)
    if not order_change_card(order=order, payment_method=payment_method, placed_by=actor):
        raise ValidationError(_("This order is being paid right now; the card cannot change."))
    order.refresh_from_db()
    return order


def checkout_add_card(*, order: Order, setup_intent_id: str, actor: User) -> Order:
    """Save the card just entered (a confirmed SetupIntent) and pay ``order`` with it."""
    _ensure_changeable(order)
    # The organization's first card becomes its default (payment_method_save decides).
    card = payment_method_save(
        organization=order.organization, setup_intent_id=setup_intent_id, actor=actor
    )
    return checkout_choose_card(order=order, payment_method=card, actor=actor)


def checkout_pay(*, order: Order, actor: User, expected_amount: int | None = None) -> ChargeOutcome:
    """**Purchase**: charge the order's card now, once, however many times this is called.

    An order that is already paid, being charged or waiting for 3-D Secure is reported as it is;
    only a pending or failed order is checked again and charged: for its net price plus the tax
    of the billing profile as it stands now (``orders_reprice``). ``expected_amount`` is the
    total the review page showed: if the tax changed since (a new VAT id, a new rate), nothing
    is charged and the page shows the new total.
    """
    if order.status in CLAIMABLE_ORDER_STATUSES:
        _ensure_ready_to_pay(order)
        orders_reprice(orders=[order])
        if expected_amount is not None and expected_amount != order.amount:
            raise ValidationError(
                _(
                    "The total changed to %(amount)s since you reviewed the order (the VAT of "
                    "your billing profile changed). Check it and purchase again."
                )
                % {"amount": format_money(order.amount, order.currency)}
            )
    try:
        return order_charge(order=order, off_session=False, actor=actor)
    except PaymentSetupError as error:
        raise ValidationError(str(error)) from error
    except stripe_gateway.StripeUnavailable:
        return ChargeOutcome(
            OrderStatus.PROCESSING,
            order,
            message=_("We could not reach the payment service. Try again in a moment."),
        )


def checkout_authentication(*, order: Order) -> ChargeOutcome:
    """Where 3-D Secure stands for ``order`` (``billing.services.payments.order_authentication``)."""
    return order_authentication(order=order)


def checkout_authentication_finished(*, order: Order, actor: User) -> ChargeOutcome:
    """The browser says 3-D Secure is over: believe Stripe, not the browser, and settle."""
    outcome = order_settle_from_stripe(order=order, actor=actor)
    if outcome.status == OrderStatus.FAILED and not outcome.message:
        return ChargeOutcome(outcome.status, outcome.order, message=outcome.order.failure_message)
    return outcome


def _ensure_changeable(order: Order) -> None:
    """A person may still change an order's terms and card while nobody is charging it."""
    if order.status not in CLAIMABLE_ORDER_STATUSES:
        raise ValidationError(_("This order is being paid or is already paid."))


def _ensure_ready_to_pay(order: Order) -> None:
    terms = terms_current(offer=order.offer)
    if not terms_accepted_current(order=order, terms=terms):
        raise ValidationError(_("Accept the terms and conditions first."))
    if order.payment_method_id is None:
        raise ValidationError(_("Choose a payment method first."))
    if order.kind == OrderKind.PURCHASE:
        reason = purchase_blocker(organization=order.organization, offer=order.offer)
    else:
        reason = renewal_blocker(subscription=order.subscription)
    if reason:
        raise ValidationError(reason)
