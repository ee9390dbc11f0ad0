"""New request > Technical support for a Microsoft product: the form says how many of the
term's incidents are left, refuses politely at zero and shows where more come from."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from core import clock
from support.models import IssueType, ServiceRequest
from tests.billing.benefits_setup import grant_of
from tests.billing.factories import make_subscription

URL = "/support/new/"
PRODUCT_SUPPORT = IssueType.PRODUCT_SUPPORT.value


def details(**overrides) -> dict:
    data = {
        "issue_type": PRODUCT_SUPPORT,
        "title": "Windows 10 Enterprise does not activate",
        "description": "Error 0xC004F074 on every machine.",
        "severity": "B",
        "contact_email": "bob@contoso.example",
        "subscription": "",
        "order": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def action_pack(contoso, offer):
    return make_subscription(contoso, offer, benefits=True)


def leave(subscription, left: int) -> None:
    grant = grant_of(subscription, "support-incidents")
    grant.used_quantity = grant.quantity - left
    grant.save(update_fields=["used_quantity"])


def test_the_issue_type_is_offered(login, bob):
    page = login(bob).get(URL).content.decode()

    assert "Technical support for a Microsoft product" in page


def test_the_form_shows_the_incidents_left(login, bob, action_pack):
    leave(action_pack, 7)

    response = login(bob).get(URL, {"issue_type": PRODUCT_SUPPORT})

    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>7</strong> technical support incidents left this term, of 10" in page
    assert "Submitting this request uses one." in page
    assert 'name="title"' in page


def test_one_left_is_said_in_the_singular(login, bob, action_pack):
    leave(action_pack, 1)

    page = login(bob).get(URL, {"issue_type": PRODUCT_SUPPORT}).content.decode()

    assert "<strong>1</strong> technical support incident left this term, of 10" in page


def test_submitting_uses_one(login, bob, contoso, action_pack):
    response = login(bob).post(URL, details())

    case = ServiceRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/support/requests/{case.pk}/submitted/"
    assert grant_of(action_pack, "support-incidents").used_quantity == 1
    timeline = login(bob).get(f"/support/requests/{case.pk}/").content.decode()
    assert "One technical support incident used (9 left this term)" in timeline


def test_at_zero_the_form_refuses_politely_and_links_the_renewal(login, bea, action_pack):
    """Bea (Billing admin) may file but not renew: the link is the subscription's page."""
    leave(action_pack, 0)

    page = login(bea).get(URL, {"issue_type": PRODUCT_SUPPORT}).content.decode()

    assert "used all 10 technical support incidents of this term" in page
    assert 'name="title"' not in page  # nothing to fill in that could not be sent
    subscription_page = reverse("billing:subscription", args=[action_pack.pk])
    assert f'href="{subscription_page}" data-testid="renew-link"' in page
    assert "Renew your Action Pack subscription" in page
    assert "Choose another issue type" in page


def test_in_the_renewal_window_the_link_opens_the_renewal(login, bob, contoso, offer):
    subscription = make_subscription(
        contoso, offer, anniversary=clock.today() + dt.timedelta(days=20), benefits=True
    )
    leave(subscription, 0)

    page = login(bob).get(URL, {"issue_type": PRODUCT_SUPPORT}).content.decode()

    renewal = reverse("billing:renew_details", args=[subscription.pk])
    assert f'href="{renewal}" data-testid="renew-link"' in page


def test_posting_at_zero_files_nothing_and_says_why(login, bob, action_pack):
    leave(action_pack, 0)

    response = login(bob).post(URL, details())

    page = response.content.decode()
    assert response.status_code == 400
    assert not ServiceRequest.objects.exists()
    assert "so this request was not filed" in page
    assert "Renew your Action Pack subscription" in page
    assert "Windows 10 Enterprise does not activate" in page  # the partner's words are kept


def test_without_an_action_pack_it_says_so_and_links_the_offers(login, bob):
    response = login(bob).get(URL, {"issue_type": PRODUCT_SUPPORT})

    page = response.content.decode()
    assert "Your organization has no active Action Pack" in page
    assert f'href="{reverse("billing:offers")}"' in page
    assert 'name="title"' not in page
    assert login(bob).post(URL, details()).status_code == 400
    assert not ServiceRequest.objects.exists()


def test_other_issue_types_say_nothing_about_incidents(login, bob, action_pack):
    page = login(bob).get(URL, {"issue_type": IssueType.TECHNICAL}).content.decode()

    assert "support incidents" not in page


def test_it_requires_a_filing_role(login, victor, action_pack):
    response = login(victor).post(URL, details())

    assert response.status_code == 403
    assert not ServiceRequest.objects.exists()
    assert grant_of(action_pack, "support-incidents").used_quantity == 0
