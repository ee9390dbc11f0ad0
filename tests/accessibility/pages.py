"""The partner pages the accessibility tests open, and a browser signed in as one of Contoso's people.

Every GET page of the boundary walker (tests/security/url_rules.py), pointing at the walker's
Contoso objects (tests/security/world.py), plus the states a page only shows with a query (the
Closed and All request filters, the New request details step). The world is prepared first so
that the renew wizard's steps render instead of redirecting.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from playwright.sync_api import Browser, BrowserContext, Page, expect

from billing.services.checkout import checkout_accept_terms, checkout_choose_card, renewal_start
from offers.selectors import terms_current
from support.models import IssueType
from tests.plugins.people import browser_sign_in
from tests.plugins.services import BROWSER_TIMEOUT_MS
from tests.security.test_boundaries import ROUTES, _target
from tests.security.world import World

# Downloads (attachments, recovery codes, PDFs) are not pages.
NOT_PAGES = {"support:attachment", "mfa_download_recovery_codes", "billing:invoice_pdf"}
PAGE_NAMES = sorted(
    name for name, route in ROUTES.items() if route.method == "GET" and name not in NOT_PAGES
)
SIGNED_OUT_PAGES = ["login", "password_reset", "password_reset_done", "password_reset_complete"]
WIDE, PHONE, SMALLEST = 1280, 375, 320


def world_prepared(world: World) -> World:
    """Build every object the pages point at, and a renewal in progress up to its review."""
    for name in PAGE_NAMES:
        _target(ROUTES[name], world)
    world.incidents_grant  # noqa: B018 - built for the New request form's count
    order = renewal_start(subscription=world.subscription, actor=world.alice)
    order = checkout_accept_terms(
        order=order, terms=terms_current(offer=order.offer), actor=world.alice, ip_address=None
    )
    checkout_choose_card(order=order, payment_method=world.card, actor=world.alice)
    return world


def partner_pages(world: World) -> list[tuple[str, str]]:
    """(name, path) of every partner page, for every member to open."""
    pages = []
    for name in PAGE_NAMES:
        url, data = _target(ROUTES[name], world)
        pages.append((name, f"{url}?{urlencode(data)}" if data else url))
    requests = reverse("support:requests")
    pages += [
        ("support:requests closed", f"{requests}?status=closed"),
        ("support:requests all", f"{requests}?status=all"),
        (
            "support:new_request details",
            f"{reverse('support:new_request')}?issue_type={IssueType.values[0]}",
        ),
        # Technical product support: the count of incidents left (world.incidents_grant).
        (
            "support:new_request product support",
            f"{reverse('support:new_request')}?issue_type={IssueType.PRODUCT_SUPPORT}",
        ),
    ]
    return pages


def signed_out_pages() -> list[tuple[str, str]]:
    return [(name, reverse(name)) for name in SIGNED_OUT_PAGES]


def new_context(
    browser: Browser, width: int, *, locale: str = "en-US", scale: float = 1
) -> BrowserContext:
    context = browser.new_context(
        viewport={"width": width, "height": 800}, locale=locale, device_scale_factor=scale
    )
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    return context


def sign_in(page: Page, base_url: str, email: str) -> None:
    """Through the pages: email and password, then the code from the authenticator app."""
    browser_sign_in(page, base_url, email)
    expect(page.locator("[data-testid=tier]")).to_be_visible()


def open_page(page: Page, url: str) -> int:
    """Open ``url`` and wait for it (and portal.js) to settle; the final response's status."""
    response = page.goto(url)
    page.wait_for_load_state("load")
    return response.status if response else 0
