"""Without a browser, on every partner page: references that resolve, titles that differ, errors that
say so, the language switch, the favicon, and catalog names in the reader's language.

The pages are the boundary walker's (tests/accessibility/pages.py), opened by each of Contoso's
people through Django's test client.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from offers.selectors import terms_current
from tests.accessibility.pages import partner_pages, signed_out_pages, world_prepared
from tests.security.world import World

REFERENCES = ("aria-describedby", "aria-labelledby", "aria-controls")


class _Page(HTMLParser):
    """The ids of a page, what refers to ids, its <title> and its language form's next."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.elements: dict[str, dict[str, str]] = {}  # id → attributes
        self.references: list[tuple[str, str, str]] = []  # (tag, attribute, id)
        self.title = ""
        self.language_next: str | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.ids.add(values["id"])
            self.elements[values["id"]] = values
        for name in REFERENCES:
            for target in values.get(name, "").split():
                self.references.append((tag, name, target))
        if tag == "label" and values.get("for"):
            self.references.append((tag, "for", values["for"]))
        if tag == "a" and values.get("href", "").startswith("#") and len(values["href"]) > 1:
            self.references.append((tag, "href", values["href"][1:]))
        if tag == "input" and values.get("name") == "next" and self.language_next is None:
            self.language_next = values.get("value", "")
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    @property
    def broken(self) -> list[str]:
        return [
            f"<{tag} {name}={target!r}>"
            for tag, name, target in self.references
            if target not in self.ids
        ]


def parsed(response) -> _Page:
    page = _Page()
    page.feed(response.content.decode())
    page.title = " ".join(page.title.split())
    return page


@pytest.fixture
def pages(world: World) -> list[tuple[str, str]]:
    world_prepared(world)
    return partner_pages(world)


@pytest.mark.parametrize("person", ["alice", "bob", "bea", "axel", "victor"])
def test_every_reference_to_an_id_points_at_an_element(person, world, pages, login) -> None:
    client = login(getattr(world, person))
    broken = {}
    for name, path in pages:
        response = client.get(path)
        is_html = response.get("Content-Type", "").startswith("text/html")
        if is_html and response.content and (problems := parsed(response).broken):
            broken[name] = problems

    assert broken == {}


def test_every_page_has_a_title_of_its_own(world, pages, login) -> None:
    client = login(world.alice)  # every role: every page opens
    titles: dict[str, list[str]] = {}
    for name, path in pages:
        response = client.get(path)
        if response.status_code == 200:
            titles.setdefault(parsed(response).title, []).append(name)
    for name, path in signed_out_pages():
        titles.setdefault(parsed(Client().get(path)).title, []).append(name)

    shared = {title: names for title, names in titles.items() if len(names) > 1}
    assert len(titles) > 30
    assert shared == {}


def test_a_refusal_names_what_the_role_may_not_do(world, login) -> None:
    client = login(world.victor)

    orders = parsed(client.get(reverse("billing:orders")))
    users = parsed(client.get(reverse("membership:users")))

    assert orders.title == "Not allowed: Order history and invoices · Partner Portal"
    assert users.title == "Not allowed: User management · Partner Portal"


# A form of each kind sent empty (or wrong): the title starts with "Error:" and the summary,
# an alert, links to each field in error.
FORMS = {
    "membership:user_add": ({}, ["id_email", "id_full_name"]),
    "membership:profile": ({"name": "", "contact_email": "not-an-email"}, ["id_name"]),
    "support:new_request": ({"issue_type": "invoice_payment"}, ["id_title", "id_description"]),
}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_a_form_that_did_not_go_through_sums_up_its_errors(name, world, login) -> None:
    data, fields = FORMS[name]
    response = login(world.alice).post(reverse(name), data)
    page = parsed(response)
    html = response.content.decode()

    assert page.title.startswith("Error: ")
    assert 'class="error-summary" role="alert" tabindex="-1"' in html
    for field in fields:
        assert f'href="#{field}"' in html
        assert f"{field}_error" in page.elements[field]["aria-describedby"].split()
        assert page.elements[field]["aria-invalid"] == "true"
    assert page.broken == []


def test_the_terms_checkbox_points_at_its_error(world, login) -> None:
    world_prepared(world)
    url = reverse("billing:renew_terms", args=[world.subscription.pk])
    response = login(world.bob).post(url, {"terms_version": terms_current(offer=world.offer).pk})
    html = response.content.decode()

    assert parsed(response).title.startswith("Error: Terms and conditions")
    assert 'aria-describedby="id_accept_error"' in html
    assert 'id="id_accept_error"' in html
    assert parsed(response).broken == []


def test_sign_in_with_a_wrong_password_says_error(db, alice) -> None:
    response = Client().post(reverse("login"), {"login": alice.email, "password": "wrong"})
    page = parsed(response)

    assert page.title == "Error: Sign in · Partner Portal"
    assert "The email or password is not correct." in response.content.decode()
    assert page.broken == []


def test_an_error_message_makes_an_alert_and_says_error_in_the_title(world, login) -> None:
    world_prepared(world)
    client = login(world.alice)
    # A second Action Pack is refused with an error message on Offers.
    response = client.get(reverse("billing:subscribe_terms", args=[world.offer.pk]), follow=True)
    page = parsed(response)
    html = response.content.decode()

    assert page.title == "Error: Offers · Partner Portal"
    assert '<div class="message error" role="alert" tabindex="-1" data-error-summary>' in html


def test_a_success_message_is_a_polite_status(world, login) -> None:
    client = login(world.alice)
    response = client.post(
        reverse("membership:profile"),
        {
            "name": "Contoso Ltd",
            "contact_email": "it@contoso.example",
            "city": "Redmond",
            "invoice_language": "en",
        },
        follow=True,
    )
    html = response.content.decode()

    assert parsed(response).title == "Organization profile · Partner Portal"
    assert '<div class="message success" role="status">' in html
    assert "<ul" not in html.split('<div class="messages">')[1].split("</div>")[0]


def test_the_language_switch_returns_to_a_page_that_opens_with_get(world, login) -> None:
    client = login(world.alice)
    # A reply that did not go through is shown at .../reply/, which only takes POST.
    reply = reverse("support:request_reply", args=[world.service_request.pk])
    response = client.post(reply, {"body": ""})
    assert response.status_code == 400
    back_to = parsed(response).language_next
    assert back_to == reverse("support:request_detail", args=[world.service_request.pk])

    switched = client.post(reverse("membership:set_language"), {"language": "es", "next": back_to})

    assert switched.status_code == 302
    landed = client.get(switched["Location"])
    assert landed.status_code == 200
    assert landed["Content-Language"] == "es"


def test_the_language_switch_of_a_get_page_keeps_its_query(world, login) -> None:
    response = login(world.alice).get(reverse("support:requests"), {"status": "closed"})

    assert parsed(response).language_next == "/support/requests/?status=closed"


def test_the_favicon_is_there(client, db) -> None:
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content if icon.streaming else [icon.content])[:4] == (
        b"\x00\x00\x01\x00"
    )
    page = client.get(reverse("login")).content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in page


def test_offer_names_are_in_the_readers_language(world, login) -> None:
    world_prepared(world)
    world.offer.name_es = "Suscripción a Microsoft Action Pack"
    world.offer.save(update_fields=["name_es"])
    world.bob.language = "es"
    world.bob.save(update_fields=["language"])
    client = login(world.bob)

    dashboard = client.get(reverse("dashboard")).content.decode()
    new_request = client.get(
        reverse("support:new_request"), {"issue_type": "invoice_payment"}
    ).content.decode()

    assert "Suscripción a Microsoft Action Pack</strong>" in dashboard
    assert re.search(
        r"<option value=\"\d+\"[^>]*>Suscripción a Microsoft Action Pack — ", new_request
    )
    assert "Microsoft Action Pack subscription" not in dashboard + new_request
