"""For benefit tests: a subscription's grant of one benefit, and product keys in the pool.

A subscription with its benefits is ``make_subscription(…, benefits=True)`` (``factories``)."""

from __future__ import annotations

from billing.models import BenefitGrant, Subscription
from billing.services.benefits import product_keys_load
from offers.models import Offer


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
