"""The wizard pages shared by subscribing and renewing: payment details, review, **Purchase**,
3-D Secure, "Your order is confirmed."

Every page loads the order row and shows the step that row is at; the order, not the session,
is the wizard's state (see ``billing.services.checkout``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from billing.forms import CardChoiceForm, PurchaseForm, SetupIntentForm
from billing.models import CLAIMABLE_ORDER_STATUSES, InvoiceKind, Order, OrderKind, OrderStatus
from billing.selectors.checkout import (
    card_preselected,
    cards_for_checkout,
    order_term,
    orders_for_checkout,
    terms_accepted_current,
)
from billing.selectors.invoices import invoices_listed
from billing.services import checkout
from billing.services.payment_outcomes import ChargeOutcome
from billing.tax import order_tax
from billing.views.payment_methods import card_entry_context, card_setup_response
from membership.access import get_for_organization_or_404, member_required
from membership.permissions import Action
from membership.second_factor import second_factor_required
from offers.selectors import terms_current

PURCHASE_STEPS = [
    ("terms", gettext_lazy("Terms and conditions")),
    ("payment", gettext_lazy("Payment details")),
    ("review", gettext_lazy("Review")),
    ("confirmed", gettext_lazy("Confirmation")),
]
RENEWAL_STEPS = [("details", gettext_lazy("Order details")), *PURCHASE_STEPS]

# The page of an order whose payment has started: confirmed, being confirmed, or 3-D Secure.
PAYMENT_PAGES = {
    OrderStatus.PAID: "billing:order_confirmed",
    OrderStatus.PROCESSING: "billing:order_status",
    OrderStatus.REQUIRES_ACTION: "billing:order_authenticate",
}


@dataclass(frozen=True)
class Wizard:
    """The subscribe or the renew wizard, as seen from one of its orders."""

    order: Order
    urls: dict[str, str]  # step → URL
    close_url: str

    @property
    def is_renewal(self) -> bool:
        return self.order.kind == OrderKind.RENEWAL

    def steps(self, current: str) -> list[dict]:
        return wizard_steps(renewal=self.is_renewal, current=current)


def wizard_steps(*, renewal: bool, current: str) -> list[dict]:
    """The step list at the top of each wizard page: done, current, to come."""
    steps = RENEWAL_STEPS if renewal else PURCHASE_STEPS
    position = [key for key, _label in steps].index(current)
    return [
        {"label": label, "state": "current" if i == position else "done" if i < position else ""}
        for i, (_key, label) in enumerate(steps)
    ]


def wizard_for(order: Order) -> Wizard:
    if order.kind == OrderKind.RENEWAL:
        subscription_id = order.subscription_id
        urls = {
            step: reverse(f"billing:renew_{step}", args=[subscription_id])
            for step in ("details", "terms", "payment", "review")
        }
        close_url = reverse("billing:subscription", args=[subscription_id])
    else:
        urls = {
            step: reverse(f"billing:subscribe_{step}", args=[order.offer_id])
            for step in ("terms", "payment", "review")
        }
        close_url = reverse("billing:offers") + "#purchased"
    return Wizard(order=order, urls=urls, close_url=close_url)


def card_entry_for_purchase() -> dict:
    """The card-entry partial of the purchase and renewal wizards and of a subscription's card:
    its SetupIntent comes from ``purchase_card_setup`` once the partner starts entering a card."""
    return card_entry_context(setup_url=reverse("billing:purchase_card_setup"))


@require_POST
@member_required(Action.CHANGE_SUBSCRIPTION_CARD)
def purchase_card_setup(request: HttpRequest) -> HttpResponse:
    """The partner started entering a card while buying, renewing or choosing a subscription's
    card: the organization's SetupIntent (made now, or the open one reused).

    Everyone who may purchase may also change a subscription's card (membership/permissions.py),
    so the one action covers the wizards and a Billing admin's Change payment method."""
    return card_setup_response(request)


def wizard_context(wizard: Wizard, step: str, **extra) -> dict:
    order = wizard.order
    return {
        "wizard": wizard,
        "order": order,
        "offer": order.offer,
        "subscription": order.subscription,
        "steps": wizard.steps(step),
        "term": order_term(order=order),
        "price": order_tax(order),
        **extra,
    }


def wizard_detour(wizard: Wizard, step: str) -> HttpResponse | None:
    """Where to send someone who opens ``step`` of an order that is not at that step."""
    order = wizard.order
    if order.status in PAYMENT_PAGES:
        return redirect(PAYMENT_PAGES[order.status], order.pk)
    if order.status not in CLAIMABLE_ORDER_STATUSES:
        return redirect(wizard.close_url)
    if step in ("payment", "review") and not terms_accepted_current(
        order=order, terms=terms_current(offer=order.offer)
    ):
        return redirect(wizard.urls["terms"])
    if step == "review" and (order.payment_method is None or order.payment_method.removed_at):
        return redirect(wizard.urls["payment"])
    return None


def redirect_for_outcome(request: HttpRequest, outcome: ChargeOutcome) -> HttpResponse:
    """After **Purchase** or 3-D Secure: the confirmation, the bank's check, or another card."""
    order = outcome.order
    if outcome.status in (OrderStatus.PAID, OrderStatus.REQUIRES_ACTION):
        return redirect(PAYMENT_PAGES[outcome.status], order.pk)
    if outcome.status == OrderStatus.FAILED:
        # The payment step shows the card's message (order.failure_message) and asks for a card.
        return redirect(wizard_for(order).urls["payment"])
    if outcome.message:
        messages.info(request, outcome.message)
    if outcome.status == OrderStatus.PROCESSING:
        return redirect(PAYMENT_PAGES[OrderStatus.PROCESSING], order.pk)
    wizard = wizard_for(order)
    if outcome.status == OrderStatus.PENDING:
        return redirect(wizard.urls["review"])
    return redirect(wizard.close_url)  # canceled or refunded by staff meanwhile


def payment_step(request: HttpRequest, wizard: Wizard) -> HttpResponse:
    """Payment details: choose a saved card, or **Add a payment method**."""
    order = wizard.order
    detour = wizard_detour(wizard, "payment")
    if detour is not None:
        return detour
    cards = cards_for_checkout(organization=order.organization)
    chosen = card_preselected(order=order, cards=cards)
    form = CardChoiceForm(
        request.POST or None, cards=cards, initial={"payment_method": chosen.pk if chosen else None}
    )
    if request.method == "POST" and form.is_valid():
        try:
            checkout.checkout_choose_card(
                order=order, payment_method=form.cleaned_data["payment_method"], actor=request.user
            )
        except ValidationError as error:
            messages.error(request, error.messages[0])
            return redirect(wizard.urls["payment"])
        return redirect(wizard.urls["review"])
    context = wizard_context(
        wizard,
        "payment",
        form=form,
        cards=cards,
        chosen=chosen,
        card_entry=card_entry_for_purchase(),
    )
    return render(request, "billing/subscribe_payment.html", context)


def review_step(request: HttpRequest, wizard: Wizard) -> HttpResponse:
    detour = wizard_detour(wizard, "review")
    if detour is not None:
        return detour
    return render(request, "billing/subscribe_review.html", wizard_context(wizard, "review"))


def _order_or_404(request: HttpRequest, order_id: int) -> Order:
    return get_for_organization_or_404(orders_for_checkout(), request, pk=order_id)


@require_POST
@member_required(Action.PURCHASE)
@second_factor_required
def order_add_card(request: HttpRequest, order_id: int) -> HttpResponse:
    """The card-entry partial posts here once Stripe.js confirmed the card's SetupIntent."""
    order = _order_or_404(request, order_id)
    wizard = wizard_for(order)
    form = SetupIntentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The card could not be saved. Please enter it again."))
        return redirect(wizard.urls["payment"])
    try:
        order = checkout.checkout_add_card(
            order=order, setup_intent_id=form.cleaned_data["setup_intent_id"], actor=request.user
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect(wizard.urls["payment"])
    messages.success(
        request,
        _("Your card ending in %(last4)s was saved.") % {"last4": order.card_last4},
    )
    return redirect(wizard.urls["review"])


@require_POST
@member_required(Action.PURCHASE)
@second_factor_required
def order_purchase(request: HttpRequest, order_id: int) -> HttpResponse:
    """**Purchase**. A second click, a reload or another tab gets the same order's outcome."""
    order = _order_or_404(request, order_id)
    form = PurchaseForm(request.POST)
    expected = form.cleaned_data["amount"] if form.is_valid() else None
    try:
        outcome = checkout.checkout_pay(order=order, actor=request.user, expected_amount=expected)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        wizard = wizard_for(order)
        return wizard_detour(wizard, "review") or redirect(wizard.urls["review"])
    return redirect_for_outcome(request, outcome)


@require_GET
@member_required(Action.PURCHASE)
def order_authenticate(request: HttpRequest, order_id: int) -> HttpResponse:
    """The bank asks the card holder to confirm (3-D Secure): Stripe.js does it on this page."""
    order = _order_or_404(request, order_id)
    outcome = checkout.checkout_authentication(order=order)
    if not outcome.client_secret:
        return redirect_for_outcome(request, outcome)
    wizard = wizard_for(order)
    context = wizard_context(
        wizard,
        "review",
        client_secret=outcome.client_secret,
        stripe_js_url=settings.STRIPE_JS_URL,
        stripe_publishable_key=settings.STRIPE_PUBLISHABLE_KEY,
    )
    return render(request, "billing/subscribe_authenticate.html", context)


@require_POST
@member_required(Action.PURCHASE)
def order_authenticated(request: HttpRequest, order_id: int) -> HttpResponse:
    """Stripe.js finished 3-D Secure; what happened is read from Stripe, not from the browser."""
    order = _order_or_404(request, order_id)
    outcome = checkout.checkout_authentication_finished(order=order, actor=request.user)
    return redirect_for_outcome(request, outcome)


@require_GET
@member_required(Action.PURCHASE)
def order_status(request: HttpRequest, order_id: int) -> HttpResponse:
    """A payment in flight (another tab, a slow bank): this page reloads until it settles."""
    order = _order_or_404(request, order_id)
    if order.status != OrderStatus.PROCESSING:
        return redirect_for_outcome(
            request, ChargeOutcome(order.status, order, message=order.failure_message)
        )
    context = wizard_context(wizard_for(order), "review")
    return render(request, "billing/subscribe_processing.html", context)


@require_GET
@member_required(Action.PURCHASE)
def order_confirmed(request: HttpRequest, order_id: int) -> HttpResponse:
    """ "Your order is confirmed." **Close** goes back to the purchased offer."""
    order = _order_or_404(request, order_id)
    if order.status != OrderStatus.PAID:
        return redirect("billing:order_status", order.pk)
    invoice = invoices_listed().filter(order=order, kind=InvoiceKind.INVOICE).first()
    return render(
        request,
        "billing/subscribe_confirmed.html",
        wizard_context(wizard_for(order), "confirmed", invoice=invoice),
    )
