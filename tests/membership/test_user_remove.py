"""Remove a user from the organization; never the last Global admin, never yourself."""

from __future__ import annotations

from membership.models import AuditEvent, Membership, Role, User
from membership.services import membership_set_roles
from tests.plugins.people import membership_of


def _url(user, organization) -> str:
    return f"/account/users/{membership_of(user, organization).pk}/remove/"


def test_it_removes_the_user(login, contoso, alice, bob):
    response = login(alice).post(_url(bob, contoso), follow=True)

    assert "bob@contoso.example was removed" in response.content.decode()
    assert not Membership.objects.filter(organization=contoso, user=bob).exists()
    assert User.objects.filter(pk=bob.pk).exists()  # the account may belong elsewhere
    event = AuditEvent.objects.get(action=AuditEvent.Action.USER_REMOVED)
    assert (event.actor, event.target) == (alice, "bob@contoso.example")


def test_a_removed_user_loses_access(login, contoso, alice, bob):
    bobs_client = login(bob)
    login(alice).post(_url(bob, contoso))

    assert bobs_client.get("/").status_code == 403


def test_it_asks_first_naming_the_person_and_what_they_lose(login, contoso, alice, bob):
    response = login(alice).get(_url(bob, contoso))

    page = response.content.decode()
    assert response.status_code == 200
    assert "<title>Remove Bob Buyer?" in page
    assert "<h1>Remove Bob Buyer from Contoso Ltd?</h1>" in page
    assert "Their roles in this organization: MPN partner admin." in page
    assert "Every page of Contoso Ltd" in page
    assert f'<form method="post" action="{_url(bob, contoso)}"' in page
    assert "Remove bob@contoso.example</button>" in page
    assert Membership.objects.filter(organization=contoso, user=bob).exists()


def test_the_users_page_links_to_the_confirmation(login, contoso, alice, bob):
    page = login(alice).get("/account/users/").content.decode()

    assert f'<a class="button danger small" href="{_url(bob, contoso)}">Remove' in page
    assert f'<form method="post" action="{_url(bob, contoso)}"' not in page


def test_asking_to_remove_yourself_says_you_cannot(login, contoso, alice):
    page = login(alice).get(_url(alice, contoso)).content.decode()

    assert "You cannot remove yourself" in page
    assert f'action="{_url(alice, contoso)}"' not in page


def test_it_rejects_put(login, contoso, alice, bob):
    assert login(alice).put(_url(bob, contoso)).status_code == 405
    assert Membership.objects.filter(organization=contoso, user=bob).exists()


def test_a_global_admin_cannot_remove_themselves(login, contoso, alice, bob):
    membership_set_roles(membership=membership_of(bob, contoso), roles={Role.GLOBAL_ADMIN})

    response = login(alice).post(_url(alice, contoso), follow=True)

    assert "cannot remove yourself" in response.content.decode()
    assert Membership.objects.filter(organization=contoso, user=alice).exists()


def test_another_organizations_member_is_not_found(login, fabrikam, alice, charlie):
    assert login(alice).get(_url(charlie, fabrikam)).status_code == 404
    response = login(alice).post(_url(charlie, fabrikam))

    assert response.status_code == 404
    assert Membership.objects.filter(organization=fabrikam, user=charlie).exists()


def test_it_requires_the_global_admin_role(login, contoso, bob, victor):
    assert login(bob).get(_url(victor, contoso)).status_code == 403
    assert login(bob).post(_url(victor, contoso)).status_code == 403
    assert Membership.objects.filter(organization=contoso, user=victor).exists()
