"""The staff's order list at scale: a bounded count, and searches for identifiers that use an
index (``core.admin.LargeTableAdmin``; timed at 100,000 orders by bench/admin_lists.py)."""

from __future__ import annotations

import pytest

from billing.models import Order, PaymentAttempt
from core import admin as core_admin
from tests.billing.factories import make_subscription

pytestmark = pytest.mark.django_db

URL = "/admin/billing/order/"


def listed(response) -> list[Order]:
    return list(response.context["cl"].result_list)


def test_a_long_list_is_counted_no_further_than_the_cap(login, root, contoso, offer, monkeypatch):
    for _term in range(3):
        make_subscription(contoso, offer, status="expired")  # each with its paid purchase order
    monkeypatch.setattr(core_admin, "COUNT_CAP", 2)

    page = login(root).get(URL)

    assert page.status_code == 200
    assert "More than 2 orders: narrow them with a filter or a search." in page.content.decode()
    assert len(listed(page)) == 3  # the page itself still shows every row it holds


def test_it_finds_an_order_by_a_payment_intent_of_any_of_its_attempts(
    login, root, contoso, fabrikam, offer
):
    mine = make_subscription(contoso, offer).orders.get()
    make_subscription(fabrikam, offer)
    PaymentAttempt.objects.create(
        order=mine, number=9, idempotency_key="test-9", stripe_payment_intent_id="pi_OlderAttempt1"
    )

    assert listed(login(root).get(URL, {"q": "pi_OlderAttempt1"})) == [mine]


@pytest.mark.parametrize("search", ["{number}", "{lower}", "1000001", "Contoso"])
def test_it_finds_an_order_by(login, root, contoso, fabrikam, offer, search):
    mine = make_subscription(contoso, offer).orders.get()
    make_subscription(fabrikam, offer)
    number = mine.invoice_number

    found = listed(login(root).get(URL, {"q": search.format(number=number, lower=number.lower())}))

    assert found == [mine]
