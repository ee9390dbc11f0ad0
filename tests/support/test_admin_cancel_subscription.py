"""Cancel subscription from a case (billing specialists only): the refund rule shown, the
refund made through Stripe, and both on the case's timeline."""

from __future__ import annotations

import pytest
from django.core import mail

from billing.models import Refund
from support.models import Message, RequestChange
from tests.billing.cancellation_setup import purchase_order, subscription_bought
from tests.support.admin_forms import form_data


def cancel_url(case) -> str:
    return f"/admin/support/servicerequest/{case.pk}/cancel-subscription/"


@pytest.fixture
def bought(localstripe, contoso, offer, bob):
    return subscription_bought(localstripe, contoso, offer, bob)


@pytest.fixture
def case(bob, contoso, bought, file_request):
    return file_request(
        bob,
        contoso,
        issue_type="invoice_payment",
        title="Cancel my subscription",
        subscription=bought,
    )


def test_the_case_page_offers_cancel_subscription(login, billing_specialist, case):
    page = login(billing_specialist).get(f"/admin/support/servicerequest/{case.pk}/change/")

    assert cancel_url(case) in page.content.decode()


def test_the_form_shows_the_refund_rule(login, billing_specialist, case):
    page = login(billing_specialist).get(cancel_url(case)).content.decode()

    assert "Full refund of $475.00" in page
    assert "Apply the refund rule: full refund of $475.00" in page
    assert "At the end of the term, on" in page


def test_it_cancels_refunds_and_tells_the_partner_on_the_case(
    login, billing_specialist, case, bought, localstripe, django_capture_on_commit_callbacks
):
    client = login(billing_specialist)
    data = form_data(client.get(cancel_url(case)).content.decode(), "cancel-subscription-form")
    data["reason"] = "Requested by the partner"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(cancel_url(case), data)

    assert response.status_code == 302
    assert response.url == f"/admin/support/servicerequest/{case.pk}/change/"
    bought.refresh_from_db()
    assert bought.status == "canceled"
    order = purchase_order(bought)
    assert [
        r["amount"] for r in localstripe.refunds(payment_intent=order.stripe_payment_intent_id)
    ] == [47500]
    assert Refund.objects.get().created_by == billing_specialist
    public = RequestChange.objects.filter(request=case, is_public=True).values_list(
        "field", flat=True
    )
    assert {"subscription_canceled", "refund"} <= set(public)
    note = Message.objects.get(request=case)
    assert (note.is_internal, note.body) == (True, "Cancellation reason: Requested by the partner")
    assert "bob@contoso.example" in {m.to[0] for m in mail.outbox}
    timeline = login(case.requester).get(f"/support/requests/{case.pk}/").content.decode()
    assert "Subscription canceled" in timeline
    assert "Refund of $475.00 issued" in timeline
    assert "Cancellation reason" not in timeline


def test_a_chosen_amount_over_the_charge_is_refused(login, billing_specialist, case, bought):
    client = login(billing_specialist)
    data = form_data(client.get(cancel_url(case)).content.decode(), "cancel-subscription-form")
    data.update({"refund": "amount", "amount": "500.00", "reason": "x"})

    response = client.post(cancel_url(case), data)

    assert response.status_code == 200
    assert "At most $475.00 can be refunded." in response.content.decode()
    bought.refresh_from_db()
    assert bought.status == "active"


def test_support_agents_may_not_cancel(login, support_agent, case, bought):
    client = login(support_agent)

    assert client.get(cancel_url(case)).status_code == 403
    assert (
        client.post(cancel_url(case), {"when": "now", "refund": "rule", "reason": "x"}).status_code
        == 403
    )
    bought.refresh_from_db()
    assert bought.status == "active"


def test_a_case_without_subscription_has_nothing_to_cancel(
    login, billing_specialist, bob, contoso, file_request
):
    case = file_request(bob, contoso)

    response = login(billing_specialist).get(cancel_url(case))

    assert response.status_code == 302
