"""The site's own request rules: a bound on the body size and the security headers.

Order in ``settings.MIDDLEWARE``, right after SecurityMiddleware, WhiteNoise and the request log
(``core.middleware.RequestLogMiddleware``): ``SecurityHeadersMiddleware``, then
``RequestSizeLimitMiddleware``, so that every response, one refused for its size too, gets its
log line and its headers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

# Stripe's own Stripe.js also loads from these, talks to its API and shows 3-D Secure in a frame
# from hooks.stripe.com (Stripe's documented Content-Security-Policy). Only used when
# STRIPE_JS_URL is Stripe's; localstripe serves everything from its one origin.
_STRIPE_JS_HOST = "js.stripe.com"
_STRIPE_SCRIPT_EXTRA = ("https://*.js.stripe.com",)
_STRIPE_CONNECT_EXTRA = ("https://api.stripe.com",)
_STRIPE_FRAME_EXTRA = ("https://*.js.stripe.com", "https://hooks.stripe.com")


class RequestSizeLimitMiddleware:
    """Refuse a request body larger than ``REQUEST_MAX_BYTES`` before anything reads it.

    Django limits form fields (``DATA_UPLOAD_MAX_MEMORY_SIZE``) but streams any size of upload to
    disk; this is the outer bound. Each form still checks its own files' size and type.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponse(_("Bad request."), status=400, content_type="text/plain")
        if length > settings.REQUEST_MAX_BYTES:
            limit_mb = settings.REQUEST_MAX_BYTES // (1024 * 1024)
            return HttpResponse(
                _("The request is too large (at most %(limit)s MB).") % {"limit": limit_mb},
                status=413,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@lru_cache(maxsize=8)
def _policy(stripe_js_url: str, stripe_api_base: str) -> str:
    stripe_origin = _origin(stripe_js_url)
    is_stripe = urlsplit(stripe_js_url).hostname == _STRIPE_JS_HOST
    scripts = ["'self'", stripe_origin, *(_STRIPE_SCRIPT_EXTRA if is_stripe else ())]
    # localstripe's Stripe.js calls fetch() on its own origin (its API is the same server).
    connect = ["'self'", stripe_origin, _origin(stripe_api_base) if stripe_api_base else ""]
    connect += _STRIPE_CONNECT_EXTRA if is_stripe else ()
    frames = ["'self'", stripe_origin, *(_STRIPE_FRAME_EXTRA if is_stripe else ())]

    def sources(values: list[str]) -> str:
        return " ".join(dict.fromkeys(v for v in values if v))

    return "; ".join(
        [
            "default-src 'self'",
            # No 'unsafe-inline': pages have no inline <script> and no on*= attributes.
            f"script-src {sources(scripts)}",
            # Stylesheets and <style> only from our files. style= attributes are allowed (the
            # pages use them for spacing): unlike <style>, they cannot hold selectors, so an
            # injected one cannot read the page (CSS exfiltration needs selectors).
            "style-src 'self'",
            "style-src-elem 'self'",
            "style-src-attr 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src {sources(connect)}",
            f"frame-src {sources(frames)}",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'self'",
            "object-src 'none'",
        ]
    )


def content_security_policy() -> str:
    """Only our own origin and the Stripe.js origin in use (``STRIPE_JS_URL``)."""
    return _policy(settings.STRIPE_JS_URL, settings.STRIPE_API_BASE)


# The admin: scripts only from our origin, like the partner pages. Django's admin (5.x) has no
# inline script or on…= handler left (its settings ride on data- attributes of <script src>), and
# ours neither (templates/admin/, support/static/support/): no hash is needed. Its templates and
# widgets still write style= attributes and one <style> block, which are allowed here.
ADMIN_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), usb=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Read per request (cached): tests and the localstripe fixture change STRIPE_JS_URL.
        policy = ADMIN_POLICY if request.path.startswith("/admin/") else content_security_policy()
        response.setdefault("Content-Security-Policy", policy)
        response.setdefault("Referrer-Policy", settings.SECURE_REFERRER_POLICY)
        response.setdefault("X-Content-Type-Options", "nosniff")
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
