"""Add user: email, name and roles; the person gets an invitation email."""

from __future__ import annotations

from membership.models import AuditEvent, Role, User
from tests.plugins.people import membership_of

FORM = {
    "email": "Dana@Contoso.example",
    "full_name": "Dana  Newcomer",
    "roles": [Role.BILLING_ADMIN],
}


def test_it_shows_the_form(login, alice):
    response = login(alice).get("/account/users/add/")

    assert response.status_code == 200
    assert b"Billing admin" in response.content


def test_it_adds_the_user_and_sends_the_invitation(
    login, contoso, alice, mailoutbox, django_capture_on_commit_callbacks
):
    client = login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/users/add/", FORM, follow=True)

    dana = User.objects.get(email="dana@contoso.example")
    assert dana.full_name == "Dana Newcomer"
    assert membership_of(dana, contoso).role_set == {Role.BILLING_ADMIN}
    assert "We emailed them a link" in response.content.decode()
    assert [message.to for message in mailoutbox] == [["dana@contoso.example"]]


def test_it_refuses_an_existing_member(login, alice, bob):
    response = login(alice).post("/account/users/add/", {**FORM, "email": "bob@contoso.example"})

    assert response.status_code == 200
    assert b"already a user of your organization" in response.content
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.USER_ADDED).exists()


def test_it_validates_the_email(login, alice):
    response = login(alice).post("/account/users/add/", {**FORM, "email": "not-an-email"})

    assert response.status_code == 200
    assert not User.objects.filter(full_name="Dana Newcomer").exists()


def test_it_requires_the_global_admin_role(login, bob, bea, axel, victor):
    for person in (bob, bea, axel, victor):
        assert login(person).post("/account/users/add/", FORM).status_code == 403
    assert not User.objects.filter(email="dana@contoso.example").exists()
