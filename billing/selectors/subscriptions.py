"""Reads about what was bought: live subscriptions, tiers, whether one may buy or renew.

The dates these rules use (anniversaries, the renewal and grace windows) are ``billing.terms``.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from billing.models import LIVE_STATUSES, Subscription
from billing.terms import renewal_window
from core import clock
from membership.models import CompetencyLevel, Organization
from offers.models import Offer
from offers.selectors import offer_price


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


def live_subscription(*, organization: Organization, offer: Offer) -> Subscription | None:
    return (
        Subscription.objects.filter(
            organization=organization, offer=offer, status__in=LIVE_STATUSES
        )
        .select_related("offer", "payment_method")
        .first()
    )


def subscriptions_for_organization(*, organization: Organization) -> QuerySet[Subscription]:
    """The organization's subscriptions with their offer, newest first (Offers, the dashboard,
    the support form): none of them shows the card, so it is not joined."""
    return (
        Subscription.objects.filter(organization=organization)
        .select_related("offer")
        .order_by("-created_at", "-id")
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


def purchase_blockers(
    *,
    organization: Organization,
    offers: list[Offer],
    live_offer_ids: set[int] | None = None,
) -> dict[int, str | None]:
    """Why the organization cannot buy each of ``offers`` now (``None``: it can), by offer id.

    The purchase rules, in the order they are told: network membership, the offer on sale, one
    live subscription per organization, a price in the organization's currency. Prefetch the
    offers' prices to save a query per offer; ``live_offer_ids`` (the offers the organization
    holds a live subscription to) saves the one query this makes otherwise.
    """
    if live_offer_ids is None and organization.is_network_member:
        live_offer_ids = set(
            Subscription.objects.filter(
                organization=organization, status__in=LIVE_STATUSES
            ).values_list("offer_id", flat=True)
        )
    blockers: dict[int, str | None] = {}
    for offer in offers:
        if not organization.is_network_member:
            reason = _("You must be a Microsoft Partner Network member to upgrade your membership.")
        elif not offer.is_active:
            reason = _("This offer is not on sale.")
        elif offer.one_per_organization and offer.pk in (live_offer_ids or ()):
            reason = _("Your organization already has this subscription.")
        elif offer_price(offer=offer, currency=organization.currency) is None:
            reason = _("This offer is not sold in your organization's currency.")
        else:
            reason = None
        blockers[offer.pk] = str(reason) if reason is not None else None
    return blockers


def purchase_blocker(*, organization: Organization, offer: Offer) -> str | None:
    """Why the organization cannot buy ``offer`` now, or ``None`` if it can."""
    return purchase_blockers(organization=organization, offers=[offer])[offer.pk]
