"""The portal's URLs plus a minimal view, served by the same gunicorn and middleware."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from partnerportal.urls import urlpatterns as portal_urlpatterns


def minimal(request: HttpRequest) -> HttpResponse:
    """The floor: Django's whole middleware stack (session, user, organization) and no page."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/minimal/", minimal), *portal_urlpatterns]
