"""Reads about an organization's saved cards."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from billing.models import LIVE_STATUSES, PaymentMethod, Subscription
from membership.models import Organization


def payment_methods_for_organization(*, organization: Organization) -> QuerySet[PaymentMethod]:
    """The organization's cards that are not removed, the default first, then newest first."""
    return PaymentMethod.objects.filter(
        organization=organization, removed_at__isnull=True
    ).order_by("-is_default", "-created_at", "-id")


def payment_method_default(*, organization: Organization) -> PaymentMethod | None:
    return (
        payment_methods_for_organization(organization=organization).filter(is_default=True).first()
    )


def subscriptions_renewing_with(*, payment_method: PaymentMethod) -> QuerySet[Subscription]:
    """Live subscriptions that will charge this card on their next anniversary."""
    return Subscription.objects.filter(
        payment_method=payment_method, status__in=LIVE_STATUSES, auto_renew=True
    ).select_related("offer")


@dataclass(frozen=True)
class PaymentMethodRow:
    """A card as Billing > Payment methods shows it: what renews with it decides if it may go."""

    payment_method: PaymentMethod
    renews: list[Subscription]

    @property
    def removable(self) -> bool:
        return not self.renews


def payment_method_rows(*, organization: Organization) -> list[PaymentMethodRow]:
    """The organization's cards with the auto-renewing subscriptions that use each (2 queries)."""
    cards = list(payment_methods_for_organization(organization=organization))
    renewing: dict[int, list[Subscription]] = {card.pk: [] for card in cards}
    for subscription in Subscription.objects.filter(
        payment_method__in=cards, status__in=LIVE_STATUSES, auto_renew=True
    ).select_related("offer"):
        renewing[subscription.payment_method_id].append(subscription)
    return [PaymentMethodRow(payment_method=card, renews=renewing[card.pk]) for card in cards]
