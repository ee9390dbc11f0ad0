"""The case page's "Give back the support incident": staff give the organization its incident
back when the case was not a product issue, with a reason, once per case."""

from __future__ import annotations

import pytest

from billing.selectors.benefits import support_incidents_remaining
from membership.models import AuditEvent
from support.models import IssueType
from tests.billing.factories import make_subscription


def case_url(case) -> str:
    return f"/admin/support/servicerequest/{case.pk}/change/"


def give_back_url(case) -> str:
    return f"/admin/support/servicerequest/{case.pk}/give-back-incident/"


@pytest.fixture
def product_case(file_request, contoso, offer, bob):
    make_subscription(contoso, offer, benefits=True)
    return file_request(bob, contoso, issue_type=IssueType.PRODUCT_SUPPORT)


def test_the_case_page_offers_it_and_shows_the_incident(login, support_agent, product_case):
    page = login(support_agent).get(case_url(product_case)).content.decode()

    assert "Give back the support incident" in page
    assert give_back_url(product_case) in page
    assert "Used one of term 1&#x27;s 10 incidents" in page


def test_it_asks_for_a_reason_first(login, support_agent, product_case, contoso):
    response = login(support_agent).get(give_back_url(product_case))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="reason"' in page
    assert product_case.number in page
    assert support_incidents_remaining(organization=contoso) == 9


def test_it_gives_the_incident_back(login, support_agent, product_case, contoso):
    client = login(support_agent)

    response = client.post(give_back_url(product_case), {"reason": "A portal bug."}, follow=True)

    page = response.content.decode()
    assert "was given back to Contoso Ltd" in page
    assert support_incidents_remaining(organization=contoso) == 10
    event = AuditEvent.objects.get(action=AuditEvent.Action.SUPPORT_INCIDENT_GIVEN_BACK)
    assert (event.actor, event.detail["reason"]) == (support_agent, "A portal bug.")
    assert give_back_url(product_case) not in client.get(case_url(product_case)).content.decode()


def test_a_second_give_back_is_refused(login, support_agent, product_case, contoso):
    client = login(support_agent)
    client.post(give_back_url(product_case), {"reason": "A portal bug."})

    response = client.post(give_back_url(product_case), {"reason": "Again."}, follow=True)

    assert "given back already" in response.content.decode()
    assert support_incidents_remaining(organization=contoso) == 10


def test_an_empty_reason_is_refused(login, support_agent, product_case, contoso):
    response = login(support_agent).post(give_back_url(product_case), {"reason": ""})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert support_incidents_remaining(organization=contoso) == 9


def test_a_case_without_an_incident_has_no_button(login, support_agent, file_request, bob, contoso):
    case = file_request(bob, contoso)

    assert "Give back the support incident" not in (
        login(support_agent).get(case_url(case)).content.decode()
    )


def test_partners_cannot_reach_it(login, alice, product_case, contoso):
    response = login(alice).post(give_back_url(product_case), {"reason": "Please."})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert support_incidents_remaining(organization=contoso) == 9
