"""Partnership > Offers: Available offers and Purchased offers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from billing.selectors.checkout import offer_cards_key, offers_page
from membership.access import member_required
from membership.permissions import Action, roles_allow


@require_GET
@member_required(Action.VIEW_OFFERS)
def offers(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    may_purchase = roles_allow(request.membership.role_set, Action.PURCHASE)
    role_reason = None
    if not may_purchase:
        role_reason = _(
            "Only a Global admin or an MPN partner admin of your organization can subscribe. "
            "Ask one of them, or ask a Global admin to give you the role."
        )
    page = offers_page(organization=organization)
    context = {
        "available": page.available,
        "purchased": page.purchased,
        "may_purchase": may_purchase,
        "role_reason": role_reason,
        "cards_key": offer_cards_key(
            page=page, currency=organization.currency, may_purchase=may_purchase
        ),
    }
    return render(request, "billing/offers.html", context)
