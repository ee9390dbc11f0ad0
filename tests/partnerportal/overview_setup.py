"""A portal with something on every part of the staff overview, for its page and browser tests."""

from __future__ import annotations

import datetime as dt

from billing.models import BillingCycleRun, SubscriptionStatus
from core import clock
from membership.models import Organization, User
from offers.models import Offer
from support.models import RequestStatus, ServiceRequest
from tests.billing.factories import make_subscription


def overview_world(*, contoso: Organization, fabrikam: Organization, offer: Offer, requester: User):
    """Contoso past due (5 days into grace), Fabrikam and a few partners renewing over the next
    weeks in both currencies (their purchases and renewals invoiced over the past year), one
    Action Pack expired last month, cases in several states (one overdue), and an hourly run."""
    today = clock.today()
    past_due = make_subscription(
        contoso,
        offer,
        anniversary=today - dt.timedelta(days=5),
        status=SubscriptionStatus.PAST_DUE,
    )
    make_subscription(fabrikam, offer, anniversary=today + dt.timedelta(days=20), term_number=2)
    for number in range(6):
        currency = "USD" if number % 2 else "EUR"
        partner = Organization.objects.create(
            name=f"Northwind {number}",
            partner_id=f"{1000100 + number}",
            country="US" if currency == "USD" else "ES",
            currency=currency,
            network_member_since=dt.date(2024, 3, 1),
        )
        make_subscription(
            partner,
            offer,
            anniversary=today + dt.timedelta(days=7 + 12 * number),
            term_number=1 + number % 2,
        )
    lapsed = Organization.objects.create(
        name="Tailspin Toys",
        partner_id="1000200",
        country="US",
        currency="USD",
        network_member_since=dt.date(2024, 3, 1),
    )
    make_subscription(
        lapsed,
        offer,
        anniversary=today - dt.timedelta(days=60),
        status=SubscriptionStatus.EXPIRED,
        ended_on=today - dt.timedelta(days=30),
    )
    now = clock.now()
    for number, status in enumerate(
        [RequestStatus.NEW, RequestStatus.NEW, RequestStatus.IN_PROGRESS, RequestStatus.RESOLVED]
    ):
        ServiceRequest.objects.create(
            organization=contoso,
            requester=requester,
            issue_type="technical",
            title=f"Case {number}",
            description="…",
            status=status,
            contact_email=requester.email,
            created_at=now - dt.timedelta(hours=5),
            first_response_due=now + dt.timedelta(minutes=30 - 60 * number),
        )
    BillingCycleRun.objects.create(
        started_at=now - dt.timedelta(minutes=40),
        finished_at=now - dt.timedelta(minutes=38, seconds=15),
        renewals_due=3,
        renewals_charged=2,
        renewals_failed=1,
    )
    return past_due
