"""Partnership > Membership: the tier held and the three membership options side by side."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing.selectors.membership import membership_overview
from membership.access import member_required
from membership.permissions import Action


@member_required(Action.VIEW_MEMBERSHIP)
def membership(request: HttpRequest) -> HttpResponse:
    overview = membership_overview(organization=request.organization)
    return render(request, "billing/membership.html", {"overview": overview})
