"""The case list staff live in: columns, filters, search, newest activity first, and a query
count that does not grow with the number of cases."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import clock
from support.models import Message, ServiceRequest

URL = "/admin/support/servicerequest/"
NOW = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC)


def make_cases(count: int, *, organization, requester, assignee=None, **fields) -> list:
    start = ServiceRequest.objects.count()
    cases = ServiceRequest.objects.bulk_create(
        [
            ServiceRequest(
                organization=organization,
                requester=requester,
                assignee=assignee if number % 2 else None,
                issue_type=["technical", "invoice_payment", "other"][number % 3],
                title=f"Case number {start + number}",
                description="…",
                severity="ABC"[number % 3],
                contact_email=requester.email,
                created_at=NOW,
                last_activity_at=NOW - dt.timedelta(minutes=start + number),
                first_response_due=NOW + dt.timedelta(hours=2),
                **fields,
            )
            for number in range(count)
        ]
    )
    Message.objects.bulk_create(
        [Message(request=case, author=requester, body="More details") for case in cases]
    )
    return cases


def listed_numbers(response) -> list[str]:
    """The case numbers of the list's rows, in order (each row links its number)."""
    return re.findall(r'/change/[^"]*">(SR-\d{7})</a>', response.content.decode())


def test_the_changelist_costs_the_same_queries_for_10_and_500_cases(
    login, support_agent, bob, contoso
):
    client = login(support_agent)
    make_cases(10, organization=contoso, requester=bob, assignee=support_agent)
    client.get(URL)  # warm-up: sessions, content types

    with clock.frozen_at(NOW), CaptureQueriesContext(connection) as with_10:
        assert client.get(URL).status_code == 200
    make_cases(490, organization=contoso, requester=bob, assignee=support_agent)
    with clock.frozen_at(NOW), CaptureQueriesContext(connection) as with_500:
        response = client.get(URL)

    assert response.status_code == 200
    assert len(listed_numbers(response)) == 50  # one page
    assert len(with_10) == len(with_500), [q["sql"] for q in with_500.captured_queries]
    assert len(with_500) <= 12
    # No COUNT(*) of the whole table: only the filtered page count Django needs.
    assert sum("COUNT(*)" in q["sql"] for q in with_500.captured_queries) <= 1


def test_it_lists_the_columns_staff_need(login, support_agent, bob, contoso, file_request):
    case = file_request(bob, contoso, title="Wrong VAT on invoice", severity="A")

    page = login(support_agent).get(URL).content.decode()

    for text in (case.number, "Wrong VAT on invoice", "Contoso Ltd", "New", "A"):
        assert text in page
    assert "Technical problem with the portal" in page


def test_newest_activity_comes_first(login, support_agent, bob, contoso):
    old, new = make_cases(2, organization=contoso, requester=bob)
    ServiceRequest.objects.filter(pk=old.pk).update(last_activity_at=NOW + dt.timedelta(hours=1))

    assert listed_numbers(login(support_agent).get(URL))[:2] == [old.number, new.number]


@pytest.mark.parametrize(
    "search",
    ["SR-{pk:07d}", "sr-{pk:07d}", "{pk}", "Contoso", "1000001", "bob@contoso.example", "VAT"],
)
def test_it_finds_a_case_by(
    login, support_agent, bob, contoso, charlie, fabrikam, file_request, search
):
    case = file_request(bob, contoso, title="Wrong VAT on invoice")
    other = file_request(charlie, fabrikam, title="Something else")

    numbers = listed_numbers(login(support_agent).get(URL, {"q": search.format(pk=case.pk)}))

    assert case.number in numbers
    assert other.number not in numbers


def test_it_filters_by_assignee_including_unassigned(login, support_agent, bob, contoso):
    mine, unassigned = make_cases(2, organization=contoso, requester=bob)
    ServiceRequest.objects.filter(pk=mine.pk).update(assignee=support_agent)
    client = login(support_agent)

    assert listed_numbers(client.get(URL, {"assignee": "me"})) == [mine.number]
    assert listed_numbers(client.get(URL, {"assignee": "none"})) == [unassigned.number]
    assert listed_numbers(client.get(URL, {"assignee": str(support_agent.pk)})) == [mine.number]


def test_it_filters_by_status_issue_type_and_severity(login, support_agent, bob, contoso):
    technical, invoice, other = make_cases(3, organization=contoso, requester=bob)
    ServiceRequest.objects.filter(pk=other.pk).update(status="closed")
    client = login(support_agent)

    assert listed_numbers(client.get(URL, {"status": "closed"})) == [other.number]
    assert other.number not in listed_numbers(client.get(URL, {"status": "open"}))
    assert listed_numbers(client.get(URL, {"issue_type__exact": "invoice_payment"})) == [
        invoice.number
    ]
    assert listed_numbers(client.get(URL, {"severity__exact": "A"})) == [technical.number]


def test_it_filters_responses_due_within_an_hour_and_overdue(login, support_agent, bob, contoso):
    soon, overdue, later, answered = make_cases(4, organization=contoso, requester=bob)
    ServiceRequest.objects.filter(pk=soon.pk).update(
        first_response_due=NOW + dt.timedelta(minutes=40)
    )
    ServiceRequest.objects.filter(pk=overdue.pk).update(
        first_response_due=NOW - dt.timedelta(minutes=5)
    )
    ServiceRequest.objects.filter(pk=answered.pk).update(
        first_response_due=NOW - dt.timedelta(hours=1),
        first_responded_at=NOW - dt.timedelta(hours=2),
    )
    client = login(support_agent)

    with clock.frozen_at(NOW):
        due_soon = listed_numbers(client.get(URL, {"response": "soon"}))
        late = client.get(URL, {"response": "overdue"})

    assert due_soon == [soon.number]
    assert listed_numbers(late) == [overdue.number]
    assert "overdue" in late.content.decode()


def test_list_actions_work_many_cases_at_once(login, support_agent, bob, contoso):
    first, second = make_cases(2, organization=contoso, requester=bob)

    login(support_agent).post(
        URL, {"action": "assign_to_me", "_selected_action": [first.pk, second.pk]}
    )

    assert set(ServiceRequest.objects.values_list("assignee", flat=True)) == {support_agent.pk}


def test_staff_without_case_permissions_are_refused(login, agent):
    assert login(agent).get(URL).status_code == 403
