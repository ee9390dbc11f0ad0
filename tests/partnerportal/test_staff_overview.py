"""The staff overview, the admin's first page: who sees it, what it links to, what it costs."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from billing.models import Subscription, SubscriptionStatus
from core import clock
from membership.models import Organization
from tests.billing.factories import make_subscription
from tests.support.staff import billing_specialist_create, staff_group

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)
TODAY = NOW.date()
INDEX = "/admin/"


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.set_now(NOW)
    yield
    clock.set_now(None)


@pytest.fixture
def billing_specialist(db):
    return billing_specialist_create()


@pytest.fixture
def past_due(contoso, offer):
    """Contoso's Action Pack, 5 days past its anniversary: 25 days of grace left."""
    clock.set_now(NOW)
    return make_subscription(
        contoso, offer, anniversary=TODAY - dt.timedelta(days=5), status=SubscriptionStatus.PAST_DUE
    )


def links(html: str) -> set[str]:
    return {href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', html)}


def test_it_shows_the_overview_above_the_models(login, billing_specialist, past_due):
    response = login(billing_specialist).get(INDEX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Billing cycle today" in html
    assert html.index("Billing cycle today") < html.index("Everything staff work on")
    # Every chart is drawn, with its text alternative.
    assert html.count('role="img"') == html.count("<details") >= 3
    assert 'class="chart-bar"' in html
    assert "Contoso Ltd" in html and ">25<" in html  # days of grace left


def test_past_due_links_to_the_filtered_subscription_list(login, billing_specialist, past_due):
    client = login(billing_specialist)
    html = client.get(INDEX).content.decode()
    past_due_list = next(url for url in links(html) if "anniversary=grace" in url)

    response = client.get(past_due_list)

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [past_due]


def test_every_figure_link_opens_its_list(login, billing_specialist, past_due):
    client = login(billing_specialist)
    html = client.get(INDEX).content.decode()
    figure_links = [url for url in links(html) if url.startswith("/admin/") and "?" in url]

    assert len(figure_links) > 20
    for url in figure_links:
        response = client.get(url)
        # A filter the admin does not allow is answered with a redirect to "?e=1".
        assert response.status_code == 200, url


def test_revenue_links_to_the_month_of_invoices(login, billing_specialist, past_due):
    client = login(billing_specialist)
    html = client.get(INDEX).content.decode()
    month = past_due.current_term_start
    url = next(
        url
        for url in links(html)
        if f"issued_at__year={month.year}&issued_at__month={month.month}" in url
    )

    response = client.get(url)

    assert [invoice.order.subscription for invoice in response.context["cl"].result_list] == [
        past_due
    ]


def test_it_is_in_spanish(login, billing_specialist, past_due):
    billing_specialist.language = "es"
    billing_specialist.save()
    client = login(billing_specialist)

    html = client.get(INDEX, headers={"accept-language": "es"}).content.decode()

    assert "Ciclo de facturación de hoy" in html
    assert "dic 26" in html.lower() or "dic. 26" in html.lower()


def test_staff_without_the_permission_see_the_models_only(login, agent):
    agent.groups.add(staff_group("Support agent"))
    agent.groups.get().permissions.filter(codename="view_overview").delete()

    response = login(agent).get(INDEX)

    assert response.status_code == 200
    assert "Billing cycle today" not in response.content.decode()
    assert "overview" not in response.context


def test_it_refuses_a_partner(login, alice):
    client = login(alice)

    response = client.get(INDEX, follow=True)

    assert response.status_code == 403
    assert "Billing cycle today" not in response.content.decode()


def test_it_makes_as_many_queries_for_10_subscriptions_as_for_10000(
    login, billing_specialist, offer
):
    clock.set_now(NOW)
    client = login(billing_specialist)

    def add(count: int, first: int) -> None:
        organizations = Organization.objects.bulk_create(
            Organization(
                name=f"Partner {number}",
                partner_id=f"{4000000 + number}",
                country="US" if number % 2 else "ES",
                currency="USD" if number % 2 else "EUR",
                network_member_since=dt.date(2024, 1, 1),
            )
            for number in range(first, first + count)
        )
        Subscription.objects.bulk_create(
            Subscription(
                organization=organization,
                offer=offer,
                status=[SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE][number % 2],
                started_on=TODAY - dt.timedelta(days=365 + number % 300),
                current_term_start=TODAY - dt.timedelta(days=number % 300),
                current_term_end=TODAY + dt.timedelta(days=65 - number % 300),
                ended_on=None,
            )
            for number, organization in enumerate(organizations)
        )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(INDEX).status_code == 200
        return len(captured)

    add(10, 0)
    with translation.override("en"):
        few = queries()
    add(9_990, 10)
    with translation.override("en"):
        many = queries()

    # The whole request: sign-in, permissions, the admin's sidebar and the overview's figures.
    assert few == many <= 20
