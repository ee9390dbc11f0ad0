"""In Chromium, under the real Content-Security-Policy: no page trips it.

Every page a partner can open (the GET routes of tests/security/url_rules.py) is loaded as
Contoso's Global admin; the browser reports each CSP violation (``securitypolicyviolation``)
and each script error. Saving a card through localstripe's Stripe.js proves the policy lets
Stripe.js reach its own origin. The admin is walked the same way as the superuser: every model's
list, add form and first object, and the staff's own pages.
"""

from __future__ import annotations

from django.urls import reverse
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


# --- the admin: scripts from our origin only (issue 13: it had no script-src at all) -----------


def admin_pages(world: World, staff) -> list[str]:
    """Every model's list, add form (where staff may add) and one object's page, and the staff's
    own pages."""
    from django.contrib import admin
    from django.test import RequestFactory

    world.invoice, world.service_request, world.attachment  # noqa: B018  (objects to open)
    request = RequestFactory().get("/admin/")
    request.user = staff
    pages = [reverse("admin:index")]
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        pages.append(reverse("admin:{}_{}_changelist".format(*info)))
        if model_admin.has_add_permission(request):
            pages.append(reverse("admin:{}_{}_add".format(*info)))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    pages += [
        reverse("admin:billing_subscription_cancel", args=[world.subscription.pk]),
        reverse(
            "admin:support_servicerequest_cancel_subscription", args=[world.service_request.pk]
        ),
        reverse("admin:membership_user_reset_second_factor", args=[world.bob.pk]),
        reverse("admin:billing_productkey_load"),
        reverse("admin:billing_invoice_export"),
    ]
    return pages


def test_no_admin_page_trips_the_policy(
    world: World, root, live_server, transactional_db, page: Page
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.add_init_script(REPORT_VIOLATIONS)
    browser_sign_in(page, live_server.url, root.email, next_url="/admin/")
    expect(page.locator("#site-name")).to_be_visible()

    violations, statuses = {}, {}
    for path in admin_pages(world, root):
        response = page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        statuses[path] = response.status if response else None
        found = page.evaluate("window.__violations")
        if found:
            violations[path] = found

    assert len(statuses) > 40
    assert {path: status for path, status in statuses.items() if status != 200} == {}
    assert violations == {}
    assert errors == []


def test_the_admin_blocks_an_injected_inline_script(
    world: World, root, live_server, transactional_db, page: Page
) -> None:
    page.add_init_script(REPORT_VIOLATIONS)
    browser_sign_in(page, live_server.url, root.email, next_url="/admin/")
    expect(page.locator("#site-name")).to_be_visible()

    # As a stored XSS would: markup with an inline script and an on…= handler put in the page.
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__injected = true";
          document.body.appendChild(script);
          const image = document.createElement("div");
          image.innerHTML = '<img src="data:," onerror="window.__handler = true">';
          document.body.appendChild(image);
        }"""
    )
    page.wait_for_function("window.__violations.length >= 2")

    assert page.evaluate("window.__injected === true") is False
    assert page.evaluate("window.__handler === true") is False
    assert all(v.startswith("script-src") for v in page.evaluate("window.__violations"))


def test_the_cancel_page_still_sends_its_form_once(
    world: World, root, live_server, transactional_db, page: Page
) -> None:
    # The page's double-click guard moved from an inline script to a file the policy allows.
    browser_sign_in(page, live_server.url, root.email, next_url="/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    page.goto(
        live_server.url + reverse("admin:billing_subscription_cancel", args=[world.subscription.pk])
    )
    form = page.locator("#cancel-subscription-form")
    # Two submits as a double click sends them (the form's fields are not what is tested here).
    submit = "form => form.dispatchEvent(new Event('submit', {bubbles: true, cancelable: true}))"

    first, second = form.evaluate(submit), form.evaluate(submit)

    assert (first, second) == (True, False)  # the second one was stopped
    assert form.evaluate("form => form.dataset.sent") == "1"
