"""Edit roles: any combination, except taking the role from the last Global admin."""

from __future__ import annotations

from membership.models import AuditEvent, Role
from tests.plugins.people import membership_of


def _url(user, organization) -> str:
    return f"/account/users/{membership_of(user, organization).pk}/"


def test_it_shows_the_current_roles(login, contoso, alice, bob):
    response = login(alice).get(_url(bob, contoso))

    assert response.status_code == 200
    assert b'value="mpn_partner_admin" id="id_roles_1" checked' in response.content


def test_it_changes_the_roles(login, contoso, alice, bob):
    response = login(alice).post(_url(bob, contoso), {"roles": [Role.BILLING_ADMIN]})

    assert response.status_code == 302
    assert membership_of(bob, contoso).role_set == {Role.BILLING_ADMIN}
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLES_CHANGED)
    assert (event.actor, event.target) == (alice, "bob@contoso.example")
    assert event.detail == {"before": [Role.MPN_PARTNER_ADMIN], "after": [Role.BILLING_ADMIN]}


def test_no_roles_at_all_leaves_a_viewer(login, contoso, alice, bob):
    login(alice).post(_url(bob, contoso), {})

    assert membership_of(bob, contoso).role_set == frozenset()


def test_the_last_global_admin_cannot_be_demoted(login, contoso, alice):
    response = login(alice).post(_url(alice, contoso), {"roles": [Role.BILLING_ADMIN]})

    assert response.status_code == 200
    assert b"last Global admin" in response.content
    assert membership_of(alice, contoso).role_set == {Role.GLOBAL_ADMIN}


def test_a_global_admin_may_step_down_when_another_remains(login, contoso, alice, bob):
    client = login(alice)
    client.post(_url(bob, contoso), {"roles": [Role.GLOBAL_ADMIN]})

    response = client.post(_url(alice, contoso), {"roles": [Role.BILLING_ADMIN]})

    assert response.status_code == 302
    assert response.url == "/"  # User management is no longer hers to see
    assert membership_of(alice, contoso).role_set == {Role.BILLING_ADMIN}


def test_another_organizations_member_is_not_found(login, fabrikam, alice, charlie):
    response = login(alice).post(_url(charlie, fabrikam), {"roles": []})

    assert response.status_code == 404
    assert membership_of(charlie, fabrikam).role_set == {Role.GLOBAL_ADMIN}


def test_it_requires_the_global_admin_role(login, contoso, bob, axel):
    response = login(axel).post(_url(bob, contoso), {"roles": [Role.GLOBAL_ADMIN]})

    assert response.status_code == 403
    assert membership_of(bob, contoso).role_set == {Role.MPN_PARTNER_ADMIN}
