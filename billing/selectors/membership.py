"""Reads for Partnership > Membership: the tier held, competencies, and the three options."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from billing.models import Subscription
from billing.selectors.subscriptions import Tier, live_subscription, organization_tier
from membership.models import Competency, CompetencyLevel, Organization
from offers.models import Offer, OfferPrice

ACTION_PACK_CODE = "action-pack"


@dataclass(frozen=True)
class NextStep:
    title: Promise
    text: Promise
    url_name: str = ""  # a page that takes the partner there, if any


@dataclass(frozen=True)
class MembershipOverview:
    tier: str
    tier_label: Promise
    organization: Organization
    action_pack: Offer | None
    action_pack_price: OfferPrice | None
    subscription: Subscription | None
    competencies: list[Competency]
    has_network: bool
    has_action_pack: bool
    has_competency: bool
    next_step: NextStep


def _next_step(tier: str, competencies: list[Competency]) -> NextStep:
    if tier == Tier.NONE:
        return NextStep(
            _("Join the Microsoft Partner Network"),
            _(
                "You must be a network member to upgrade your membership. Contact Partner Center Support to join."
            ),
            "support:new_request",
        )
    if tier == Tier.NETWORK:
        return NextStep(
            _("Subscribe to Microsoft Action Pack"),
            _(
                "Software licenses, online services seats, Azure credit every month and technical support incidents for a yearly price."
            ),
            "billing:offers",
        )
    if tier == Tier.ACTION_PACK:
        return NextStep(
            _("Earn a Silver competency"),
            _(
                "Show consistent capability, expertise and commitment in a solution area. Competencies are granted by Microsoft Partner Network staff."
            ),
        )
    if tier == Tier.SILVER:
        areas = ", ".join(
            str(c.get_area_display()) for c in competencies if c.level == CompetencyLevel.SILVER
        )
        return NextStep(
            _("Earn a Gold competency"),
            _("Best-in-class capability within a solution area. You hold Silver in: %(areas)s.")
            % {"areas": areas},
        )
    return NextStep(
        _("You hold the highest membership level"),
        _("Keep your Gold competencies current before their anniversaries."),
    )


def membership_overview(*, organization: Organization) -> MembershipOverview:
    tier = organization_tier(organization=organization)
    competencies = list(organization.competencies.order_by("-level", "area"))
    action_pack = Offer.objects.filter(code=ACTION_PACK_CODE).first()
    subscription = (
        live_subscription(organization=organization, offer=action_pack) if action_pack else None
    )
    price = (
        action_pack.prices.filter(currency=organization.currency).first() if action_pack else None
    )
    return MembershipOverview(
        tier=tier,
        tier_label=Tier.LABELS[tier],
        organization=organization,
        action_pack=action_pack,
        action_pack_price=price,
        subscription=subscription,
        competencies=competencies,
        has_network=organization.is_network_member,
        has_action_pack=subscription is not None,
        has_competency=bool(competencies),
        next_step=_next_step(tier, competencies),
    )
