"""Pages that show several apps' data (the dashboard)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_safe

from billing.selectors.subscriptions import Tier, organization_tier, subscriptions_for_organization
from membership.access import member_required
from membership.permissions import Action
from support.selectors import service_requests_visible_to


@member_required(Action.VIEW_DASHBOARD)
def dashboard(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    tier = organization_tier(organization=organization)
    subscriptions = list(subscriptions_for_organization(organization=organization)[:5])
    open_requests = service_requests_visible_to(membership=request.membership).filter(
        closed_at__isnull=True
    )
    return render(
        request,
        "partnerportal/dashboard.html",
        {
            "tier": tier,
            "tier_label": Tier.LABELS[tier],
            "subscriptions": subscriptions,
            "open_request_count": open_requests.count(),
        },
    )


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on their own (feed readers, bookmarks, non-HTML pages): send
    them to the static icon, whose name carries its hash in production."""
    return HttpResponsePermanentRedirect(static("favicon.ico"))
