"""Reads about the catalog: offers, their prices in a currency, and the current terms."""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from offers.models import Benefit, Offer, OfferPrice, TermsVersion


def offers_on_sale() -> QuerySet[Offer]:
    """Active offers with their prices and benefits, in two extra queries whatever their number."""
    return Offer.objects.filter(is_active=True).prefetch_related(
        "prices", Prefetch("benefits", queryset=Benefit.objects.order_by("position", "id"))
    )


_catalog: tuple[float, list[Offer]] | None = None
_catalog_lock = threading.Lock()


def catalog_on_sale() -> list[Offer]:
    """``offers_on_sale`` as Partnership > Offers shows it: kept for ``CATALOG_CACHE_SECONDS``
    in each process, so the page most partners open first does not read the catalog every time.

    Staff change the catalog rarely; an edit shows on the page within that time. Nothing that
    charges reads it: a checkout reads its offer and price when the order is opened.
    """
    return catalog_on_sale_versioned()[1]


def catalog_on_sale_versioned() -> tuple[float | None, list[Offer]]:
    """``catalog_on_sale`` and the moment this process read it: what a copy of the catalog as
    rendered may be kept under (``None`` when the catalog is not kept: read every time)."""
    global _catalog
    ttl = settings.CATALOG_CACHE_SECONDS
    if ttl <= 0:
        return None, list(offers_on_sale())
    now = time.monotonic()
    with _catalog_lock:
        if _catalog is not None and now - _catalog[0] < ttl:
            return _catalog
    offers = list(offers_on_sale())
    with _catalog_lock:
        _catalog = (now, offers)
    return now, offers


def offer_price(*, offer: Offer, currency: str) -> OfferPrice | None:
    """The offer's price in ``currency``; uses prefetched prices when present."""
    for price in offer.prices.all():
        if price.currency == currency:
            return price
    return None


def terms_current(*, offer: Offer) -> TermsVersion | None:
    """The latest published version of the offer's terms (what a buyer must accept now)."""
    return TermsVersion.objects.filter(offer=offer).order_by("-published_at", "-id").first()
