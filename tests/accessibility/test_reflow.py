"""At 320 px, and at 200 % zoom, no partner page scrolls sideways (WCAG 1.4.10 reflow).

Contoso's Global admin, who may open every page, reads each one in English and in Spanish (the
longer labels) at 320 px, and at 640 px with two device pixels per CSS pixel (a 1,280 px window
zoomed to 200 %): ``document.documentElement.scrollWidth`` is at most ``innerWidth``, with the
folded menu closed and opened. Wide tables scroll inside their own box, which is allowed.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.accessibility.pages import (
    SMALLEST,
    new_context,
    open_page,
    partner_pages,
    sign_in,
    signed_out_pages,
    world_prepared,
)
from tests.security.world import World

WIDTHS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def _overflow(page: Page) -> tuple[int, int] | None:
    scroll_width, inner_width = page.evaluate(WIDTHS)
    return (scroll_width, inner_width) if scroll_width > inner_width else None


ZOOMED = 640  # CSS px of a 1,280 px window at 200 %


@pytest.mark.parametrize("width", [SMALLEST, ZOOMED])
@pytest.mark.parametrize("language", ["en", "es"])
def test_no_page_scrolls_sideways(
    language: str, width: int, world: World, base_url: str, browser: Browser
) -> None:
    world_prepared(world)
    world.alice.language = language
    world.alice.save(update_fields=["language"])
    context = new_context(browser, width, scale=2 if width == ZOOMED else 1)
    wide_pages = {}
    try:
        page = context.new_page()
        sign_in(page, base_url, world.alice.email)
        pages = partner_pages(world)
        for name, path in pages:
            open_page(page, base_url + path)
            if overflow := _overflow(page):
                wide_pages[f"{name} {path}"] = overflow

        # The folded menu, opened with every list, fits too.
        menu_button = page.locator("[data-menu-toggle]")
        expect(menu_button).to_be_visible()
        menu_button.click()
        for button in page.locator(".menu .has-sub > button").all():
            button.click()
            if overflow := _overflow(page):
                wide_pages[f"menu {button.inner_text()}"] = overflow
    finally:
        context.close()

    assert len(pages) > 30
    assert wide_pages == {}, f"wider than the screen (scrollWidth, innerWidth): {wide_pages}"


def test_signed_out_pages_do_not_scroll_sideways_at_320_px(
    base_url: str, browser: Browser, db
) -> None:
    context = new_context(browser, SMALLEST, locale="es-ES")
    wide_pages = {}
    try:
        page = context.new_page()
        for name, path in signed_out_pages():
            open_page(page, base_url + path)
            if overflow := _overflow(page):
                wide_pages[name] = overflow
    finally:
        context.close()

    assert wide_pages == {}, f"wider than the screen (scrollWidth, innerWidth): {wide_pages}"
