"""The organization switcher: the choice is the session's, and remembered for the next one."""

from __future__ import annotations

import pytest
from django.test import Client

from membership.models import Role
from membership.services import membership_add
from tests.plugins.people import client_for, client_sign_in


@pytest.fixture
def alice_in_both(alice, fabrikam):
    membership_add(organization=fabrikam, user=alice, roles={Role.BILLING_ADMIN})
    return alice


def _working_in(client: Client):
    return client.get("/").context["current_organization"]


def test_it_switches_and_remembers_for_the_next_session(alice_in_both, contoso, fabrikam):
    client = client_for(alice_in_both)
    assert _working_in(client) == contoso  # the first, alphabetically, before any choice

    response = client.post("/account/organization/", {"organization": fabrikam.pk}, follow=True)

    assert "You are now working in Fabrikam SA." in response.content.decode()
    # A new sign-in starts where she worked last, not at the top of the alphabet.
    next_session = Client()
    client_sign_in(next_session, alice_in_both)
    assert _working_in(next_session) == fabrikam


def test_an_organization_someone_else_joined_you_to_is_not_where_you_land(
    alice, contoso, fabrikam, charlie
):
    # Issue 13: charlie, added to Contoso (first alphabetically), landed there at his next sign-in.
    charlie.last_organization = fabrikam
    charlie.save(update_fields=["last_organization"])
    membership_add(organization=contoso, user=charlie, roles=set())

    client = Client()
    client_sign_in(client, charlie)

    assert _working_in(client) == fabrikam


def test_an_id_no_column_can_hold_is_a_clear_404(alice):
    # Issue 13: organization=99999999999999999999999 was a 500 (OverflowError on SQLite).
    response = client_for(alice).post(
        "/account/organization/", {"organization": "99999999999999999999999"}
    )

    assert response.status_code == 404


def test_another_organizations_id_is_not_found(alice, fabrikam):
    response = client_for(alice).post("/account/organization/", {"organization": fabrikam.pk})

    assert response.status_code == 404


def test_it_rejects_get(alice, contoso):
    assert client_for(alice).get("/account/organization/").status_code == 405


def test_signed_out_people_are_sent_to_sign_in(client, contoso):
    response = client.post("/account/organization/", {"organization": contoso.pk})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
