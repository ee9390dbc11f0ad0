"""Reads about the catalog: offers, their prices in a currency, and the current terms."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from offers.models import Benefit, Offer, OfferPrice, TermsVersion


def offers_on_sale() -> QuerySet[Offer]:
    """Active offers with their prices and benefits, in two extra queries whatever their number."""
    return Offer.objects.filter(is_active=True).prefetch_related(
        "prices", Prefetch("benefits", queryset=Benefit.objects.order_by("position", "id"))
    )


def offer_price(*, offer: Offer, currency: str) -> OfferPrice | None:
    """The offer's price in ``currency``; uses prefetched prices when present."""
    for price in offer.prices.all():
        if price.currency == currency:
            return price
    return None


def terms_current(*, offer: Offer) -> TermsVersion | None:
    """The latest published version of the offer's terms (what a buyer must accept now)."""
    return TermsVersion.objects.filter(offer=offer).order_by("-published_at", "-id").first()
