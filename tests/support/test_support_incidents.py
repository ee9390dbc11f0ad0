"""Technical support for a Microsoft product uses one of the organization's technical support
incidents (10 a term with the Action Pack); staff give one back when the case was not a product
issue; the count starts again with each term. docs/product.md, "Support requests"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from billing.models import Order, OrderKind, OrderStatus, SubscriptionStatus
from billing.selectors.benefits import support_incidents_remaining
from billing.services.benefits import BenefitError
from billing.services.expiry import subscription_expire
from billing.services.payment_outcomes import order_mark_paid
from billing.stripe_gateway import PaymentIntentResult
from core import clock
from membership.models import AuditEvent
from support.models import IssueType, Message, RequestChange, ServiceRequest
from support.services import service_request_give_back_incident
from tests.billing.benefits_setup import grant_of
from tests.billing.factories import make_subscription

PRODUCT_SUPPORT = IssueType.PRODUCT_SUPPORT


@pytest.fixture
def action_pack(contoso, offer):
    return make_subscription(contoso, offer, benefits=True)


def incidents_of(subscription):
    return grant_of(subscription, "support-incidents")


def leave(subscription, left: int) -> None:
    """Use all but ``left`` of the term's incidents."""
    grant = incidents_of(subscription)
    grant.used_quantity = grant.quantity - left
    grant.save(update_fields=["used_quantity"])


def test_technical_product_support_uses_one_incident(file_request, contoso, bob, action_pack):
    case = file_request(bob, contoso, issue_type=PRODUCT_SUPPORT)

    grant = incidents_of(action_pack)
    assert (grant.quantity, grant.used_quantity) == (10, 1)
    assert case.support_incident == grant
    assert support_incidents_remaining(organization=contoso) == 9
    event = AuditEvent.objects.get(action=AuditEvent.Action.SUPPORT_INCIDENT_USED)
    assert (event.organization, event.actor, event.target) == (contoso, bob, case.number)
    assert event.detail == {
        "subscription": action_pack.pk,
        "term": 1,
        "used": 1,
        "quantity": 10,
    }
    assert case.changes.filter(field="support_incident_used", new_value="9").exists()


def test_other_issue_types_use_no_incident(file_request, contoso, bob, action_pack):
    for issue_type in set(IssueType.values) - {PRODUCT_SUPPORT}:
        case = file_request(bob, contoso, issue_type=issue_type)
        assert case.support_incident is None

    assert support_incidents_remaining(organization=contoso) == 10
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SUPPORT_INCIDENT_USED).exists()


def test_the_last_incident_can_be_used(file_request, contoso, bob, action_pack):
    leave(action_pack, 1)

    file_request(bob, contoso, issue_type=PRODUCT_SUPPORT)

    assert support_incidents_remaining(organization=contoso) == 0


def test_at_zero_it_refuses_and_files_nothing(file_request, contoso, bob, action_pack):
    leave(action_pack, 0)

    with pytest.raises(BenefitError) as refused:
        file_request(bob, contoso, issue_type=PRODUCT_SUPPORT)

    assert refused.value.code == "none_left"
    assert "used all 10 technical support incidents" in refused.value.messages[0]
    assert not ServiceRequest.objects.exists()
    assert not RequestChange.objects.exists()
    assert incidents_of(action_pack).used_quantity == 10
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SUPPORT_INCIDENT_USED).exists()
    assert mail.outbox == []


def test_without_an_action_pack_it_refuses_and_files_nothing(file_request, contoso, bob):
    """Decision (docs/product.md): the issue type is offered to everyone, so that partners find
    it; without a live Action Pack there are no incidents, and nothing is filed."""
    with pytest.raises(BenefitError) as refused:
        file_request(bob, contoso, issue_type=PRODUCT_SUPPORT)

    assert refused.value.code == "not_available"
    assert not ServiceRequest.objects.exists()
    assert support_incidents_remaining(organization=contoso) is None


def test_a_past_due_action_pack_still_gives_incidents(file_request, contoso, bob, action_pack):
    action_pack.status = SubscriptionStatus.PAST_DUE
    action_pack.save(update_fields=["status"])

    file_request(bob, contoso, issue_type=PRODUCT_SUPPORT)

    assert support_incidents_remaining(organization=contoso) == 9


def test_an_expired_action_pack_gives_none(file_request, contoso, bob, offer):
    subscription = make_subscription(
        contoso, offer, started_on=dt.date(2025, 3, 10), benefits=True, status="past_due"
    )
    subscription_expire(subscription=subscription, today=dt.date(2026, 4, 10))

    with pytest.raises(BenefitError):
        file_request(bob, contoso, issue_type=PRODUCT_SUPPORT)

    assert not ServiceRequest.objects.exists()


def test_another_organizations_incidents_are_their_own(
    file_request, contoso, fabrikam, bob, charlie, offer, action_pack
):
    theirs = make_subscription(fabrikam, offer, benefits=True)
    leave(theirs, 0)

    file_request(bob, contoso, issue_type=PRODUCT_SUPPORT)
    with pytest.raises(BenefitError):
        file_request(charlie, fabrikam, issue_type=PRODUCT_SUPPORT)

    assert support_incidents_remaining(organization=contoso) == 9
    assert support_incidents_remaining(organization=fabrikam) == 0


def _renewal_paid(subscription) -> None:
    """The next term paid, through billing's own service (as the billing cycle does)."""
    order = Order.objects.create(
        organization=subscription.organization,
        offer=subscription.offer,
        subscription=subscription,
        kind=OrderKind.RENEWAL,
        term_number=subscription.term_number + 1,
        amount=47500,
        currency="USD",
        status=OrderStatus.PROCESSING,
    )
    intent = PaymentIntentResult(
        id=f"pi_test_{order.pk}",
        status="succeeded",
        amount=order.amount,
        currency="usd",
        client_secret="",
        customer=None,
        payment_method=None,
    )
    order_mark_paid(order=order, attempt=None, intent=intent)


def _on_the_anniversary(subscription):
    anniversary = subscription.current_term_end
    return clock.frozen_at(dt.datetime.combine(anniversary, dt.time(9), tzinfo=dt.UTC))


def test_the_count_starts_again_with_a_new_term(file_request, contoso, bob, offer):
    subscription = make_subscription(
        contoso, offer, anniversary=clock.today() + dt.timedelta(days=5), benefits=True
    )
    leave(subscription, 0)

    with _on_the_anniversary(subscription):
        _renewal_paid(subscription)
        file_request(bob, contoso, issue_type=PRODUCT_SUPPORT)

    subscription.refresh_from_db()
    assert subscription.term_number == 2
    assert incidents_of(subscription).used_quantity == 1
    assert support_incidents_remaining(organization=contoso) == 9
    assert grant_of(subscription, "support-incidents", term=1).used_quantity == 10


# Giving an incident back --------------------------------------------------------------------


@pytest.fixture
def product_case(file_request, contoso, bob, action_pack):
    return file_request(bob, contoso, issue_type=PRODUCT_SUPPORT)


def test_staff_give_an_incident_back(product_case, support_agent, contoso, action_pack):
    service_request_give_back_incident(
        service_request=product_case, actor=support_agent, reason="A portal problem, not Windows."
    )

    assert support_incidents_remaining(organization=contoso) == 10
    product_case.refresh_from_db()
    assert product_case.support_incident_given_back_at is not None
    event = AuditEvent.objects.get(action=AuditEvent.Action.SUPPORT_INCIDENT_GIVEN_BACK)
    assert (event.organization, event.actor, event.target) == (
        contoso,
        support_agent,
        product_case.number,
    )
    assert event.detail["reason"] == "A portal problem, not Windows."
    assert event.detail["used"] == 0
    note = Message.objects.get(request=product_case, is_internal=True)
    assert "A portal problem, not Windows." in note.body
    change = product_case.changes.get(field="support_incident_given_back")
    assert change.is_public  # the partner's timeline says so; the reason stays internal


def test_an_incident_is_given_back_once_per_case(product_case, support_agent, contoso):
    service_request_give_back_incident(
        service_request=product_case, actor=support_agent, reason="Not a product issue."
    )

    with pytest.raises(ValidationError, match="given back already"):
        service_request_give_back_incident(
            service_request=product_case, actor=support_agent, reason="Twice?"
        )

    assert support_incidents_remaining(organization=contoso) == 10
    assert (
        AuditEvent.objects.filter(action=AuditEvent.Action.SUPPORT_INCIDENT_GIVEN_BACK).count() == 1
    )


def test_a_case_that_used_no_incident_gives_nothing_back(
    file_request, contoso, bob, support_agent, action_pack
):
    case = file_request(bob, contoso, issue_type=IssueType.TECHNICAL)

    with pytest.raises(ValidationError, match="did not use a support incident"):
        service_request_give_back_incident(
            service_request=case, actor=support_agent, reason="Nothing to give."
        )

    assert support_incidents_remaining(organization=contoso) == 10


def test_giving_back_needs_a_reason(product_case, support_agent, contoso):
    with pytest.raises(ValidationError, match="Say why"):
        service_request_give_back_incident(
            service_request=product_case, actor=support_agent, reason="   "
        )

    assert support_incidents_remaining(organization=contoso) == 9


def test_only_staff_give_back(product_case, bob, contoso):
    with pytest.raises(PermissionDenied):
        service_request_give_back_incident(
            service_request=product_case, actor=bob, reason="I would like it back."
        )

    assert support_incidents_remaining(organization=contoso) == 9


def test_an_incident_of_an_ended_term_is_not_given_back(
    file_request, contoso, bob, support_agent, offer
):
    """The new term brought a full count already: giving the old one back would add one."""
    subscription = make_subscription(
        contoso, offer, anniversary=clock.today() + dt.timedelta(days=5), benefits=True
    )
    case = file_request(bob, contoso, issue_type=PRODUCT_SUPPORT)
    with _on_the_anniversary(subscription):
        _renewal_paid(subscription)

    with pytest.raises(ValidationError, match="term this incident was counted in has ended"):
        service_request_give_back_incident(
            service_request=case, actor=support_agent, reason="Not a product issue."
        )

    assert support_incidents_remaining(organization=contoso) == 10
    case.refresh_from_db()
    assert case.support_incident_given_back_at is None
