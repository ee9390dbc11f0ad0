"""Cancel a subscription from its own admin pages: the list action and the cancel page."""

from __future__ import annotations

import pytest

from tests.billing.cancellation_setup import purchase_order, subscription_bought
from tests.support.admin_forms import form_data
from tests.support.staff import billing_specialist_create, staff_group

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing_specialist(db):
    return billing_specialist_create()


LIST_URL = "/admin/billing/subscription/"


@pytest.fixture
def bought(localstripe, contoso, offer, bob):
    return subscription_bought(localstripe, contoso, offer, bob)


def test_the_list_action_asks_then_cancels_with_the_refund(
    login, billing_specialist, bought, localstripe
):
    client = login(billing_specialist)

    confirm = client.post(
        LIST_URL, {"action": "subscription_cancel_action", "_selected_action": [bought.pk]}
    )

    page = confirm.content.decode()
    assert confirm.status_code == 200
    assert "Full refund of $475.00" in page
    data = form_data(page, "cancel-subscription-form")
    data.update({"when": "term_end", "reason": "Partner moves to a competency"})
    done = client.post(LIST_URL, data)

    assert done.status_code == 302
    bought.refresh_from_db()
    assert (bought.status, bought.cancel_at_term_end) == ("active", True)
    order = purchase_order(bought)
    refunds = localstripe.refunds(payment_intent=order.stripe_payment_intent_id)
    assert [refund["amount"] for refund in refunds] == [47500]


def test_the_cancel_page_of_a_subscription(login, billing_specialist, bought):
    client = login(billing_specialist)
    url = f"/admin/billing/subscription/{bought.pk}/cancel/"
    data = form_data(client.get(url).content.decode(), "cancel-subscription-form")
    data.update({"refund": "none", "reason": "Duplicate subscription"})

    response = client.post(url, data)

    assert response.url == f"/admin/billing/subscription/{bought.pk}/change/"
    bought.refresh_from_db()
    assert bought.status == "canceled"
    assert not purchase_order(bought).refunds.exists()


def test_staff_without_the_cancel_permission_cannot(login, agent, bought):
    agent.groups.add(staff_group("Support agent"))
    client = login(agent)

    response = client.post(
        LIST_URL, {"action": "subscription_cancel_action", "_selected_action": [bought.pk]}
    )
    assert client.get(f"/admin/billing/subscription/{bought.pk}/cancel/").status_code == 403

    assert response.status_code == 302
    bought.refresh_from_db()
    assert bought.status == "active"


def test_one_subscription_at_a_time(login, billing_specialist, bought, fabrikam, offer):
    from tests.billing.factories import make_subscription

    other = make_subscription(fabrikam, offer, started_on=bought.started_on)

    response = login(billing_specialist).post(
        LIST_URL,
        {"action": "subscription_cancel_action", "_selected_action": [bought.pk, other.pk]},
        follow=True,
    )

    assert "Select one subscription to cancel." in response.content.decode()
