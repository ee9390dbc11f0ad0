"""Every partner page, read in Spanish, has no English sentence of ours left in it.

The pages are the boundary walker's (tests/security/url_rules.py): every GET page of the project,
opened by each of Contoso's people with Spanish saved as their language, plus the signed-out pages
with a Spanish browser.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.i18n.english import english_in, visible_text
from tests.security.url_rules import RULES, ruled_routes

PAGES = sorted(route.name for route in ruled_routes() if route.method == "GET")
SIGNED_OUT_PAGES = ["login", "password_reset", "password_reset_done", "password_reset_complete"]


@pytest.fixture
def spanish_people(world):
    people = [world.alice, world.bob, world.bea, world.axel, world.victor]
    for person in people:
        person.language = "es"
        person.save(update_fields=["language"])
    return people


@pytest.mark.parametrize("name", PAGES)
def test_a_page_in_spanish_has_no_english_left(name, world, spanish_people, login):
    rule = RULES[name]
    url = reverse(name, kwargs=rule.url_kwargs(world))
    leftovers = {}
    for person in spanish_people:
        response = login(person).get(url, rule.form_data(world))
        if response.get("Content-Type", "").startswith("text/html") and response.content:
            english = english_in(visible_text(response.content.decode()))
            if english:
                leftovers[person.email] = english
            assert response["Content-Language"] == "es"

    assert not leftovers, f"{name} in Spanish still says: {leftovers}"


@pytest.mark.parametrize("name", SIGNED_OUT_PAGES)
def test_a_signed_out_page_follows_the_browsers_language(name, db):
    response = Client(headers={"accept-language": "es-ES,es;q=0.9"}).get(reverse(name))

    assert response.status_code == 200
    assert english_in(visible_text(response.content.decode())) == []
    assert response["Content-Language"] == "es"


def test_the_saved_preference_wins_over_the_browser(world, login):
    world.bob.language = "es"
    world.bob.save(update_fields=["language"])
    client = login(world.bob)

    response = client.get(reverse("dashboard"), headers={"accept-language": "en-US"})

    assert response["Content-Language"] == "es"
    assert "Panel" in visible_text(response.content.decode())


def test_the_footer_switcher_saves_the_preference(world, login):
    client = login(world.bob)

    response = client.post(reverse("membership:set_language"), {"language": "es", "next": "/"})

    assert response.status_code == 302
    world.bob.refresh_from_db()
    assert world.bob.language == "es"
    assert "Asociación" in visible_text(client.get("/").content.decode())


def test_urls_do_not_change_with_the_language(world, login):
    world.bob.language = "es"
    world.bob.save(update_fields=["language"])

    response = login(world.bob).get("/partnership/offers/")

    assert response.status_code == 200
    assert "Ofertas disponibles" in visible_text(response.content.decode())


def test_the_detector_finds_english_in_an_english_page(world, login):
    # Proves the checks above can fail: the same pages in English are full of our sentences.
    response = login(world.bob).get(reverse("billing:offers"))

    assert len(english_in(visible_text(response.content.decode()))) >= 3


def test_the_invitation_pages_are_in_spanish(contoso, alice, charlie, login):
    # The link of someone with an account: signed out (a Spanish browser), then signed in.
    from django.core import mail

    from membership.invitations import user_invite
    from tests.membership.team_helpers import invitation_path

    user_invite(organization=contoso, email=charlie.email, full_name="C", roles=set(), actor=alice)
    link = invitation_path(mail.outbox[-1])
    charlie.language = "es"
    charlie.save(update_fields=["language"])
    spanish = {"accept-language": "es-ES,es;q=0.9"}

    pages = {
        "signed out": Client(headers=spanish).get(link),
        "signed in": login(charlie).get(link),
        "refused answer": login(charlie).post(link, {"answer": "maybe"}),
    }

    leftovers = {
        name: english_in(visible_text(response.content.decode()))
        for name, response in pages.items()
    }
    assert {name: response.status_code for name, response in pages.items()} == dict.fromkeys(
        pages, 200
    )
    assert leftovers == dict.fromkeys(pages, [])
