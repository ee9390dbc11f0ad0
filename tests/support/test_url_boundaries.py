"""Every support URL, for every role and for the outsider: the role matrix (403), the
organization (404), the requester-or-Global-admin rule (404), and sign-in."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from support import urls as support_urls
from tests.support.files import PNG, upload


@dataclass(frozen=True)
class Door:
    name: str
    method: str
    path: str  # formatted with the objects below
    files: bool = False  # needs a filing role (the rest: any member of the organization)
    own: bool = False  # about one request: its requester or a Global admin only


DOORS = [
    Door("home", "get", "/support/"),
    Door("new_request", "get", "/support/new/", files=True),
    Door("requests", "get", "/support/requests/"),
    Door("request_detail", "get", "/support/requests/{request}/", own=True),
    Door("request_submitted", "get", "/support/requests/{request}/submitted/", own=True),
    Door("request_reply", "post", "/support/requests/{request}/reply/", files=True, own=True),
    Door("request_close", "post", "/support/requests/{request}/close/", files=True, own=True),
    Door("attachment", "get", "/support/requests/{request}/files/{attachment}/", own=True),
]
SUCCESS = {200, 302}


def test_every_support_url_is_in_the_matrix():
    names = {pattern.name for pattern in support_urls.urlpatterns}

    assert names == {door.name for door in DOORS}


@pytest.fixture
def world(bob, contoso, file_request):
    """Bob's request with a file; the door decides who may reach it."""
    service_request = file_request(bob, contoso, uploads=[upload("a.png", PNG)])
    return {"request": service_request.pk, "attachment": service_request.attachments.get().pk}


def call(client, door: Door, world: dict):
    path = door.path.format(**world)
    data = {"body": "Hello"} if door.name == "request_reply" else {}
    return getattr(client, door.method)(path, data)


@pytest.mark.parametrize("door", DOORS, ids=lambda d: d.name)
def test_anonymous_visitors_are_sent_to_sign_in(client, world, door):
    response = call(client, door, world)

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("door", DOORS, ids=lambda d: d.name)
def test_the_requester_gets_in(login, bob, world, door):
    assert call(login(bob), door, world).status_code in SUCCESS


@pytest.mark.parametrize("door", DOORS, ids=lambda d: d.name)
def test_a_global_admin_gets_in(login, alice, world, door):
    assert call(login(alice), door, world).status_code in SUCCESS


@pytest.mark.parametrize("door", DOORS, ids=lambda d: d.name)
@pytest.mark.parametrize("person", ["bea", "axel"])
def test_a_colleague_sees_only_their_own(login, world, door, person, request):
    response = call(login(request.getfixturevalue(person)), door, world)

    assert response.status_code == (404 if door.own else 200 if door.method == "get" else 302)


@pytest.mark.parametrize("door", DOORS, ids=lambda d: d.name)
def test_a_member_without_a_role_files_nothing(login, victor, world, door):
    response = call(login(victor), door, world)

    expected = 403 if door.files else 404 if door.own else 200
    assert response.status_code == expected


@pytest.mark.parametrize("door", DOORS, ids=lambda d: d.name)
def test_the_outsider_finds_nothing(login, charlie, world, door):
    response = call(login(charlie), door, world)

    assert response.status_code == (404 if door.own else 200)


@pytest.mark.parametrize("door", [d for d in DOORS if d.own], ids=lambda d: d.name)
def test_the_wrong_method_is_refused(login, bob, world, door):
    other = "get" if door.method == "post" else "post"

    assert call(login(bob), Door(door.name, other, door.path), world).status_code == 405
