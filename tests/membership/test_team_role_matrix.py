"""Role × page matrix for Account settings and Partnership > Benefits / Membership.

Every page and action, for every role (and none): the role matrix allows it (200 or a redirect
after doing it) or it is 403. The project-wide walker checks every URL; this one drives the pages
of this area with real objects, so an allowed action really runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyotp
import pytest
from django.urls import resolve

from billing.services.benefits import seat_assign
from membership.invitations import user_invite
from membership.models import Role, User
from membership.permissions import Action
from membership.services import membership_add, second_factor_enroll_totp
from tests.billing.benefits_setup import grant_of, load_keys
from tests.billing.factories import make_subscription
from tests.plugins.people import PASSWORD, membership_of, second_factor_checked


@dataclass(frozen=True)
class Page:
    name: str
    method: str
    action: Action
    url: Callable[[dict], str]
    data: dict | None = None


PAGES = [
    Page("users", "get", Action.MANAGE_USERS, lambda o: "/account/users/"),
    Page("user_add form", "get", Action.MANAGE_USERS, lambda o: "/account/users/add/"),
    Page(
        "user_add",
        "post",
        Action.MANAGE_USERS,
        lambda o: "/account/users/add/",
        {"email": "new@contoso.example", "full_name": "New Person", "roles": ["billing_admin"]},
    ),
    Page(
        "user_edit form", "get", Action.MANAGE_USERS, lambda o: f"/account/users/{o['target'].pk}/"
    ),
    Page(
        "user_edit",
        "post",
        Action.MANAGE_USERS,
        lambda o: f"/account/users/{o['target'].pk}/",
        {"roles": []},
    ),
    Page(
        "user_remove confirmation",
        "get",
        Action.MANAGE_USERS,
        lambda o: f"/account/users/{o['target'].pk}/remove/",
    ),
    Page(
        "user_remove",
        "post",
        Action.MANAGE_USERS,
        lambda o: f"/account/users/{o['target'].pk}/remove/",
    ),
    Page(
        "invitation_resend",
        "post",
        Action.MANAGE_USERS,
        lambda o: f"/account/users/invitations/{o['pending'].pk}/resend/",
    ),
    Page(
        "invitation_cancel",
        "post",
        Action.MANAGE_USERS,
        lambda o: f"/account/users/invitations/{o['pending'].pk}/cancel/",
    ),
    Page("profile", "get", Action.MANAGE_PROFILE, lambda o: "/account/profile/"),
    Page(
        "profile save",
        "post",
        Action.MANAGE_PROFILE,
        lambda o: "/account/profile/",
        {"name": "Contoso Corporation", "contact_email": "x@contoso.example"},
    ),
    Page("benefits", "get", Action.MANAGE_BENEFITS, lambda o: "/partnership/benefits/"),
    Page(
        "get key",
        "post",
        Action.MANAGE_BENEFITS,
        lambda o: f"/partnership/benefits/{o['windows'].pk}/get-key/",
    ),
    Page(
        "activate",
        "post",
        Action.MANAGE_BENEFITS,
        lambda o: f"/partnership/benefits/{o['office'].pk}/activate/",
    ),
    Page(
        "assign",
        "post",
        Action.MANAGE_BENEFITS,
        lambda o: f"/partnership/benefits/{o['vs'].pk}/assign/",
        {"email": "dev2@contoso.example"},
    ),
    Page(
        "reassign",
        "post",
        Action.MANAGE_BENEFITS,
        lambda o: f"/partnership/benefits/assignments/{o['seat'].pk}/reassign/",
        {"email": "dev3@contoso.example"},
    ),
    Page(
        "unassign",
        "post",
        Action.MANAGE_BENEFITS,
        lambda o: f"/partnership/benefits/assignments/{o['seat'].pk}/remove/",
    ),
    Page("membership", "get", Action.VIEW_MEMBERSHIP, lambda o: "/partnership/membership/"),
]

ROLES = [None, Role.GLOBAL_ADMIN, Role.MPN_PARTNER_ADMIN, Role.BILLING_ADMIN, Role.ACCOUNT_ADMIN]

# docs/product.md, written out again on purpose: the test must not ask the code it checks.
WHO_MAY = {
    Action.MANAGE_USERS: {Role.GLOBAL_ADMIN},
    Action.MANAGE_PROFILE: {Role.GLOBAL_ADMIN, Role.ACCOUNT_ADMIN},
    Action.MANAGE_BENEFITS: {Role.GLOBAL_ADMIN, Role.MPN_PARTNER_ADMIN},
    Action.VIEW_MEMBERSHIP: {None, *Role},
}


@pytest.fixture
def objects(contoso, offer, alice, bob, victor) -> dict:
    subscription = make_subscription(contoso, offer, benefits=True)
    load_keys(offer, 1)
    pending = user_invite(
        organization=contoso,
        email="pending@contoso.example",
        full_name="P",
        roles=set(),
        actor=alice,
    )
    return {
        "target": membership_of(victor, contoso),
        "pending": pending,
        "windows": grant_of(subscription, "windows-enterprise"),
        "office": grant_of(subscription, "office-365-e3"),
        "vs": grant_of(subscription, "visual-studio-pro"),
        "seat": seat_assign(
            grant=grant_of(subscription, "visual-studio-pro"),
            email="dev@contoso.example",
            actor=bob,
        ),
    }


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "no_role")
@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_each_role_gets_what_the_matrix_allows(client, contoso, objects, page, role):
    person = User.objects.create_user(email="tester@contoso.example", password=PASSWORD)
    second_factor_enroll_totp(user=person, secret=pyotp.random_base32())
    membership_add(organization=contoso, user=person, roles={role} if role else set())
    client.force_login(person)
    second_factor_checked(client, person)
    url = page.url(objects)

    response = getattr(client, page.method)(url, page.data or {})

    if role in WHO_MAY[page.action]:
        assert response.status_code in (200, 302), response.status_code
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_each_page_declares_the_action_of_the_matrix(objects, page):
    assert resolve(page.url(objects)).func.required_action == page.action


def test_the_invitation_link_is_the_one_public_page(client, db):
    # It must work signed out: the invited person has no password yet.
    assert client.get("/invitations/unknown-token/").status_code == 404
    assert not hasattr(resolve("/invitations/unknown-token/").func, "required_action")
