"""Activating a software benefit is recorded with its time: it ends the 30-day refund eligibility."""

from __future__ import annotations

import datetime as dt

from billing.selectors.benefits import software_activation
from billing.services.benefits import benefit_activate, product_key_issue, seat_assign
from core import clock
from membership.models import AuditEvent
from tests.billing.benefits_setup import grant_of, load_keys
from tests.billing.factories import make_subscription

NOON = dt.datetime(2026, 4, 2, 12, 0, tzinfo=dt.UTC)


def test_getting_a_product_key_records_the_activation(contoso, offer, bob):
    load_keys(offer, 1)
    subscription = make_subscription(contoso, offer, benefits=True)

    with clock.frozen_at(NOON):
        product_key_issue(grant=grant_of(subscription, "windows-enterprise"), actor=bob)

    activation = software_activation(subscription=subscription, term_number=1)
    assert activation.benefit.code == "windows-enterprise"
    assert (activation.activated_at, activation.activated_by) == (NOON, bob)
    event = AuditEvent.objects.get(action=AuditEvent.Action.BENEFIT_ACTIVATED)
    assert (event.organization, event.actor, event.detail["software"]) == (contoso, bob, True)


def test_assigning_a_visual_studio_license_records_the_activation(contoso, offer, bob):
    subscription = make_subscription(contoso, offer, benefits=True)

    with clock.frozen_at(NOON):
        seat_assign(
            grant=grant_of(subscription, "visual-studio-pro"),
            email="dev@contoso.example",
            actor=bob,
        )

    assert software_activation(subscription=subscription, term_number=1).activated_at == NOON


def test_the_first_activation_is_the_one_kept(contoso, offer, bob, alice):
    load_keys(offer, 2)
    subscription = make_subscription(contoso, offer, benefits=True)
    grant = grant_of(subscription, "windows-enterprise")
    with clock.frozen_at(NOON):
        product_key_issue(grant=grant, actor=bob)
    with clock.frozen_at(NOON + dt.timedelta(days=3)):
        product_key_issue(grant=grant, actor=alice)

    activation = software_activation(subscription=subscription, term_number=1)
    assert (activation.activated_at, activation.activated_by) == (NOON, bob)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.BENEFIT_ACTIVATED).count() == 1


def test_online_services_and_azure_credit_do_not_end_refund_eligibility(contoso, offer, bob):
    subscription = make_subscription(contoso, offer, benefits=True)

    benefit_activate(grant=grant_of(subscription, "office-365-e3"), actor=bob)
    benefit_activate(grant=grant_of(subscription, "azure-credit"), actor=bob)

    assert grant_of(subscription, "azure-credit").activated_at is not None
    assert software_activation(subscription=subscription, term_number=1) is None


def test_nothing_activated_means_still_eligible(contoso, offer):
    subscription = make_subscription(contoso, offer, benefits=True)

    assert software_activation(subscription=subscription, term_number=1) is None
