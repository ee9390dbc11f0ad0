from __future__ import annotations

import logging
import time
import uuid
from urllib.parse import urlsplit

from django.conf import settings

from partnerportal.logging import request_id_var

logger = logging.getLogger("partnerportal.request")


class RequestLogMiddleware:
    """One structured log line per request, with a request id echoed in ``X-Request-ID``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            user = getattr(request, "user", None)
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    "user_id": getattr(user, "pk", None),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy() -> str:
    """Only our own origin and the Stripe.js origin in use (``STRIPE_JS_URL``)."""
    stripe_origin = _origin(settings.STRIPE_JS_URL)
    stripe_api_origin = _origin(settings.STRIPE_API_BASE) if settings.STRIPE_API_BASE else ""
    connect = " ".join(
        dict.fromkeys(
            o for o in ("'self'", stripe_origin, stripe_api_origin or "https://api.stripe.com") if o
        )
    )
    frames = " ".join(o for o in ("'self'", stripe_origin) if o)
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {stripe_origin}".strip(),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            f"frame-src {frames}",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'self'",
            "object-src 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/admin/"):
            response.setdefault("Content-Security-Policy", self.policy)
        else:
            # The admin uses inline scripts; it still may not be framed and only loads our assets.
            response.setdefault(
                "Content-Security-Policy",
                "frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
            )
        response.setdefault("Referrer-Policy", settings.SECURE_REFERRER_POLICY)
        response.setdefault("X-Content-Type-Options", "nosniff")
        return response
