"""A purchased offer: its status, anniversary and card, and the actions **Turn off auto-renew**,
**Renew subscription**, **Change payment method**, **Cancel subscription**, **Download invoice**."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.forms import CardChoiceForm, SetupIntentForm
from billing.models import Subscription
from billing.selectors.checkout import (
    cards_for_checkout,
    renewal_order_open,
    renewal_state,
    subscription_orders,
    subscriptions_for_pages,
)
from billing.selectors.invoices import order_invoice
from billing.services import subscription_changes
from billing.services.subscriptions import subscription_turn_off_auto_renew
from billing.views.checkout import card_entry_for_purchase
from membership.access import get_for_organization_or_404, member_required
from membership.permissions import Action
from membership.second_factor import second_factor_required


def _subscription_or_404(request: HttpRequest, subscription_id: int) -> Subscription:
    return get_for_organization_or_404(subscriptions_for_pages(), request, pk=subscription_id)


@require_GET
@member_required(Action.VIEW_OFFERS)
def subscription_detail(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = _subscription_or_404(request, subscription_id)
    orders = subscription_orders(subscription=subscription)
    context = {
        "subscription": subscription,
        "offer": subscription.offer,
        "renewal": renewal_state(subscription=subscription),
        "renewal_order": renewal_order_open(subscription=subscription),
        "orders": orders,
        "latest_invoice": next(
            (invoice for order in orders if (invoice := order_invoice(order))), None
        ),
    }
    return render(request, "billing/subscription.html", context)


@require_http_methods(["GET", "POST"])
@member_required(Action.PURCHASE)
def subscription_auto_renew_off(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """**Turn off auto-renew**: a confirmation page first, since it cannot be turned back on."""
    subscription = _subscription_or_404(request, subscription_id)
    if request.method == "POST":
        try:
            subscription = subscription_turn_off_auto_renew(
                subscription=subscription, actor=request.user
            )
        except ValidationError as error:
            messages.error(request, error.messages[0])
        else:
            messages.success(
                request,
                _("Auto-renewal is off. Your subscription expires on %(date)s unless you renew it.")
                % {"date": date_format(subscription.current_term_end, "DATE_FORMAT")},
            )
        return redirect("billing:subscription", subscription.pk)
    if not subscription.auto_renew or not subscription.is_live:
        return redirect("billing:subscription", subscription.pk)
    context = {"subscription": subscription, "offer": subscription.offer}
    return render(request, "billing/subscription_auto_renew_off.html", context)


@require_http_methods(["GET", "POST"])
@member_required(Action.CHANGE_SUBSCRIPTION_CARD)
@second_factor_required
def subscription_payment_method(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """**Change payment method**: the card the next renewals are charged to."""
    subscription = _subscription_or_404(request, subscription_id)
    cards = cards_for_checkout(organization=request.organization)
    chosen = next((c for c in cards if c.pk == subscription.payment_method_id), None)
    form = CardChoiceForm(
        request.POST or None, cards=cards, initial={"payment_method": chosen.pk if chosen else None}
    )
    if request.method == "POST" and form.is_valid():
        try:
            subscription_changes.subscription_change_payment_method(
                subscription=subscription,
                payment_method=form.cleaned_data["payment_method"],
                actor=request.user,
            )
        except ValidationError as error:
            messages.error(request, error.messages[0])
        else:
            messages.success(request, _("Renewals will be charged to the card you chose."))
            return redirect("billing:subscription", subscription.pk)
    context = {
        "subscription": subscription,
        "offer": subscription.offer,
        "form": form,
        "cards": cards,
        "chosen": chosen,
        "card_entry": card_entry_for_purchase(),
    }
    return render(request, "billing/subscription_payment_method.html", context)


@require_POST
@member_required(Action.CHANGE_SUBSCRIPTION_CARD)
@second_factor_required
def subscription_add_card(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """The card-entry partial posts here: save the card and charge renewals to it."""
    subscription = _subscription_or_404(request, subscription_id)
    form = SetupIntentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The card could not be saved. Please enter it again."))
        return redirect("billing:subscription_payment_method", subscription.pk)
    try:
        subscription = subscription_changes.subscription_add_payment_method(
            subscription=subscription,
            setup_intent_id=form.cleaned_data["setup_intent_id"],
            actor=request.user,
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("billing:subscription_payment_method", subscription.pk)
    messages.success(request, _("Renewals will be charged to the card you added."))
    return redirect("billing:subscription", subscription.pk)


@require_GET
@member_required(Action.FILE_SUPPORT_REQUESTS)
def subscription_cancel(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """**Cancel subscription**: cancellation goes through support; this page says how."""
    subscription = _subscription_or_404(request, subscription_id)
    query = urlencode({"issue_type": "invoice_payment", "subscription": subscription.pk})
    context = {
        "subscription": subscription,
        "offer": subscription.offer,
        "support_url": f"{reverse('support:new_request')}?{query}",
    }
    return render(request, "billing/subscription_cancel.html", context)
