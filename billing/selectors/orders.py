"""Reads about orders: Billing > Order history and invoices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from billing.models import (
    CLAIMABLE_ORDER_STATUSES,
    LIVE_STATUSES,
    Order,
    OrderKind,
    OrderStatus,
    PaymentMethod,
    Subscription,
    SubscriptionStatus,
)
from billing.selectors.invoices import order_documents
from billing.selectors.renewals import renewal_quote
from billing.tax import TaxQuote, order_tax
from billing.terms import grace_end
from core import clock
from membership.models import Organization

INVOICED_STATUSES = (OrderStatus.PAID, OrderStatus.REFUNDED)


def order_history(*, organization: Organization) -> QuerySet[Order]:
    """The organization's orders, newest first.

    A pending order nobody tried to pay yet is only a checkout someone opened (the wizard opens
    its order on the first step), so it is left out until a payment was attempted.
    """
    return (
        Order.objects.filter(organization=organization)
        .exclude(Q(status=OrderStatus.PENDING) & Q(attempt_count=0))
        .select_related("offer")
        .prefetch_related(order_documents())
        .order_by("-created_at", "-id")
    )


def invoiced_orders(*, organization: Organization) -> QuerySet[Order]:
    """The organization's orders that have an invoice (paid ones, and paid ones refunded since),
    newest first: the invoices, and the orders a support request may be about."""
    return (
        Order.objects.filter(
            organization=organization, status__in=INVOICED_STATUSES, invoice_number__isnull=False
        )
        .select_related("offer", "organization")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class NextCharge:
    """What Order history says at the top about the organization's coming renewal charge.

    Either a charge (``charges_on``, ``quote``, ``currency``, ``card``) or, when nothing will be
    charged automatically (auto-renew off, set to cancel, retries used up), ``ends_on``: the day
    the subscription ends unless renewed by hand.
    """

    subscription: Subscription
    charges_on: dt.date | None = None
    quote: TaxQuote | None = None
    currency: str = ""
    card: PaymentMethod | None = None
    ends_on: dt.date | None = None

    @property
    def is_charge(self) -> bool:
        return self.charges_on is not None


def next_charge(*, organization: Organization, today: dt.date | None = None) -> NextCharge | None:
    """The organization's next automatic renewal charge, or when its subscription ends instead.

    ``None`` without a live subscription. With several live ones, the one whose anniversary
    comes first. The amount is computed as the renewal will compute it: the open renewal order's
    net price with the tax of the billing profile today (``order_tax``, which ``orders_reprice``
    applies before charging), else the offer's price today (``renewal_quote``). The card is the
    subscription's, which the renewal charges (``billing.services.renewals``).
    """
    today = today or clock.today()
    subscription = (
        Subscription.objects.filter(organization=organization, status__in=LIVE_STATUSES)
        .select_related("offer", "organization", "payment_method")
        .prefetch_related("offer__prices")
        .order_by("current_term_end", "id")
        .first()
    )
    if subscription is None:
        return None
    order = (
        Order.objects.filter(
            subscription=subscription,
            kind=OrderKind.RENEWAL,
            term_number=subscription.term_number + 1,
            status__in=CLAIMABLE_ORDER_STATUSES,
        )
        .select_related("organization")
        .first()
    )
    ends_on = subscription.current_term_end
    if subscription.status == SubscriptionStatus.PAST_DUE:
        ends_on = grace_end(ends_on)
    if not subscription.auto_renew or subscription.cancel_at_term_end:
        return NextCharge(subscription=subscription, ends_on=ends_on)
    charges_on = ends_on
    if subscription.status == SubscriptionStatus.PAST_DUE:
        # Past due: the benefits work to the end of the grace window (``ends_on``), and the
        # renewal order's retry schedule says when the card is tried again.
        if order is None or order.retries_stopped:
            return NextCharge(subscription=subscription, ends_on=ends_on)
        charges_on = max(order.next_retry_on or today, today)
    if order is not None:
        quote, currency = order_tax(order), order.currency
    else:
        quote = renewal_quote(subscription=subscription)
        currency = subscription.organization.currency
    card = subscription.payment_method
    if card is not None and card.removed_at is not None:
        card = None
    return NextCharge(
        subscription=subscription,
        charges_on=charges_on,
        quote=quote,
        currency=currency,
        card=card,
    )
