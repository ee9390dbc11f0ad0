"""Opening the order that will be paid: one purchase order per organization and offer, one
renewal order per subscription and term (the unique rows that keep a term from being paid
twice), and changing its card while nobody is charging it. Charging is
``billing.services.payments``.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from billing.models import (
    CLAIMABLE_ORDER_STATUSES,
    OPEN_ORDER_STATUSES,
    Order,
    OrderKind,
    PaymentMethod,
    Subscription,
)
from billing.selectors.renewals import renewal_quote
from billing.services.payment_outcomes import PaymentSetupError
from billing.tax import Rates, order_net_amount, organization_tax_quote, tax_rates_in_force
from core import clock
from membership.models import Organization, User
from offers.models import Offer, OfferPrice, TermsAcceptance
from offers.selectors import offer_price


def _card_snapshot(payment_method: PaymentMethod | None) -> dict:
    if payment_method is None:
        return {"payment_method": None, "card_brand": "", "card_last4": ""}
    return {
        "payment_method": payment_method,
        "card_brand": payment_method.brand,
        "card_last4": payment_method.last4,
    }


def order_open_purchase(
    *,
    organization: Organization,
    offer: Offer,
    placed_by: User,
    terms_acceptance: TermsAcceptance | None = None,
    payment_method: PaymentMethod | None = None,
) -> Order:
    """The one open purchase order of this organization for this offer, created if needed.

    Two tabs, a reload or the back button all land on the same order, so there is only ever
    one purchase to pay. Terms and card are updated while nothing is being charged.
    """
    price = offer_price(offer=offer, currency=organization.currency)
    if price is None:
        raise PaymentSetupError(_("This offer is not sold in your organization's currency."))
    quote = organization_tax_quote(organization=organization, net=price.amount)
    updates: dict = {"placed_by": placed_by}
    if terms_acceptance is not None:
        updates["terms_acceptance"] = terms_acceptance
    if payment_method is not None:
        updates.update(_card_snapshot(payment_method))
    for _attempt in range(3):
        order = (
            Order.objects.filter(
                organization=organization,
                offer=offer,
                kind=OrderKind.PURCHASE,
                status__in=OPEN_ORDER_STATUSES,
            )
            .select_related("payment_method", "offer")
            .first()
        )
        if order is not None:
            # Price and card only change while nobody is charging the order.
            Order.objects.filter(pk=order.pk, status__in=CLAIMABLE_ORDER_STATUSES).update(
                currency=price.currency, updated_at=clock.now(), **quote.order_fields, **updates
            )
            order.refresh_from_db()
            return order
        try:
            with transaction.atomic():
                return Order.objects.create(
                    organization=organization,
                    offer=offer,
                    kind=OrderKind.PURCHASE,
                    term_number=1,
                    currency=price.currency,
                    **quote.order_fields,
                    **updates,
                )
        except IntegrityError:
            continue  # another tab created it a moment ago: use that one
    raise PaymentSetupError("Could not open a purchase order.")


def renewal_order_for_next_term(
    *,
    subscription: Subscription,
    placed_by: User | None = None,
    payment_method: PaymentMethod | None = None,
) -> Order:
    """The one renewal order for the subscription's next term (unique per subscription and term).

    The automatic renewal and a manual renewal of the same term share this row, so the term is
    paid once whoever gets there first.
    """
    order = renewal_orders_for_next_terms(
        subscriptions=[subscription], placed_by=placed_by, payment_method=payment_method
    ).get(subscription.pk)
    if order is None:
        raise PaymentSetupError(_("This offer is not sold in your organization's currency."))
    if payment_method is not None and order.payment_method_id != payment_method.pk:
        order_change_card(order=order, payment_method=payment_method, placed_by=placed_by)
        order.refresh_from_db()
    return order


def renewal_orders_for_next_terms(
    *,
    subscriptions: Sequence[Subscription],
    placed_by: User | None = None,
    payment_method: PaymentMethod | None = None,
) -> dict[int, Order]:
    """``renewal_order_for_next_term`` for many subscriptions: by subscription id.

    Missing orders are inserted at the offer's current price in the organization's currency
    (``organization`` and ``offer`` loaded) with the tax of the organization's billing profile,
    in one statement that leaves alone any row another caller inserted first (the unique
    constraint decides); then every order is read in one query, and those nobody is charging
    are brought up to date with the billing profile (``orders_reprice``). A subscription whose
    offer is not sold in its currency gets no order.
    """
    prices: dict[tuple[int, str], OfferPrice | None] = {}
    rates = tax_rates_in_force()
    missing = []
    for subscription in subscriptions:
        key = (subscription.offer_id, subscription.organization.currency)
        if key not in prices:
            prices[key] = offer_price(offer=subscription.offer, currency=key[1])
        price = prices[key]
        if price is None:
            continue
        missing.append(
            Order(
                subscription=subscription,
                kind=OrderKind.RENEWAL,
                term_number=subscription.term_number + 1,
                organization_id=subscription.organization_id,
                offer_id=subscription.offer_id,
                currency=price.currency,
                placed_by=placed_by,
                **renewal_quote(subscription=subscription, price=price, rates=rates).order_fields,
                **_card_snapshot(payment_method or subscription.payment_method),
            )
        )
    if not missing:
        return {}
    Order.objects.bulk_create(missing, ignore_conflicts=True)
    wanted = {(order.subscription.pk, order.term_number) for order in missing}
    orders = {}
    for order in Order.objects.filter(
        kind=OrderKind.RENEWAL,
        subscription__in=[order.subscription.pk for order in missing],
        term_number__in={term for _pk, term in wanted},
    ).select_related("payment_method"):
        if (order.subscription_id, order.term_number) in wanted:
            orders[order.subscription_id] = order
    organizations = {subscription.pk: subscription.organization for subscription in subscriptions}
    for order in orders.values():
        order.organization = organizations[order.subscription_id]  # loaded: spare the queries
    orders_reprice(orders=list(orders.values()), rates=rates)
    return orders


def orders_reprice(*, orders: Sequence[Order], rates: Rates | None = None) -> list[Order]:
    """Bring the tax of orders nobody is charging up to date with their organization's billing
    profile and today's rates; returns the orders whose total changed.

    An order keeps its net price (a renewal order keeps the price it was opened at); its tax
    follows the buyer's country and VAT id as they are now, so what is charged, and later
    invoiced, is the tax of the buyer the invoice names. One UPDATE per changed order (rare:
    a VAT id or a rate changed since the order was opened), none when nothing changed. Each
    UPDATE is conditional on the order being claimable: an order being charged keeps its total.
    ``organization`` must be loaded.
    """
    rates = tax_rates_in_force() if rates is None else rates
    changed = []
    for order in orders:
        if order.status not in CLAIMABLE_ORDER_STATUSES:
            continue
        quote = organization_tax_quote(
            organization=order.organization, net=order_net_amount(order), rates=rates
        )
        fields = quote.order_fields
        if all(getattr(order, name) == value for name, value in fields.items()):
            continue
        if Order.objects.filter(pk=order.pk, status__in=CLAIMABLE_ORDER_STATUSES).update(
            updated_at=clock.now(), **fields
        ):
            for name, value in fields.items():
                setattr(order, name, value)
            changed.append(order)
    return changed


def order_change_card(
    *, order: Order, payment_method: PaymentMethod, placed_by: User | None = None
) -> bool:
    """Use another card for an order nobody is charging right now. False if it is in flight."""
    updates = _card_snapshot(payment_method)
    if placed_by is not None:
        updates["placed_by"] = placed_by
    return bool(
        Order.objects.filter(pk=order.pk, status__in=CLAIMABLE_ORDER_STATUSES).update(
            updated_at=clock.now(), **updates
        )
    )
