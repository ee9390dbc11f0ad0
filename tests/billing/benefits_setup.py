"""A subscription with its benefits granted, and product keys in the pool, for benefit tests."""

from __future__ import annotations

import datetime as dt

from billing.models import BenefitGrant, Subscription
from billing.services.benefits import benefits_grant_for_term, product_keys_load
from core import clock
from membership.models import Organization
from offers.models import Offer
from tests.billing.factories import make_subscription


def subscribe(
    organization: Organization, offer: Offer, *, started_on: dt.date | None = None
) -> Subscription:
    """A live Action Pack bought on ``started_on`` (today by default), with its benefits."""
    subscription = make_subscription(organization, offer, started_on=started_on or clock.today())
    benefits_grant_for_term(subscription=subscription)
    return subscription


def grant_of(subscription: Subscription, code: str, *, term: int | None = None) -> BenefitGrant:
    subscription.refresh_from_db()
    return BenefitGrant.objects.select_related("benefit").get(
        subscription=subscription, benefit__code=code, term_number=term or subscription.term_number
    )


def load_keys(offer: Offer, count: int, *, prefix: str = "KEY") -> list[str]:
    """``count`` Windows product keys in the pool, in loading order."""
    keys = [f"{prefix}{number:02d}-AAAAA-BBBBB-CCCCC-DDDDD" for number in range(1, count + 1)]
    product_keys_load(benefit=offer.benefits.get(code="windows-enterprise"), keys=keys)
    return keys
