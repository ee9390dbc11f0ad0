"""The boundaries walker: every URL of the project, checked for organization and role.

For every URL pattern (``get_resolver()``), with a rule in tests/security/url_rules.py:
- Fabrikam's Global admin asking for a Contoso object (the URL's ids) gets 404, and nothing
  changes;
- a signed-in member without the role the view requires (``view.required_action``, set by
  ``member_required``) gets 403; for views every member may open, a signed-in person who is a
  member of no organization gets 403;
- Contoso's Global admin, who has every role, is let in (so the ids really point at an object).
A URL without a rule, and not exempt, fails ``test_every_url_has_a_rule``.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from membership.models import Membership
from membership.permissions import EVERYONE, roles_allow
from tests.security.conftest import database_snapshot, snapshot_difference
from tests.security.url_rules import (
    EXEMPT,
    RULES,
    Route,
    partner_routes,
    project_routes,
    ruled_routes,
)
from tests.security.world import World

ROUTES = {route.name: route for route in ruled_routes()}
WITH_IDS = sorted(name for name in ROUTES if RULES[name].points_at_an_object)


def test_every_url_has_a_rule() -> None:
    missing = [route for route in partner_routes() if route.name not in RULES]

    assert not missing, (
        "These URLs have no boundary rule. Add each to RULES in tests/security/url_rules.py "
        "(how to build a Contoso object for its ids), or to EXEMPT with the reason it is public:\n"
        + "\n".join(
            f'  "{route.name}": Rule(kwargs=lambda w: {{'
            + ", ".join(f'"{kwarg}": w.<object>.pk' for kwarg in sorted(route.kwarg_names))
            + f"}}),  # /{route.route}"
            for route in missing
        )
    )


def test_rules_and_exemptions_name_existing_urls() -> None:
    names = {route.name for route in project_routes()}

    stale = sorted((set(RULES) | set(EXEMPT)) - names)

    assert not stale, f"Rules for URLs that no longer exist (remove them): {stale}"


def test_rules_give_every_id_in_the_url(world: World) -> None:
    wrong = {
        name: (sorted(route.kwarg_names), sorted(RULES[name].url_kwargs(world)))
        for name, route in ROUTES.items()
        if route.kwarg_names != set(RULES[name].url_kwargs(world))
    }

    assert not wrong, f"Rule kwargs do not match the URL's: {wrong}"


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_partner_views_require_a_role(name: str) -> None:
    route = ROUTES[name]

    assert route.required_action is not None or RULES[name].role_free, (
        f"{name} (/{route.route}) is not behind membership.access.member_required: start the "
        "view with @member_required(Action.…), or give its Rule a role_free= reason."
    )


def _target(route: Route, world: World) -> tuple[str, dict]:
    """The URL and form data pointing at Contoso's objects (built now, before any snapshot)."""
    rule = RULES[route.name]
    return reverse(route.name, kwargs=rule.url_kwargs(world)), rule.form_data(world)


def _request(client: Client, route: Route, world: World):
    url, data = _target(route, world)
    return client.post(url, data) if route.method == "POST" else client.get(url, data)


@pytest.mark.parametrize("name", WITH_IDS)
def test_another_organizations_member_gets_404(name: str, world: World, login) -> None:
    route = ROUTES[name]
    url, data = _target(route, world)
    client = login(world.charlie)  # Fabrikam's Global admin: every role, wrong organization
    before = database_snapshot()

    response = client.post(url, data) if route.method == "POST" else client.get(url, data)

    assert response.status_code == 404, f"{name}: {response.status_code} for Fabrikam's admin"
    assert snapshot_difference(before, database_snapshot()) == []


@pytest.mark.parametrize("name", sorted(n for n in ROUTES if ROUTES[n].kwarg_names))
def test_an_id_no_column_can_hold_is_not_found(name: str, world: World, login) -> None:
    # Issue 13: SQLite raised OverflowError on such ids (a 500); every database says 404 now.
    route = ROUTES[name]
    url = reverse(name, kwargs=dict.fromkeys(route.kwarg_names, 10**23))

    response = _request_url(login(world.alice), route, url, RULES[name].form_data(world))

    assert response.status_code == 404, f"{name}: {response.status_code}"


def _request_url(client: Client, route: Route, url: str, data: dict):
    return client.post(url, data) if route.method == "POST" else client.get(url, data)


def _members_without(action, world: World) -> list:
    if action in EVERYONE:
        # Every member may: the one who may not is a signed-in person of no organization.
        return [world.agent]
    lacking = []
    for user in world.contoso_members:
        membership = Membership.objects.prefetch_related("role_grants").get(
            user=user, organization=world.contoso
        )
        if not roles_allow(membership.role_set, action):
            lacking.append(user)
    return lacking


@pytest.mark.parametrize("name", sorted(n for n in ROUTES if ROUTES[n].required_action))
def test_a_member_without_the_role_gets_403(name: str, world: World, login) -> None:
    route = ROUTES[name]
    lacking = _members_without(route.required_action, world)
    assert lacking, f"nobody in the test world lacks {route.required_action}"

    statuses = {user.email: _request(login(user), route, world).status_code for user in lacking}

    assert set(statuses.values()) == {403}, f"{name} requires {route.required_action}: {statuses}"


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_the_global_admin_is_let_in(name: str, world: World, login) -> None:
    response = _request(login(world.alice), ROUTES[name], world)

    assert response.status_code not in (403, 404), f"{name}: {response.status_code}"
    assert response.status_code < 500


def test_signed_out_people_are_sent_to_sign_in(world: World) -> None:
    statuses = {}
    for name, route in ROUTES.items():
        response = _request(Client(), route, world)
        if not (
            response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        ):
            statuses[name] = response.status_code

    # Views that take no role still must not show a signed-out person anything.
    assert all(code in (302, 403, 404, 405) for code in statuses.values()), statuses
