"""Driving a page with the keyboard only: Tab until something has the focus, and say what has it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

DESCRIBE_FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "<body>";
  const text = (el.innerText || el.value || el.getAttribute("placeholder") || "").trim().slice(0, 40);
  return `<${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}> ${text}`;
}"""

FOCUS_MATCHES = """([css, text]) => {
  const el = document.activeElement;
  if (!el || el === document.body || (css && !el.matches(css))) return false;
  return !text || (el.innerText || "").trim() === text;
}"""


def focused(page: Page) -> str:
    return page.evaluate(DESCRIBE_FOCUS)


def has_focus(page: Page, css: str = "", text: str = "") -> bool:
    return page.evaluate(FOCUS_MATCHES, [css, text])


def expect_focus(page: Page, css: str = "", *, text: str = "") -> None:
    """Wait until the focused element matches ``css`` (and has ``text``). A key's effect can land
    a moment after the key (a link to #main scrolls and focuses in a task of its own)."""
    try:
        page.wait_for_function(FOCUS_MATCHES, arg=[css, text])
    except PlaywrightTimeout:
        pytest.fail(f"{css} {text!r} never had the focus; it is on {focused(page)}")


def tab_to(page: Page, css: str = "", *, text: str = "", limit: int = 40) -> int:
    """Press Tab until the focused element matches ``css`` (and has ``text``); how many Tabs."""
    for presses in range(limit + 1):
        if has_focus(page, css, text):
            return presses
        page.keyboard.press("Tab")
    pytest.fail(f"{css} {text!r} not reached in {limit} Tabs; the focus is on {focused(page)}")
