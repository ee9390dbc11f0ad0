"""Billing > Payment methods: the organization's saved cards (list, add, make default, remove)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from billing.forms import PaymentMethodAddForm
from billing.models import PaymentMethod
from billing.selectors.payment_methods import (
    payment_method_rows,
    payment_methods_for_organization,
)
from billing.services import payment_methods as services
from membership.access import get_for_organization_or_404, member_required
from membership.permissions import Action
from membership.second_factor import second_factor_required


def card_entry_context(*, setup_url: str) -> dict[str, str]:
    """What ``billing/_card_entry.html`` needs: where Stripe.js lives, and where the card entry
    asks for its SetupIntent once the partner starts entering a card (``setup_url``, one of the
    ``card_setup`` views). Showing the page asks Stripe for nothing."""
    return {
        "setup_url": setup_url,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js_url": settings.STRIPE_JS_URL,
    }


def card_setup_response(request: HttpRequest) -> JsonResponse:
    """The organization's SetupIntent for static/js/card-entry.js (a POST: it may create one)."""
    try:
        _setup_intent_id, client_secret = services.card_setup_start(
            organization=request.organization
        )
    except ValidationError as error:
        return JsonResponse({"error": error.messages[0]}, status=503)
    return JsonResponse({"client_secret": client_secret})


@require_POST
@member_required(Action.MANAGE_PAYMENT_METHODS)
def card_setup(request: HttpRequest) -> JsonResponse:
    """Billing > Payment methods > Add: the partner started entering a card."""
    return card_setup_response(request)


def _card_or_404(request: HttpRequest, payment_method_id: int) -> PaymentMethod:
    return get_for_organization_or_404(
        PaymentMethod.objects.filter(removed_at__isnull=True), request, pk=payment_method_id
    )


@require_safe
@member_required(Action.MANAGE_PAYMENT_METHODS)
def payment_methods(request: HttpRequest) -> HttpResponse:
    rows = payment_method_rows(organization=request.organization)
    return render(request, "billing/payment_methods.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
@member_required(Action.MANAGE_PAYMENT_METHODS)
@second_factor_required
def payment_method_add(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    form = PaymentMethodAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            card = services.payment_method_save(
                organization=organization,
                setup_intent_id=form.cleaned_data["setup_intent_id"],
                actor=request.user,
                make_default=form.cleaned_data["make_default"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("%(card)s was added.") % {"card": card})
            return redirect("billing:payment_methods")
    # The first card becomes the default anyway: only offer the choice when there are others.
    has_cards = payment_methods_for_organization(organization=organization).exists()
    context = {
        "form": form,
        "card_entry": card_entry_context(setup_url=reverse("billing:card_setup")),
        "has_cards": has_cards,
    }
    return render(request, "billing/payment_methods_add.html", context)


@require_POST
@member_required(Action.MANAGE_PAYMENT_METHODS)
@second_factor_required
def payment_method_make_default(request: HttpRequest, payment_method_id: int) -> HttpResponse:
    card = _card_or_404(request, payment_method_id)
    try:
        services.payment_method_make_default(payment_method=card, actor=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("%(card)s is now your default card.") % {"card": card})
    return redirect("billing:payment_methods")


@require_POST
@member_required(Action.MANAGE_PAYMENT_METHODS)
@second_factor_required
def payment_method_remove(request: HttpRequest, payment_method_id: int) -> HttpResponse:
    card = _card_or_404(request, payment_method_id)
    try:
        services.payment_method_remove(payment_method=card, actor=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("%(card)s was removed.") % {"card": card})
    return redirect("billing:payment_methods")
