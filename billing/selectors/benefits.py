"""Reads about benefits: what the organization has this term, what is used, refund eligibility."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Prefetch

from billing.models import (
    LIVE_STATUSES,
    BenefitGrant,
    ProductKey,
    SeatAssignment,
    Subscription,
)
from core import clock
from membership.models import Organization
from offers.models import Benefit, BenefitKind


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved ``months`` months on; the 31st becomes the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class CreditMonth:
    """The credit month ``today`` falls in: credit months run from the term's start day to the
    day before the same day of the next month (bought on 31 January: 31 Jan – 27 Feb, then
    28 Feb – 30 Mar…), so the Benefits page can say which month's credit is the current one."""

    number: int  # 1 to 12 within the term
    starts_on: dt.date
    renews_on: dt.date  # the first day of the next credit month

    @property
    def ends_on(self) -> dt.date:
        return self.renews_on - dt.timedelta(days=1)


def azure_credit_month(*, term_start: dt.date, today: dt.date | None = None) -> CreditMonth:
    """The current month of the monthly Azure credit (``today`` from the clock)."""
    today = today or clock.today()
    months = 1
    while add_months(term_start, months) <= today:
        months += 1
    return CreditMonth(
        number=months,
        starts_on=add_months(term_start, months - 1),
        renews_on=add_months(term_start, months),
    )


# Benefits used in units out of a quantity: software keys, seats, licenses and incidents.
USAGE_KINDS = frozenset(
    {
        BenefitKind.SOFTWARE_LICENSE,
        BenefitKind.ONLINE_SERVICE,
        BenefitKind.DEVELOPER_LICENSE,
        BenefitKind.SUPPORT_INCIDENTS,
    }
)


@dataclass
class BenefitLine:
    """One benefit of the current term as the Benefits page shows it."""

    grant: BenefitGrant
    benefit: Benefit
    keys: list[ProductKey] = field(default_factory=list)
    assignments: list[SeatAssignment] = field(default_factory=list)
    credit_month: CreditMonth | None = None

    @property
    def used(self) -> int:
        if self.benefit.kind == BenefitKind.SOFTWARE_LICENSE:
            return len(self.keys)
        if self.benefit.kind in (BenefitKind.ONLINE_SERVICE, BenefitKind.DEVELOPER_LICENSE):
            return len(self.assignments)
        return self.grant.used_quantity

    @property
    def remaining(self) -> int:
        return max(self.grant.quantity - self.used, 0)

    @property
    def credit_renews_on(self) -> dt.date | None:
        return self.credit_month.renews_on if self.credit_month else None

    @property
    def has_usage(self) -> bool:
        """Is this a benefit counted in units used out of a quantity (keys, seats, licenses,
        incidents), which the page draws as a usage bar?"""
        return self.benefit.kind in USAGE_KINDS

    @property
    def is_activated(self) -> bool:
        return self.grant.activated_at is not None


@dataclass
class BenefitsOverview:
    subscription: Subscription
    lines: list[BenefitLine]


def live_subscription_with_benefits(*, organization: Organization) -> Subscription | None:
    """The organization's active or past-due subscription whose offer has benefits."""
    return (
        Subscription.objects.filter(
            organization=organization, status__in=LIVE_STATUSES, offer__benefits__isnull=False
        )
        .select_related("offer")
        .distinct()
        .order_by("-created_at")
        .first()
    )


def benefits_overview(*, organization: Organization) -> BenefitsOverview | None:
    """The current term's benefits of the organization's live subscription, or ``None``."""
    subscription = live_subscription_with_benefits(organization=organization)
    if subscription is None:
        return None
    grants = (
        BenefitGrant.objects.filter(
            subscription=subscription,
            term_number=subscription.term_number,
            revoked_at__isnull=True,
        )
        .select_related("benefit", "activated_by")
        .prefetch_related(
            Prefetch("product_keys", queryset=ProductKey.objects.order_by("issued_at", "id")),
            Prefetch("assignments", queryset=SeatAssignment.objects.order_by("assigned_at", "id")),
        )
        .order_by("benefit__position", "id")
    )
    lines = []
    for grant in grants:
        line = BenefitLine(
            grant=grant,
            benefit=grant.benefit,
            keys=list(grant.product_keys.all()),
            assignments=list(grant.assignments.all()),
        )
        if grant.benefit.kind == BenefitKind.AZURE_CREDIT:
            line.credit_month = azure_credit_month(term_start=subscription.current_term_start)
        lines.append(line)
    return BenefitsOverview(subscription=subscription, lines=lines)


def grants_for_organization(*, organization: Organization):
    """Grants of the organization, for loading one by id in a view (another's → 404)."""
    return BenefitGrant.objects.filter(subscription__organization=organization).select_related(
        "benefit", "subscription__organization"
    )


def assignments_for_organization(*, organization: Organization):
    return SeatAssignment.objects.filter(
        grant__subscription__organization=organization
    ).select_related("grant__benefit", "grant__subscription")


def software_activation(*, subscription: Subscription, term_number: int) -> BenefitGrant | None:
    """The first software benefit activated in that term, or ``None``.

    A full refund within the refund window is offered only when this is ``None``: activating a
    software benefit (a product key, a Visual Studio license) uses the software.
    """
    return (
        BenefitGrant.objects.filter(
            subscription=subscription,
            term_number=term_number,
            benefit__is_software=True,
            activated_at__isnull=False,
        )
        .select_related("benefit", "activated_by")
        .order_by("activated_at", "id")
        .first()
    )


def support_incidents_grant(*, organization: Organization) -> BenefitGrant | None:
    """The grant of technical support incidents of the current term, ``None`` without a live
    Action Pack."""
    return (
        BenefitGrant.objects.filter(
            subscription__organization=organization,
            subscription__status__in=LIVE_STATUSES,
            benefit__kind=BenefitKind.SUPPORT_INCIDENTS,
            revoked_at__isnull=True,
        )
        .order_by("-term_number")
        .first()
    )


def support_incidents_remaining(*, organization: Organization) -> int | None:
    """Technical support incidents left this term, or ``None`` without a live Action Pack."""
    grant = support_incidents_grant(organization=organization)
    return None if grant is None else max(grant.quantity - grant.used_quantity, 0)


def product_keys_available(*, benefit: Benefit) -> int:
    """Keys left in the pool (for staff in the admin)."""
    return ProductKey.objects.filter(benefit=benefit, grant__isnull=True).count()
