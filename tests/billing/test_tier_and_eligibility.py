"""The tier an organization holds, and whether it may buy the Action Pack."""

from __future__ import annotations

import datetime as dt

from billing.models import SubscriptionStatus
from billing.selectors.subscriptions import Tier, organization_tier, purchase_blocker
from membership.models import Competency, CompetencyArea, CompetencyLevel
from tests.billing.factories import make_subscription


def test_a_new_network_member_holds_network_membership(contoso):
    assert organization_tier(organization=contoso) == Tier.NETWORK


def test_an_organization_that_has_not_joined_holds_no_tier(contoso):
    contoso.network_member_since = None
    contoso.save()
    assert organization_tier(organization=contoso) == Tier.NONE


def test_an_active_action_pack_is_the_action_pack_tier(contoso, offer):
    make_subscription(contoso, offer, started_on=dt.date(2026, 1, 5))
    assert organization_tier(organization=contoso) == Tier.ACTION_PACK


def test_a_past_due_action_pack_still_counts(contoso, offer):
    make_subscription(
        contoso, offer, started_on=dt.date(2025, 1, 5), status=SubscriptionStatus.PAST_DUE
    )
    assert organization_tier(organization=contoso) == Tier.ACTION_PACK


def test_an_expired_action_pack_is_back_to_network(contoso, offer):
    make_subscription(
        contoso, offer, started_on=dt.date(2024, 1, 5), status=SubscriptionStatus.EXPIRED
    )
    assert organization_tier(organization=contoso) == Tier.NETWORK


def test_the_highest_competency_wins(contoso, offer):
    make_subscription(contoso, offer, started_on=dt.date(2026, 1, 5))
    Competency.objects.create(
        organization=contoso,
        area=CompetencyArea.CLOUD_PLATFORM,
        level=CompetencyLevel.SILVER,
        anniversary=dt.date(2027, 1, 1),
    )
    assert organization_tier(organization=contoso) == Tier.SILVER
    Competency.objects.create(
        organization=contoso,
        area=CompetencyArea.SECURITY,
        level=CompetencyLevel.GOLD,
        anniversary=dt.date(2027, 1, 1),
    )
    assert organization_tier(organization=contoso) == Tier.GOLD


def test_a_network_member_may_buy_the_action_pack(contoso, offer):
    assert purchase_blocker(organization=contoso, offer=offer) is None


def test_buying_requires_network_membership(contoso, offer):
    contoso.network_member_since = None
    contoso.save()
    assert "Network member" in purchase_blocker(organization=contoso, offer=offer)


def test_an_organization_holds_at_most_one_action_pack(contoso, offer):
    make_subscription(contoso, offer, started_on=dt.date(2026, 1, 5))
    assert "already has" in purchase_blocker(organization=contoso, offer=offer)


def test_after_expiry_the_action_pack_can_be_bought_again(contoso, offer):
    make_subscription(
        contoso, offer, started_on=dt.date(2024, 1, 5), status=SubscriptionStatus.EXPIRED
    )
    assert purchase_blocker(organization=contoso, offer=offer) is None


def test_an_offer_off_sale_cannot_be_bought(contoso, offer):
    offer.is_active = False
    offer.save()
    assert purchase_blocker(organization=contoso, offer=offer) is not None


def test_the_database_refuses_a_second_live_subscription(contoso, offer):
    import pytest
    from django.db import IntegrityError, transaction

    make_subscription(contoso, offer, started_on=dt.date(2026, 1, 5))
    with pytest.raises(IntegrityError), transaction.atomic():
        make_subscription(contoso, offer, started_on=dt.date(2026, 2, 5))
