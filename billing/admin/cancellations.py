"""Cancelling a subscription in the admin: the form staff fill in, the "Cancel subscription…"
action of the subscription list, and a cancel page for the subscription's own admin page.

``billing.admin.subscriptions`` adds the action and ``subscription_admin_urls(model_admin)``
(URL name ``admin:billing_subscription_cancel``) to the Subscription admin. Support's case page
uses the same form and template (``cancel_page``), so every door looks and behaves alike.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.models import Subscription
from billing.selectors.cancellations import RefundQuote, refund_quote
from billing.services.cancellations import (
    CANCEL_PERMISSION,
    CancellationOutcome,
    subscription_cancel,
)
from core.money import format_money
from membership.second_factor import step_up_response

# Shared with support's case page, whose template folder holds the admin's custom pages.
CANCEL_TEMPLATE = "admin/support/subscription_cancel.html"


class SubscriptionCancelForm(forms.Form):
    AT_ONCE, AT_TERM_END = "now", "term_end"
    RULE, NONE, AMOUNT = "rule", "none", "amount"

    when = forms.ChoiceField(label=gettext_lazy("Cancel"), widget=forms.RadioSelect)
    refund = forms.ChoiceField(label=gettext_lazy("Refund"), widget=forms.RadioSelect)
    amount = forms.DecimalField(
        label=gettext_lazy("Amount to refund"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=9,
        decimal_places=2,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=500,
        help_text=gettext_lazy(
            "Kept in the subscription's history (and on the case, as an internal note)."
        ),
    )

    def __init__(self, *args, subscription: Subscription, quote: RefundQuote, **kwargs):
        super().__init__(*args, **kwargs)
        self.quote = quote
        self.fields["when"].choices = [
            (self.AT_ONCE, _("At once: benefits end today")),
            (
                self.AT_TERM_END,
                _("At the end of the term, on %(date)s (benefits keep working until then)")
                % {"date": subscription.current_term_end.isoformat()},
            ),
        ]
        self.fields["when"].initial = self.AT_ONCE
        if quote.refundable:
            rule = (
                _("Apply the refund rule: full refund of %(amount)s")
                % {"amount": format_money(quote.suggested_amount, quote.currency)}
                if quote.full_refund_eligible
                else _("Apply the refund rule: no refund")
            )
            self.fields["refund"].choices = [
                (self.RULE, rule),
                (self.NONE, _("No refund")),
                (
                    self.AMOUNT,
                    _("Refund an amount I choose (at most %(amount)s)")
                    % {"amount": format_money(quote.max_amount, quote.currency)},
                ),
            ]
            self.fields["refund"].initial = self.RULE
            self.fields["amount"].help_text = _("In %(currency)s, e.g. 120.00") % {
                "currency": quote.currency
            }
        else:
            self.fields["refund"].choices = [(self.NONE, _("No refund"))]
            self.fields["refund"].initial = self.NONE
            del self.fields["amount"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("refund") == self.AMOUNT:
            amount = cleaned.get("amount")
            if amount is None:
                self.add_error("amount", _("Enter the amount to refund."))
                return cleaned
            minor = int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
            if minor > self.quote.max_amount:
                self.add_error(
                    "amount",
                    _("At most %(amount)s can be refunded.")
                    % {"amount": format_money(self.quote.max_amount, self.quote.currency)},
                )
            cleaned["refund_minor_units"] = minor
        return cleaned

    def service_arguments(self) -> dict:
        """What ``subscription_cancel`` takes: ``refund_amount`` None applies the rule."""
        choice = self.cleaned_data["refund"]
        refund_amount = {self.RULE: None, self.NONE: 0}.get(
            choice, self.cleaned_data.get("refund_minor_units")
        )
        return {
            "at_term_end": self.cleaned_data["when"] == self.AT_TERM_END,
            "refund_amount": refund_amount,
            "reason": self.cleaned_data["reason"],
        }


def cancellation_message(outcome: CancellationOutcome) -> str:
    """What staff are told once the cancellation went through."""
    if outcome.at_term_end:
        text = _("%(subscription)s will be canceled on %(date)s.") % {
            "subscription": outcome.subscription,
            "date": outcome.ends_on.isoformat(),
        }
    else:
        text = _("%(subscription)s is canceled.") % {"subscription": outcome.subscription}
    if outcome.refund is not None:
        text += " " + _("Refunded %(amount)s.") % {
            "amount": format_money(outcome.refund.amount, outcome.refund.currency)
        }
    return text


def cancel_page(
    request: HttpRequest,
    *,
    model_admin: admin.ModelAdmin,
    subscription: Subscription,
    data,
    cancel: Callable[..., CancellationOutcome],
    done: Callable[[], HttpResponse | None],
    extra_context: dict,
) -> HttpResponse | None:
    """The cancel form for ``subscription`` with its refund quote. A valid submission calls
    ``cancel`` with the form's arguments, tells staff what happened and returns ``done()``.

    Every door to cancelling and refunding comes here, so the second-factor step-up is here too.
    """
    step_up = step_up_response(request)
    if step_up is not None:
        return step_up
    quote = refund_quote(subscription=subscription)
    form = SubscriptionCancelForm(data, subscription=subscription, quote=quote)
    if form.is_bound and form.is_valid():
        try:
            outcome = cancel(**form.service_arguments())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            model_admin.message_user(request, cancellation_message(outcome), messages.SUCCESS)
            return done()
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Cancel subscription"),
        "opts": model_admin.model._meta,
        "subscription": subscription,
        "form": form,
        "quote": quote,
        "media": model_admin.media + form.media,
        **extra_context,
    }
    return TemplateResponse(request, CANCEL_TEMPLATE, context)


@admin.action(description=gettext_lazy("Cancel subscription…"))
def subscription_cancel_action(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Subscription]
):
    """An admin action with a confirmation page, like "Delete selected", for one subscription."""
    if not request.user.has_perm(CANCEL_PERMISSION):
        model_admin.message_user(request, _("You may not cancel subscriptions."), messages.ERROR)
        return None
    if queryset.count() != 1:
        model_admin.message_user(request, _("Select one subscription to cancel."), messages.WARNING)
        return None
    subscription = queryset.select_related("organization", "offer").get()
    return cancel_page(
        request,
        model_admin=model_admin,
        subscription=subscription,
        data=request.POST if "confirm" in request.POST else None,
        cancel=partial(subscription_cancel, subscription=subscription, actor=request.user),
        done=lambda: None,  # back to the list, with the message
        extra_context={
            "action_name": "subscription_cancel_action",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


def subscription_cancel_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, subscription_id: int
) -> HttpResponse:
    """The subscription page's "Cancel subscription": the same form, for this subscription."""
    subscription = get_object_or_404(
        Subscription.objects.select_related("organization", "offer"), pk=subscription_id
    )
    if not (
        model_admin.has_view_permission(request, subscription)
        and request.user.has_perm(CANCEL_PERMISSION)
    ):
        raise PermissionDenied
    back_url = reverse("admin:billing_subscription_change", args=[subscription.pk])
    return cancel_page(
        request,
        model_admin=model_admin,
        subscription=subscription,
        data=request.POST if request.method == "POST" else None,
        cancel=partial(subscription_cancel, subscription=subscription, actor=request.user),
        done=lambda: HttpResponseRedirect(back_url),
        extra_context={"original": subscription, "back_url": back_url},
    )


def subscription_admin_urls(model_admin: admin.ModelAdmin) -> list[URLPattern]:
    return [
        path(
            "<int:subscription_id>/cancel/",
            model_admin.admin_site.admin_view(
                lambda request, subscription_id: subscription_cancel_view(
                    model_admin, request, subscription_id
                )
            ),
            name="billing_subscription_cancel",
        )
    ]
