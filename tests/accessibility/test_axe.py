"""axe-core finds nothing serious on any partner page, for any role, in either language, wide or on a phone.

Each of Contoso's people (alice Global admin, bob buyer, bea billing, axel account admin, victor
with no role), with English or Spanish saved as their language, signs in once and opens every
page of tests/accessibility/pages.py at 1,280 px, then again at 375 px in the same signed-in
context. axe-core 4.14 (vendored, tests/accessibility/axe.py) checks each page; the test fails on
any critical or serious violation, and on the issue's named rules, listing page, width and rule.
A refusal (403) is checked once per person and width: every one is the same page.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.accessibility.axe import Violation, axe_check, report
from tests.accessibility.pages import (
    PHONE,
    WIDE,
    new_context,
    open_page,
    partner_pages,
    sign_in,
    signed_out_pages,
    world_prepared,
)
from tests.security.world import World

PEOPLE = ["alice", "bob", "bea", "axel", "victor"]
LANGUAGES = ["en", "es"]


def _check_pages(page, base_url: str, pages: list[tuple[str, str]], width: int) -> list[Violation]:
    page.set_viewport_size({"width": width, "height": 800})
    violations: list[Violation] = []
    checked: set[str] = set()
    for name, path in pages:
        status = open_page(page, base_url + path)
        # A redirect lands on a page already checked, and every 403 is the same refusal page.
        key = "403" if status == 403 else page.url
        if key in checked:
            continue
        checked.add(key)
        violations += axe_check(page, f"{name} {path} → {page.url[len(base_url) :]} ({width} px)")
    return violations


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("person", PEOPLE)
def test_no_serious_violation_on_any_page(
    person: str, language: str, world: World, base_url: str, browser: Browser
) -> None:
    world_prepared(world)
    user = getattr(world, person)
    user.language = language
    user.save(update_fields=["language"])
    pages = partner_pages(world)
    context = new_context(browser, WIDE)
    try:
        page = context.new_page()
        sign_in(page, base_url, user.email)
        assert page.locator("html").get_attribute("lang") == language

        violations = _check_pages(page, base_url, pages, WIDE)
        violations += _check_pages(page, base_url, pages, PHONE)
    finally:
        context.close()

    assert len(pages) > 30
    assert not violations, report(violations)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_serious_violation_on_the_signed_out_pages(
    language: str, base_url: str, browser: Browser, db
) -> None:
    context = new_context(browser, WIDE, locale="es-ES" if language == "es" else "en-US")
    try:
        page = context.new_page()
        pages = signed_out_pages()
        violations = _check_pages(page, base_url, pages, WIDE)
        violations += _check_pages(page, base_url, pages, PHONE)
        assert page.locator("html").get_attribute("lang") == language
    finally:
        context.close()

    assert not violations, report(violations)


def test_a_violation_is_reported_with_its_page_and_rule(base_url: str, page, db) -> None:
    # The check itself can fail: markup the issue found (a list item under role=status, a
    # nameless button) is reported with where it was and which rule it breaks.
    page.goto(f"{base_url}/accounts/login/")
    page.evaluate(
        """document.querySelector("main").insertAdjacentHTML("beforeend",
        '<ul role="status"><li>Saved</li></ul><button type="button"></button>')"""
    )

    violations = axe_check(page, "login (test)")

    assert {(v.where, v.rule) for v in violations} >= {
        ("login (test)", "listitem"),
        ("login (test)", "button-name"),
    }
    assert "login (test): listitem (serious)" in report(violations)
