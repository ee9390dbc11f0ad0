"""The renew wizard: **Renew subscription** → check the order details → terms → payment → review
→ **Purchase** → confirmed → **Close**.

Its steps are addressed by subscription; the state is the order for the subscription's next term
(``renewal_order_for_next_term``), the same row the automatic renewal uses, so a term is paid once
whoever gets there first. The new term starts at the anniversary.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from billing.forms import TermsForm
from billing.models import Order, Subscription
from billing.selectors.checkout import renewal_order_open, subscriptions_for_pages
from billing.selectors.renewals import renewal_quote
from billing.selectors.subscriptions import renewal_blocker
from billing.services.checkout import checkout_accept_terms, renewal_start
from billing.terms import term_dates
from billing.views.checkout import (
    payment_step,
    review_step,
    wizard_context,
    wizard_detour,
    wizard_for,
    wizard_steps,
)
from core.middleware import client_ip
from membership.access import get_for_organization_or_404, member_required
from membership.permissions import Action
from membership.second_factor import second_factor_required
from offers.selectors import offer_price, terms_current


def _subscription_and_order(
    request: HttpRequest, subscription_id: int
) -> tuple[Subscription, Order | None]:
    subscription = get_for_organization_or_404(
        subscriptions_for_pages(), request, pk=subscription_id
    )
    return subscription, renewal_order_open(subscription=subscription)


@require_http_methods(["GET", "POST"])
@member_required(Action.PURCHASE)
def renew_details(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """Step 1: check the order details (the next term, its price, the card). **Next** opens it."""
    subscription, order = _subscription_and_order(request, subscription_id)
    if order is not None and (detour := wizard_detour(wizard_for(order), "details")):
        return detour
    blocker = renewal_blocker(subscription=subscription)
    if blocker:
        messages.error(request, blocker)
        return redirect("billing:subscription", subscription.pk)
    if request.method == "POST":
        try:
            renewal_start(subscription=subscription, actor=request.user)
        except ValidationError as error:
            messages.error(request, error.messages[0])
            return redirect("billing:subscription", subscription.pk)
        return redirect("billing:renew_terms", subscription.pk)
    starts_on, ends_on = term_dates(
        started_on=subscription.started_on, term_number=subscription.term_number + 1
    )
    price = offer_price(offer=subscription.offer, currency=request.organization.currency)
    context = {
        "subscription": subscription,
        "offer": subscription.offer,
        # What the renewal will charge: the price plus the tax of the billing profile now.
        "price": price and renewal_quote(subscription=subscription, price=price),
        "currency": price and price.currency,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "steps": wizard_steps(renewal=True, current="details"),
    }
    return render(request, "billing/renew_details.html", context)


@require_http_methods(["GET", "POST"])
@member_required(Action.PURCHASE)
def renew_terms(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """Step 2: accept the terms in force now."""
    subscription, order = _subscription_and_order(request, subscription_id)
    if order is None:
        return redirect("billing:renew_details", subscription.pk)
    wizard = wizard_for(order)
    if detour := wizard_detour(wizard, "terms"):
        return detour
    terms = terms_current(offer=order.offer)
    form = TermsForm(request.POST or None, terms=terms)
    if request.method == "POST" and form.is_valid():
        try:
            checkout_accept_terms(
                order=order, terms=terms, actor=request.user, ip_address=client_ip(request)
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("billing:renew_payment", subscription.pk)
    context = wizard_context(wizard, "terms", terms=terms, form=form)
    return render(request, "billing/subscribe_terms.html", context)


@require_http_methods(["GET", "POST"])
@member_required(Action.PURCHASE)
@second_factor_required
def renew_payment(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """Step 3: payment details."""
    subscription, order = _subscription_and_order(request, subscription_id)
    if order is None:
        return redirect("billing:renew_details", subscription.pk)
    return payment_step(request, wizard_for(order))


@require_GET
@member_required(Action.PURCHASE)
@second_factor_required
def renew_review(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """Step 4: review; **Purchase** posts to ``billing:order_purchase``."""
    subscription, order = _subscription_and_order(request, subscription_id)
    if order is None:
        return redirect("billing:renew_details", subscription.pk)
    return review_step(request, wizard_for(order))
