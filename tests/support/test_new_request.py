"""Report Partner Center issues > New request: issue type, recommended solutions, details, Submit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from core import clock
from support.models import Attachment, RecommendedSolution, RequestChange, ServiceRequest
from tests.billing.factories import make_subscription
from tests.support.files import EXE, PNG, upload

URL = "/support/new/"
NOW = dt.datetime(2026, 5, 4, 9, 30, tzinfo=dt.UTC)


def details(**overrides) -> dict:
    data = {
        "issue_type": "technical",
        "title": "The offers page is blank",
        "description": "Since this morning the page shows nothing.",
        "severity": "B",
        "contact_email": "bob@contoso.example",
        "contact_phone": "+1 425 555 0100",
        "subscription": "",
        "order": "",
    }
    data.update(overrides)
    return data


def test_it_starts_with_the_issue_types(login, bob):
    response = login(bob).get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Issue type" in page
    assert "Help with partner invoice, payment or reconciliation file" in page
    assert "Technical problem with the portal" in page
    assert 'name="title"' not in page  # the details come after the issue type


def test_it_shows_the_recommended_solutions_before_the_details_form(login, bob):
    RecommendedSolution.objects.create(
        issue_type="invoice_payment", title="Download an invoice", body="Billing > Order history."
    )
    RecommendedSolution.objects.create(
        issue_type="technical", title="Clear your cache", body="Reload the page."
    )

    response = login(bob).get(URL, {"issue_type": "invoice_payment"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Download an invoice" in page
    assert "Clear your cache" not in page
    assert page.index("Download an invoice") < page.index('name="title"')
    assert "first response within 2 hours" in page  # severity A's target is shown
    assert "first response within 8 hours" in page


def test_it_shows_spanish_articles_to_a_spanish_reader(login, bob):
    bob.language = "es"
    bob.save()
    RecommendedSolution.objects.create(
        issue_type="other", title="Before", title_es="Antes de escribirnos", body="x", body_es="y"
    )

    page = login(bob).get(URL, {"issue_type": "other"}).content.decode()

    assert "Antes de escribirnos" in page


def test_an_unknown_issue_type_asks_again(login, bob):
    response = login(bob).get(URL, {"issue_type": "bogus"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_it_files_the_request_and_gives_its_number(
    login, bob, contoso, django_capture_on_commit_callbacks
):
    with clock.frozen_at(NOW), django_capture_on_commit_callbacks(execute=True):
        response = login(bob).post(URL, details())

    service_request = ServiceRequest.objects.get()
    assert response.status_code == 302
    assert response.url == f"/support/requests/{service_request.pk}/submitted/"
    assert (service_request.organization, service_request.requester) == (contoso, bob)
    assert (service_request.status, service_request.severity) == ("new", "B")
    assert service_request.first_response_due == NOW + dt.timedelta(hours=4)
    assert RequestChange.objects.get().field == "created"
    confirmation = login(bob).get(response.url).content.decode()
    assert f"SR-{service_request.pk:07d}" in confirmation
    assert sorted(message.to[0] for message in mail.outbox) == [
        "bob@contoso.example",
        "support@partnerportal.example",
    ]
    assert f"SR-{service_request.pk:07d}" in mail.outbox[0].subject


def test_it_emails_the_contact_address_too_when_it_differs(
    login, bob, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        login(bob).post(URL, details(contact_email="helpdesk@contoso.example"))

    assert {m.to[0] for m in mail.outbox} >= {"bob@contoso.example", "helpdesk@contoso.example"}


def test_it_accepts_the_cancel_subscription_prefill(login, bob, contoso, offer):
    subscription = make_subscription(contoso, offer, started_on=dt.date(2026, 4, 1))

    response = login(bob).get(
        URL, {"issue_type": "invoice_payment", "subscription": subscription.pk}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Help with partner invoice, payment or reconciliation file" in page
    assert f'<option value="{subscription.pk}" selected>' in page
    assert "Cancel my subscription: Microsoft Action Pack subscription" in page


def test_it_does_not_prefill_another_organizations_subscription(login, bob, fabrikam, offer):
    theirs = make_subscription(fabrikam, offer, started_on=dt.date(2026, 4, 1))

    page = (
        login(bob)
        .get(URL, {"issue_type": "invoice_payment", "subscription": theirs.pk})
        .content.decode()
    )

    assert f'value="{theirs.pk}"' not in page


def test_it_refuses_another_organizations_subscription(login, bob, fabrikam, offer):
    theirs = make_subscription(fabrikam, offer, started_on=dt.date(2026, 4, 1))

    response = login(bob).post(URL, details(subscription=theirs.pk))

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not ServiceRequest.objects.exists()


def test_it_links_the_subscription_and_order(login, bob, contoso, offer):
    subscription = make_subscription(contoso, offer, started_on=dt.date(2026, 4, 1))
    order = subscription.orders.get()

    login(bob).post(URL, details(subscription=subscription.pk, order=order.pk))

    service_request = ServiceRequest.objects.get()
    assert (service_request.subscription, service_request.order) == (subscription, order)


def test_it_keeps_attachments_by_their_content_outside_media_root(login, bob, private_media):
    response = login(bob).post(
        URL, {**details(), "attachments": [upload("screen.png", PNG, "text/plain")]}
    )

    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert (attachment.original_name, attachment.content_type) == ("screen.png", "image/png")
    assert (attachment.size, attachment.message) == (len(PNG), None)
    stored = private_media / attachment.file.name
    assert stored.read_bytes() == PNG


def test_it_explains_a_refused_file_and_files_nothing(login, bob):
    response = login(bob).post(
        URL, {**details(), "attachments": [upload("invoice.pdf", EXE, "application/pdf")]}
    )

    assert response.status_code == 400
    assert "“invoice.pdf” is not a file type we accept" in response.content.decode()
    assert not ServiceRequest.objects.exists()


def test_it_explains_the_size_limit(login, bob, settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 1024

    response = login(bob).post(
        URL, {**details(), "attachments": [upload("log.txt", b"x" * 2048, "text/plain")]}
    )

    assert response.status_code == 400
    assert "“log.txt” is 2.0\xa0KB; the limit is 1.0\xa0KB per file." in response.content.decode()


def test_it_requires_the_details(login, bob):
    response = login(bob).post(URL, details(title="", contact_email="not-an-email"))

    assert response.status_code == 400
    assert not ServiceRequest.objects.exists()


def test_it_rejects_other_methods(login, bob):
    assert login(bob).put(URL).status_code == 405


@pytest.mark.parametrize("person", ["alice", "bob", "bea", "axel"])
def test_every_role_may_file(login, person, request):
    user = request.getfixturevalue(person)

    response = login(user).post(URL, details(contact_email=user.email))

    assert response.status_code == 302
    assert ServiceRequest.objects.get().requester == user


def test_a_member_without_a_role_is_told_why(login, victor, alice):
    response = login(victor).get(URL)

    page = response.content.decode()
    assert response.status_code == 403
    assert "Your role doesn't let you file support requests." in page
    assert "MPN partner admin" in page
    assert "Alice Admin" in page  # the Global admin to ask


def test_a_member_without_a_role_cannot_post(login, victor):
    response = login(victor).post(URL, details(contact_email=victor.email))

    assert response.status_code == 403
    assert not ServiceRequest.objects.exists()


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_staff_without_an_organization_are_refused(login, agent):
    assert login(agent).get(URL).status_code == 403
