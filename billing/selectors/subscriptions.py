"""Reads about what was bought: terms and anniversaries, tiers, eligibility, orders."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from billing.models import (
    LIVE_STATUSES,
    Order,
    OrderStatus,
    PaymentMethod,
    Subscription,
    SubscriptionStatus,
)
from core import clock
from membership.models import CompetencyLevel, Organization
from offers.models import Offer


def anniversary_date(start: dt.date, years: int) -> dt.date:
    """``start`` moved ``years`` years on; 29 February becomes 28 February in common years."""
    year = start.year + years
    day = min(start.day, calendar.monthrange(year, start.month)[1])
    return dt.date(year, start.month, day)


def term_dates(*, started_on: dt.date, term_number: int) -> tuple[dt.date, dt.date]:
    """Start and end (the anniversary) of term ``term_number`` (1-based) of a subscription.

    Terms are anchored to the purchase date, so a 29 February purchase renews on 28 February in
    common years and on 29 February again in leap years: "each year on this date".
    """
    return (
        anniversary_date(started_on, term_number - 1),
        anniversary_date(started_on, term_number),
    )


@dataclass(frozen=True)
class RenewalWindow:
    opens_on: dt.date
    closes_on: dt.date

    def contains(self, day: dt.date) -> bool:
        return self.opens_on <= day <= self.closes_on


def renewal_window(*, subscription: Subscription) -> RenewalWindow:
    """Manual renewal is open from 90 days before the anniversary to 30 days after it."""
    anniversary = subscription.current_term_end
    return RenewalWindow(
        opens_on=anniversary - dt.timedelta(days=settings.RENEWAL_WINDOW_DAYS_BEFORE),
        closes_on=anniversary + dt.timedelta(days=settings.RENEWAL_GRACE_DAYS),
    )


def renewal_blocker(*, subscription: Subscription, today: dt.date | None = None) -> str | None:
    """Why this subscription cannot be renewed by hand today, or ``None`` if it can."""
    today = today or clock.today()
    if subscription.status not in LIVE_STATUSES:
        return str(_("Only an active or past-due subscription can be renewed."))
    if subscription.cancel_at_term_end:
        return str(_("This subscription is set to be canceled at the end of its term."))
    window = renewal_window(subscription=subscription)
    if today < window.opens_on:
        return str(_("Renewal opens on %(date)s.") % {"date": window.opens_on.isoformat()})
    if today > window.closes_on:
        closed = window.closes_on.isoformat()
        return str(_("The renewal window closed on %(date)s.") % {"date": closed})
    return None


def grace_ends_on(*, subscription: Subscription) -> dt.date:
    return subscription.current_term_end + dt.timedelta(days=settings.RENEWAL_GRACE_DAYS)


def live_subscription(*, organization: Organization, offer: Offer) -> Subscription | None:
    return (
        Subscription.objects.filter(
            organization=organization, offer=offer, status__in=LIVE_STATUSES
        )
        .select_related("offer", "payment_method")
        .first()
    )


def subscriptions_for_organization(*, organization: Organization) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(organization=organization)
        .select_related("offer", "payment_method")
        .order_by("-created_at")
    )


class Tier:
    NONE = "none"
    NETWORK = "network"
    ACTION_PACK = "action_pack"
    SILVER = "silver"
    GOLD = "gold"

    LABELS = {
        NONE: _("Not a network member"),
        NETWORK: _("Network membership"),
        ACTION_PACK: _("Microsoft Action Pack subscription"),
        SILVER: _("Silver competency"),
        GOLD: _("Gold competency"),
    }


def organization_tier(*, organization: Organization) -> str:
    """The highest tier held: Gold, Silver competency; Action Pack; Network membership; none.

    A past-due Action Pack still counts (benefits keep working in the grace window).
    """
    if not organization.is_network_member:
        return Tier.NONE
    levels = set(organization.competencies.values_list("level", flat=True))
    if CompetencyLevel.GOLD in levels:
        return Tier.GOLD
    if CompetencyLevel.SILVER in levels:
        return Tier.SILVER
    if Subscription.objects.filter(
        organization=organization, offer__code="action-pack", status__in=LIVE_STATUSES
    ).exists():
        return Tier.ACTION_PACK
    return Tier.NETWORK


def purchase_blocker(*, organization: Organization, offer: Offer) -> str | None:
    """Why the organization cannot buy ``offer`` now, or ``None`` if it can."""
    if not organization.is_network_member:
        return str(_("You must be a Microsoft Partner Network member to upgrade your membership."))
    if not offer.is_active:
        return str(_("This offer is not on sale."))
    if offer.one_per_organization and live_subscription(organization=organization, offer=offer):
        return str(_("Your organization already has this subscription."))
    if not offer.prices.filter(currency=organization.currency).exists():
        return str(_("This offer is not sold in your organization's currency."))
    return None


def payment_methods_for_organization(*, organization: Organization) -> QuerySet[PaymentMethod]:
    return PaymentMethod.objects.filter(organization=organization, removed_at__isnull=True)


def orders_for_organization(*, organization: Organization) -> QuerySet[Order]:
    return (
        Order.objects.filter(organization=organization)
        .select_related("offer")
        .order_by("-created_at", "-id")
    )


def paid_orders(*, organization: Organization) -> QuerySet[Order]:
    return orders_for_organization(organization=organization).filter(
        status__in=[OrderStatus.PAID, OrderStatus.REFUNDED]
    )


def subscription_status_label(subscription: Subscription) -> str:
    return str(SubscriptionStatus(subscription.status).label)
