"""The subscribe wizard: **Subscribe now** → terms → payment details → review → **Purchase**.

Its steps are addressed by offer; the state is the organization's one open purchase order for
that offer (``order_open_purchase``), opened when the terms are accepted.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from billing.forms import TermsForm
from billing.models import Order
from billing.selectors.checkout import offer_for_checkout, purchase_order_open
from billing.selectors.subscriptions import purchase_blocker
from billing.services.checkout import checkout_purchase_start
from billing.views.checkout import (
    payment_step,
    review_step,
    wizard_detour,
    wizard_for,
    wizard_steps,
)
from core.middleware import client_ip
from membership.access import member_required
from membership.permissions import Action
from membership.second_factor import second_factor_required
from offers.models import Offer
from offers.selectors import terms_current


def _offer_or_404(offer_id: int) -> Offer:
    offer = offer_for_checkout(offer_id=offer_id)
    if offer is None:
        raise Http404("No such offer.")
    return offer


@require_http_methods(["GET", "POST"])
@member_required(Action.PURCHASE)
def subscribe_terms(request: HttpRequest, offer_id: int) -> HttpResponse:
    """Step 1: read and accept the terms (internal-use rights). **Next** opens the order."""
    offer = _offer_or_404(offer_id)
    organization = request.organization
    order = purchase_order_open(organization=organization, offer=offer)
    if order is not None and (detour := wizard_detour(wizard_for(order), "terms")):
        return detour
    blocker = purchase_blocker(organization=organization, offer=offer)
    if blocker:
        messages.error(request, blocker)
        return redirect("billing:offers")
    terms = terms_current(offer=offer)
    form = TermsForm(request.POST or None, terms=terms)
    if request.method == "POST" and form.is_valid():
        try:
            checkout_purchase_start(
                organization=organization,
                offer=offer,
                terms=terms,
                actor=request.user,
                ip_address=client_ip(request),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("billing:subscribe_payment", offer.pk)
    steps = wizard_steps(renewal=False, current="terms")
    context = {"offer": offer, "terms": terms, "form": form, "steps": steps}
    return render(request, "billing/subscribe_terms.html", context)


def _offer_and_open_order(request: HttpRequest, offer_id: int) -> tuple[Offer, Order | None]:
    offer = _offer_or_404(offer_id)
    order = purchase_order_open(organization=request.organization, offer=offer)
    return offer, order


@require_http_methods(["GET", "POST"])
@member_required(Action.PURCHASE)
@second_factor_required
def subscribe_payment(request: HttpRequest, offer_id: int) -> HttpResponse:
    """Step 2: payment details."""
    offer, order = _offer_and_open_order(request, offer_id)
    if order is None:
        return redirect("billing:subscribe_terms", offer.pk)
    return payment_step(request, wizard_for(order))


@require_GET
@member_required(Action.PURCHASE)
@second_factor_required
def subscribe_review(request: HttpRequest, offer_id: int) -> HttpResponse:
    """Step 3: review the order; **Purchase** posts to ``billing:order_purchase``."""
    offer, order = _offer_and_open_order(request, offer_id)
    if order is None:
        return redirect("billing:subscribe_terms", offer.pk)
    return review_step(request, wizard_for(order))
