"""In Chromium, under the real Content-Security-Policy: no page trips it.

Every page a partner can open (the GET routes of tests/security/url_rules.py) is loaded as
Contoso's Global admin; the browser reports each CSP violation (``securitypolicyviolation``)
and each script error. Saving a card through localstripe's Stripe.js proves the policy lets
Stripe.js reach its own origin.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.plugins.people import browser_sign_in
from tests.security.test_boundaries import ROUTES, _target
from tests.security.world import World

REPORT_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || location.pathname}:${event.lineNumber}`);
});
"""


def sign_in(page: Page, base: str, email: str) -> None:
    browser_sign_in(page, base, email)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_no_page_trips_the_policy(world: World, live_server, transactional_db, page: Page) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.add_init_script(REPORT_VIOLATIONS)
    sign_in(page, live_server.url, world.alice.email)
    # Downloads (attachments, recovery codes as text, invoice PDFs; not HTML) are not pages.
    downloads = {"support:attachment", "mfa_download_recovery_codes", "billing:invoice_pdf"}
    pages = sorted(
        name for name, route in ROUTES.items() if route.method == "GET" and name not in downloads
    )

    violations = {}
    for name in pages:
        url, _data = _target(ROUTES[name], world)
        page.goto(live_server.url + url)
        page.wait_for_load_state("load")
        found = page.evaluate("window.__violations")
        if found:
            violations[name] = found

    assert len(pages) > 20
    assert violations == {}
    assert errors == []


def test_stripe_js_saves_a_card_under_the_policy(
    world: World, live_server, transactional_db, page: Page
) -> None:
    page.add_init_script(REPORT_VIOLATIONS)
    sign_in(page, live_server.url, world.bea.email)
    page.goto(f"{live_server.url}/billing/payment-methods/add/")
    card = page.locator("#card-element")
    expect(card.locator("input")).to_have_count(5)

    card.get_by_placeholder("number").fill("4242424242424242")
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("34")
    card.get_by_placeholder("cvc").fill("123")
    card.get_by_placeholder("postal_code").fill("98052")
    page.get_by_role("button", name="Save card").click()

    expect(page.get_by_text("Visa •••• 4242 was added.")).to_be_visible()
    assert page.evaluate("window.__violations") == []


def test_the_browser_blocks_an_injected_inline_script(
    world: World, live_server, transactional_db, page: Page
) -> None:
    page.add_init_script(REPORT_VIOLATIONS)
    sign_in(page, live_server.url, world.alice.email)

    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__injected = true";
          document.body.appendChild(script);
        }"""
    )

    assert page.evaluate("window.__injected === true") is False
    expect(page.locator("body")).to_be_visible()
    assert any(v.startswith("script-src") for v in page.evaluate("window.__violations"))
