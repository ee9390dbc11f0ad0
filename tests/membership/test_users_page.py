"""Account settings > User management: the team, their roles, and the recent changes."""

from __future__ import annotations

from membership.invitations import user_invite
from membership.models import Role
from membership.services import membership_change_roles


def test_it_lists_the_people_and_their_roles(login, alice, bob, victor):
    response = login(alice).get("/account/users/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "bob@contoso.example" in page
    assert "MPN partner admin" in page
    assert "No role (view only)" in page


def test_it_shows_a_pending_invitation_apart_from_the_team(login, contoso, alice):
    user_invite(
        organization=contoso,
        email="dana@contoso.example",
        full_name="Dana",
        roles={Role.BILLING_ADMIN},
        actor=alice,
    )

    page = login(alice).get("/account/users/").content.decode()

    invitations = page[page.index('data-testid="invitations"') :]
    assert "dana@contoso.example" in invitations
    assert "Invitation pending" in invitations
    assert "Billing admin" in invitations
    team = page[page.index('data-testid="users"') : page.index('data-testid="invitations"')]
    assert "dana@contoso.example" not in team


def test_it_shows_an_expired_invitation(login, contoso, alice):
    import datetime as dt

    from core import clock

    with clock.frozen_at(clock.now() - dt.timedelta(days=30)):
        user_invite(
            organization=contoso,
            email="dana@contoso.example",
            full_name="Dana",
            roles=set(),
            actor=alice,
        )

    page = login(alice).get("/account/users/").content.decode()

    assert "Invitation expired" in page[page.index('data-testid="invitations"') :]


def test_it_shows_who_changed_whom_what_and_when(login, contoso, alice, bob):
    membership_change_roles(
        membership=bob.memberships.get(),
        roles={Role.MPN_PARTNER_ADMIN, Role.BILLING_ADMIN},
        actor=alice,
    )

    page = login(alice).get("/account/users/").content.decode()

    changes = page[page.index("Recent changes") :]
    assert "Roles changed" in changes
    assert "alice@contoso.example" in changes
    assert "bob@contoso.example" in changes
    assert "MPN partner admin → MPN partner admin, Billing admin" in changes


def test_it_never_shows_another_organizations_people(login, alice, charlie):
    page = login(alice).get("/account/users/").content.decode()

    assert "charlie@fabrikam.example" not in page


def test_it_requires_the_global_admin_role(login, bob, bea, axel, victor):
    for person in (bob, bea, axel, victor):
        assert login(person).get("/account/users/").status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(client, contoso):
    response = client.get("/account/users/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
