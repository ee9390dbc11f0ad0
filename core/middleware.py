"""The request's log context: a request id on every log line, one line per request, and the
client's address (for audit records and sign-in limits).

``RequestLogMiddleware`` comes right after SecurityMiddleware and WhiteNoise in
``settings.MIDDLEWARE``, before the security headers and the size limit
(``partnerportal.middleware``), so that every response, one refused for its size too, gets its
log line.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse

from core.logging import client_ip_var, request_id_var

# The logger's name is what log searches and dashboards filter on: it stays "partnerportal.*".
logger = logging.getLogger("partnerportal.request")

# A request id from a proxy is echoed and logged, so it may only hold harmless characters.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def client_ip(request: HttpRequest) -> str | None:
    """The address of the person's browser, as far as we can trust it.

    Behind ``TRUSTED_PROXY_COUNT`` proxies (the load balancer), each proxy appends the address it
    received the request from to ``X-Forwarded-For``; the entry added by the outermost trusted
    proxy is the client. Entries further left are written by the client and can be forged, so
    they are never used. Without trusted proxies, ``REMOTE_ADDR`` is the client. Also used by
    django-axes (``AXES_CLIENT_IP_CALLABLE``), so lockouts and the audit trail agree.
    """
    candidate = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


class RequestLogMiddleware:
    """One structured log line per request, with a request id echoed in ``X-Request-ID``.

    Also sets ``request.client_ip`` (see ``client_ip``) for views that record an audit event.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
        request.client_ip = client_ip(request)
        # Cleared when the response is closed (``request_finished``), not here: Django logs
        # 4xx/5xx responses after the middleware returns, and those lines need the id too.
        request_id_var.set(request_id)
        client_ip_var.set(request.client_ip)
        started = time.monotonic()
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
                "ip": request.client_ip,
            },
        )
        return response


@receiver(request_finished, dispatch_uid="core.request_id_clear")
def _request_id_clear(**kwargs: object) -> None:
    request_id_var.set("-")
    client_ip_var.set(None)


# The widest integer column any of our databases has (a 64-bit BIGINT primary key).
ID_MAX = 2**63 - 1


class IdRangeMiddleware:
    """An id in the URL no database column can hold is "not found", like any other unknown id.

    PostgreSQL answers such a lookup with no rows; SQLite raises ``OverflowError`` binding it,
    which would be a server error (``/account/users/99999999999999999999999/``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs) -> None:
        for value in (*args, *kwargs.values()):
            if isinstance(value, int) and not -ID_MAX - 1 <= value <= ID_MAX:
                raise Http404("No such object.")
