"""Benefits are granted for each paid term, keep working while past due, end at expiry or cancel."""

from __future__ import annotations

import datetime as dt

import pytest

from billing.models import BenefitGrant, Order, OrderKind, OrderStatus, SubscriptionStatus
from billing.selectors.benefits import benefits_overview
from billing.services.benefits import (
    BenefitError,
    benefit_activate,
    benefits_grant_for_term,
    benefits_revoke,
    product_key_issue,
    seat_assign,
)
from billing.services.subscriptions import subscription_apply_renewal
from core import clock
from tests.billing.benefits_setup import grant_of, load_keys
from tests.billing.factories import make_subscription


def _renew(subscription, actor):
    order = Order.objects.create(
        organization=subscription.organization,
        offer=subscription.offer,
        subscription=subscription,
        kind=OrderKind.RENEWAL,
        term_number=subscription.term_number + 1,
        amount=47500,
        currency="USD",
        status=OrderStatus.PAID,
    )
    subscription = subscription_apply_renewal(subscription=subscription, order=order, actor=actor)
    benefits_grant_for_term(subscription=subscription)
    return subscription


def test_a_new_subscription_gets_every_benefit_of_the_offer(contoso, offer):
    subscription = make_subscription(contoso, offer, benefits=True)

    grants = {grant.benefit.code: grant.quantity for grant in subscription.benefit_grants.all()}
    assert grants == {
        "windows-enterprise": 10,
        "visual-studio-pro": 3,
        "vsts-account": 1,
        "office-365-e3": 10,
        "ems": 5,
        "dynamics-crm": 5,
        "azure-credit": 1,
        "support-incidents": 10,
    }


def test_granting_twice_gives_nothing_more(contoso, offer):
    subscription = make_subscription(contoso, offer, benefits=True)

    benefits_grant_for_term(subscription=subscription)

    assert subscription.benefit_grants.count() == 8


def test_benefits_keep_working_while_past_due(contoso, offer, bob):
    subscription = make_subscription(contoso, offer, benefits=True)
    subscription.status = SubscriptionStatus.PAST_DUE
    subscription.save()

    seat = seat_assign(
        grant=_activated(grant_of(subscription, "office-365-e3"), bob),
        email="eve@contoso.example",
        actor=bob,
    )

    assert seat.email == "eve@contoso.example"
    assert len(benefits_overview(organization=contoso).lines) == 8


def test_benefits_are_revoked_when_the_subscription_expires(contoso, offer, bob):
    subscription = make_subscription(contoso, offer, benefits=True)
    subscription.status = SubscriptionStatus.EXPIRED
    subscription.save()

    benefits_revoke(subscription=subscription)

    assert not BenefitGrant.objects.filter(
        subscription=subscription, revoked_at__isnull=True
    ).exists()
    assert benefits_overview(organization=contoso) is None


def test_revoking_is_safe_twice(contoso, offer):
    subscription = make_subscription(contoso, offer, benefits=True)
    with clock.frozen_at(dt.datetime(2026, 6, 1, tzinfo=dt.UTC)):
        assert benefits_revoke(subscription=subscription) == 8
    assert benefits_revoke(subscription=subscription) == 0
    assert set(subscription.benefit_grants.values_list("revoked_at", flat=True)) == {
        dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    }


def test_a_revoked_benefit_can_no_longer_be_used(contoso, offer, bob):
    subscription = make_subscription(contoso, offer, benefits=True)
    load_keys(offer, 2)
    benefits_revoke(subscription=subscription)
    subscription.status = SubscriptionStatus.CANCELED
    subscription.save()

    with pytest.raises(BenefitError, match="no longer available"):
        product_key_issue(grant=grant_of(subscription, "windows-enterprise", term=1), actor=bob)


def test_a_renewal_grants_the_benefits_anew(contoso, offer, bob):
    subscription = make_subscription(contoso, offer, benefits=True)
    load_keys(offer, 3)
    product_key_issue(grant=grant_of(subscription, "windows-enterprise"), actor=bob)
    incidents = grant_of(subscription, "support-incidents")
    incidents.used_quantity = 4
    incidents.save()

    subscription = _renew(subscription, bob)

    line = {line.benefit.code: line for line in benefits_overview(organization=contoso).lines}
    assert subscription.term_number == 2
    assert line["windows-enterprise"].remaining == 10  # a fresh allocation of keys
    assert line["windows-enterprise"].grant.activated_at is None  # its own refund record
    assert line["support-incidents"].remaining == 10
    assert not BenefitGrant.objects.filter(
        subscription=subscription, term_number=1, revoked_at__isnull=True
    ).exists()


def test_a_renewal_keeps_online_services_running(contoso, offer, bob):
    subscription = make_subscription(contoso, offer, benefits=True)
    office = _activated(grant_of(subscription, "office-365-e3"), bob)
    seat_assign(grant=office, email="eve@contoso.example", actor=bob)

    subscription = _renew(subscription, bob)

    renewed = grant_of(subscription, "office-365-e3")
    assert renewed.term_number == 2
    assert renewed.activated_at == office.activated_at
    assert [seat.email for seat in renewed.assignments.all()] == ["eve@contoso.example"]


def _activated(grant, actor):
    return benefit_activate(grant=grant, actor=actor)
