"""Security headers on every response, and templates that keep working under the CSP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.plugins.services import LocalStripe

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = {}
    for directive in policy.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def test_pages_allow_only_our_origin_and_localstripe(client, db, localstripe: LocalStripe) -> None:
    csp = directives(client.get("/accounts/login/"))

    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'", localstripe.url]
    # localstripe's Stripe.js fetch()es its own origin, which is also the API.
    assert csp["connect-src"] == ["'self'", localstripe.url]
    assert csp["frame-src"] == ["'self'", localstripe.url]
    assert csp["style-src"] == csp["style-src-elem"] == ["'self'"]
    assert csp["style-src-attr"] == ["'unsafe-inline'"]  # style= only; never <style>
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]


def test_with_stripe_it_allows_stripe_js_and_its_api(client, db, settings) -> None:
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"

    csp = directives(client.get("/accounts/login/"))

    assert csp["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert csp["connect-src"] == ["'self'", "https://js.stripe.com", "https://api.stripe.com"]
    assert "https://hooks.stripe.com" in csp["frame-src"]  # 3-D Secure challenges


def test_no_unsafe_sources_anywhere(client, db) -> None:
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    csp = {d.split()[0]: d.split()[1:] for d in policy.split(";")}

    assert "'unsafe-inline'" not in csp["script-src"] + csp["default-src"]
    assert [name for name in csp if "'unsafe-inline'" in csp[name]] == ["style-src-attr"]
    assert "unsafe-eval" not in policy
    assert "*" not in policy.replace("https://*.js.stripe.com", "")


@pytest.mark.parametrize("path", ["/accounts/login/", "/no-such-page/", "/", "/healthz"])
def test_every_response_has_the_headers(client, db, path: str) -> None:
    response = client.get(path)

    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_signed_in_pages_have_the_headers(alice, login) -> None:
    response = login(alice).get("/")

    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_admin_may_not_be_framed_either(root, login) -> None:
    response = login(root).get("/admin/")

    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_the_admin_runs_scripts_from_our_origin_only(root, login) -> None:
    # Issue 13: the admin's policy had no script-src, so an injected inline script ran there.
    policy = login(root).get("/admin/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))

    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert "unsafe" not in directives["script-src"]


# --- templates: what the CSP would block ---------------------------------------------------------

# Emails are read in mail clients, not under our CSP; admin overrides follow Django's admin.
LINTED = sorted(
    path
    for path in TEMPLATES.rglob("*.html")
    if path.relative_to(TEMPLATES).parts[0] not in ("emails", "admin")
)

FORBIDDEN = {
    # A JSON data block (type="application/json", e.g. json_script) is never run, so the policy
    # has nothing to block; the passkey pages hand their WebAuthn options to static JS that way.
    "an inline <script> (move it to a file under static/js/)": re.compile(
        r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.IGNORECASE
    ),
    "an on*= event attribute (add a listener in static/js/ instead)": re.compile(
        r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE
    ),
    "a <style> element (add it to static/css/portal.css)": re.compile(r"<style\b", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


# Our admin templates are under the admin's policy: scripts from our origin only (styles may be
# inline there, as Django's own admin templates write them).
ADMIN_TEMPLATES = sorted((TEMPLATES / "admin").rglob("*.html"))
SCRIPT_RULES = {what: pattern for what, pattern in FORBIDDEN.items() if "<style>" not in what}


def blocked(template: Path, rules: dict[str, re.Pattern[str]]) -> list[str]:
    """Where ``template`` has what ``rules`` describe: "path:line: what"."""
    source = template.read_text()
    return [
        f"{template.relative_to(TEMPLATES)}:{source[: match.start()].count(chr(10)) + 1}: {what}"
        for what, pattern in rules.items()
        for match in pattern.finditer(source)
    ]


@pytest.mark.parametrize("template", ADMIN_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_admin_template_has_no_script_the_csp_blocks(template: Path) -> None:
    problems = blocked(template, SCRIPT_RULES)

    assert not problems, "The admin's Content-Security-Policy blocks:\n" + "\n".join(problems)


def test_templates_are_linted() -> None:
    assert any(path.name == "base.html" for path in LINTED)


@pytest.mark.parametrize("template", LINTED, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_has_nothing_the_csp_blocks(template: Path) -> None:
    problems = blocked(template, FORBIDDEN)

    assert not problems, "The Content-Security-Policy blocks:\n" + "\n".join(problems)
