"""Add user: email, name and roles; the person gets an invitation they accept. The page says
the same thing whether or not the address has an account (issue 13)."""

from __future__ import annotations

import re

from membership.models import AuditEvent, Invitation, Membership, Role, User

FORM = {
    "email": "Dana@Contoso.example",
    "full_name": "Dana  Newcomer",
    "roles": [Role.BILLING_ADMIN],
}


def test_it_shows_the_form(login, alice):
    response = login(alice).get("/account/users/add/")

    assert response.status_code == 200
    assert b"Billing admin" in response.content
    assert b"Nothing changes for them until they accept." in response.content


def test_it_invites_the_person(login, contoso, alice, mailoutbox):
    response = login(alice).post("/account/users/add/", FORM, follow=True)

    invitation = Invitation.objects.get(user__email="dana@contoso.example")
    assert invitation.full_name == "Dana Newcomer"
    assert invitation.roles == [Role.BILLING_ADMIN]
    assert "We emailed an invitation to dana@contoso.example." in response.content.decode()
    assert [message.to for message in mailoutbox] == [["dana@contoso.example"]]
    assert not Membership.objects.filter(user=invitation.user).exists()


def _what_the_admin_sees(client, email: str) -> tuple:
    """After adding ``email``: the answer, the message, and the address's rows in User management
    (the invitation, the recent change), with the address itself taken out."""
    posted = client.post("/account/users/add/", {**FORM, "email": email})
    page = client.get("/account/users/").content.decode()
    message = re.search(r'<div class="messages">.*?</div>\s*</div>', page, re.S).group(0)
    rows = re.findall(rf'<tr data-email="{re.escape(email)}">.*?</tr>', page, re.S)
    changes = re.findall(rf"<tr>(?:(?!</tr>).)*?{re.escape(email)}.*?</tr>", page, re.S)

    def plain(text: str) -> str:
        text = text.replace(email, "EMAIL")
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
        text = re.sub(r"/invitations/\d+/", "/invitations/N/", text)
        return re.sub(r"<td>[^<]*\d{4}[^<]*</td>", "<td>WHEN</td>", text)  # the change's time

    return (
        posted.status_code,
        posted["Location"],
        plain(message),
        [plain(r) for r in rows + changes],
    )


def test_it_says_the_same_whether_or_not_the_address_has_an_account(
    login, contoso, alice, charlie, root
):
    # Issue 13: "already had an account" against "we emailed them a link" told accounts apart,
    # staff accounts included.
    client = login(alice)
    seen = {
        email: _what_the_admin_sees(client, email)
        for email in ("newcomer@example.org", charlie.email, root.email)
    }

    assert len(set(map(repr, seen.values()))) == 1, seen
    status, location, message, rows = seen[root.email]
    assert (status, location) == (302, "/account/users/")
    assert "We emailed an invitation to EMAIL. They join once they accept it." in message
    assert len(rows) == 2  # the open invitation, and "User invited" in Recent changes
    # Nobody was made a member of anything.
    assert not Membership.objects.filter(user=charlie, organization=contoso).exists()
    assert not Membership.objects.filter(user=root).exists()


def test_a_name_holding_a_web_address_is_refused(login, alice, mailoutbox):
    response = login(alice).post(
        "/account/users/add/",
        {**FORM, "full_name": "URGENT verify at https://evil.example/login"},
    )

    assert response.status_code == 200
    assert b"A name cannot contain a web address or a link" in response.content
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_invitations_one_person_sends_are_limited(login, alice, settings, mailoutbox):
    settings.RATE_LIMIT_INVITATIONS_PER_ACTOR = "2/h"
    client = login(alice)

    answers = [
        client.post("/account/users/add/", {**FORM, "email": f"p{n}@example.org"}) for n in range(3)
    ]

    assert [a.status_code for a in answers] == [302, 302, 200]
    assert "You have sent too many invitations for now." in answers[-1].content.decode()
    assert len(mailoutbox) == 2
    assert Invitation.objects.count() == 2


def test_invitations_one_organization_sends_are_limited(
    login, contoso, alice, settings, mailoutbox
):
    # Two Global admins share their organization's limit.
    from membership.services import membership_add
    from tests.plugins.people import _person

    ada = _person("ada@contoso.example", "Ada Admin")
    membership_add(organization=contoso, user=ada, roles={Role.GLOBAL_ADMIN})
    settings.RATE_LIMIT_INVITATIONS_PER_ORGANIZATION = "2/d"

    first = login(alice).post("/account/users/add/", {**FORM, "email": "p1@example.org"})
    second = login(ada).post("/account/users/add/", {**FORM, "email": "p2@example.org"})
    third = login(alice).post("/account/users/add/", {**FORM, "email": "p3@example.org"})

    assert (first.status_code, second.status_code, third.status_code) == (302, 302, 200)
    assert "Your organization has sent too many invitations for now." in (third.content.decode())
    assert len(mailoutbox) == 2


def test_it_refuses_an_existing_member(login, alice, bob):
    response = login(alice).post("/account/users/add/", {**FORM, "email": "bob@contoso.example"})

    assert response.status_code == 200
    assert b"already a user of your organization" in response.content
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.USER_INVITED).exists()


def test_it_validates_the_email(login, alice):
    response = login(alice).post("/account/users/add/", {**FORM, "email": "not-an-email"})

    assert response.status_code == 200
    assert not User.objects.filter(full_name="Dana Newcomer").exists()


def test_it_rejects_other_methods(login, alice):
    assert login(alice).put("/account/users/add/").status_code == 405
    assert not Invitation.objects.exists()


def test_it_requires_the_global_admin_role(login, bob, bea, axel, victor):
    for person in (bob, bea, axel, victor):
        assert login(person).post("/account/users/add/", FORM).status_code == 403
    assert not User.objects.filter(email="dana@contoso.example").exists()
