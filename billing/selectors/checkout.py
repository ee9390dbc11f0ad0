"""Reads for Partnership > Offers, the subscribe and renew wizards and the purchased-offer page.

Every page here runs a fixed number of queries however many offers, subscriptions or orders the
organization has (``tests/billing/test_query_budget.py`` holds us to it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from billing.models import OPEN_ORDER_STATUSES, Order, OrderKind, PaymentMethod, Subscription
from billing.selectors.invoices import order_documents
from billing.selectors.payment_methods import payment_methods_for_organization
from billing.selectors.subscriptions import (
    purchase_blockers,
    renewal_blocker,
    subscriptions_for_organization,
)
from billing.terms import RenewalWindow, renewal_window, term_dates
from core import clock
from membership.models import Organization
from offers.models import Offer, OfferPrice, TermsVersion
from offers.selectors import catalog_on_sale_versioned, offer_price


@dataclass(frozen=True)
class AvailableOffer:
    """An offer as the Offers page shows it to one organization."""

    offer: Offer
    price: OfferPrice | None
    blocker: str | None  # why the organization cannot buy it now; None when it can


@dataclass(frozen=True)
class OffersPage:
    available: list[AvailableOffer]
    purchased: list[Subscription]  # live ones first, then the most recent
    catalog_version: float | None  # ``catalog_on_sale_versioned``: None when not kept


def offer_cards_key(*, page: OffersPage, currency: str, may_purchase: bool) -> str | None:
    """What the Available offers cards depend on besides the reader's language: the catalog as
    this process read it, the currency, the buttons the reader may use and why not. The page
    keeps the rendered cards under it (``{% cache %}`` in ``billing/offers.html``); ``None``
    (the catalog is read every time, as in tests) renders them every time."""
    if page.catalog_version is None:
        return None
    blockers = "|".join(row.blocker or "" for row in page.available)
    return f"{page.catalog_version!r}:{currency}:{may_purchase}:{blockers}"


def offers_page(*, organization: Organization) -> OffersPage:
    """Partnership > Offers in four queries (one once the catalog is cached: ``catalog_on_sale``),
    whatever the number of offers and subscriptions."""
    purchased = list(subscriptions_for_organization(organization=organization))
    purchased.sort(key=lambda s: not s.is_live)  # stable: keeps the newest-first order
    version, offers = catalog_on_sale_versioned()
    blockers = purchase_blockers(
        organization=organization,
        offers=offers,
        live_offer_ids={s.offer_id for s in purchased if s.is_live},
    )
    available = [
        AvailableOffer(
            offer=offer,
            price=offer_price(offer=offer, currency=organization.currency),
            blocker=blockers[offer.pk],
        )
        for offer in offers
    ]
    return OffersPage(available=available, purchased=purchased, catalog_version=version)


def offer_for_checkout(*, offer_id: int) -> Offer | None:
    """An offer with its prices prefetched, for the subscribe wizard's pages."""
    return Offer.objects.prefetch_related("prices").filter(pk=offer_id).first()


def purchase_order_open(*, organization: Organization, offer: Offer) -> Order | None:
    """The organization's purchase order for ``offer`` that is not paid or canceled yet."""
    return (
        Order.objects.filter(
            organization=organization,
            offer=offer,
            kind=OrderKind.PURCHASE,
            status__in=OPEN_ORDER_STATUSES,
        )
        .select_related("offer", "organization", "payment_method", "terms_acceptance__terms")
        .first()
    )


def renewal_order_open(*, subscription: Subscription) -> Order | None:
    """The order for the subscription's next term, if someone (a person or the job) opened it."""
    return (
        Order.objects.filter(
            subscription=subscription,
            kind=OrderKind.RENEWAL,
            term_number=subscription.term_number + 1,
        )
        .select_related("offer", "organization", "payment_method", "terms_acceptance__terms")
        .first()
    )


def orders_for_checkout() -> QuerySet[Order]:
    """What the order-level wizard pages (pay, authenticate, confirmed) load an order with."""
    return Order.objects.select_related(
        "offer", "subscription", "payment_method", "organization", "terms_acceptance__terms"
    )


def subscriptions_for_pages() -> QuerySet[Subscription]:
    return Subscription.objects.select_related("offer", "payment_method", "organization")


def cards_for_checkout(*, organization: Organization) -> list[PaymentMethod]:
    """The organization's saved cards, default first."""
    return list(payment_methods_for_organization(organization=organization))


def card_preselected(*, order: Order, cards: list[PaymentMethod]) -> PaymentMethod | None:
    """The card the payment step proposes: the order's own, else the default, else the newest."""
    for card in cards:
        if card.pk == order.payment_method_id:
            return card
    return cards[0] if cards else None


def terms_accepted_current(*, order: Order, terms: TermsVersion | None) -> bool:
    """Did the buyer accept, for this order, the version of the terms in force now?"""
    if terms is None:
        return True  # an offer without terms has nothing to accept
    acceptance = order.terms_acceptance
    return acceptance is not None and acceptance.terms_id == terms.pk


@dataclass(frozen=True)
class OrderTerm:
    """The term an order buys, as the review and confirmation pages show it."""

    starts_on: dt.date
    ends_on: dt.date  # the anniversary: the subscription renews each year on this date


def order_term(*, order: Order) -> OrderTerm:
    """The dates the order covers: from today for a purchase, from the anniversary for a renewal."""
    if order.term_start and order.term_end:
        return OrderTerm(order.term_start, order.term_end)
    if order.kind == OrderKind.RENEWAL and order.subscription is not None:
        start, end = term_dates(
            started_on=order.subscription.started_on, term_number=order.term_number
        )
        return OrderTerm(start, end)
    start, end = term_dates(started_on=clock.today(), term_number=1)
    return OrderTerm(start, end)


@dataclass(frozen=True)
class RenewalState:
    """What the purchased-offer page says about renewing by hand."""

    window: RenewalWindow
    blocker: str | None
    opens_later: bool  # the window has not opened yet: show the date it opens


def renewal_state(*, subscription: Subscription) -> RenewalState:
    window = renewal_window(subscription=subscription)
    return RenewalState(
        window=window,
        blocker=renewal_blocker(subscription=subscription),
        opens_later=clock.today() < window.opens_on,
    )


def subscription_orders(*, subscription: Subscription) -> list[Order]:
    """The subscription's orders, newest term first, each with the ``period`` it pays for.

    The period comes from the subscription's anniversary arithmetic when the order row has no
    term dates of its own (a renewal order is opened before its term is known to be paid).
    """
    orders = list(
        Order.objects.filter(subscription=subscription)
        .prefetch_related(order_documents())
        .order_by("-term_number", "-created_at")
    )
    for order in orders:
        if order.term_start and order.term_end:
            order.period = OrderTerm(order.term_start, order.term_end)
        else:
            order.period = OrderTerm(
                *term_dates(started_on=subscription.started_on, term_number=order.term_number)
            )
    return orders
