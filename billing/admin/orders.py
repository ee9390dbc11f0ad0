"""Orders and their payments in the admin: read-only records of what was charged and refunded."""

from __future__ import annotations

import re

from django.contrib import admin
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from billing.admin.read_only import ReadOnlyAdminMixin, ReadOnlyInline
from billing.models import Order, PaymentAttempt, Refund, StripeEvent
from core.admin import PARTNER_ID, LargeTableAdmin, exactly
from core.money import format_money

INVOICE_NUMBER = re.compile(r"INV-[\w-]+", re.IGNORECASE)
PAYMENT_INTENT = re.compile(r"pi_[A-Za-z0-9]+")


def _order_of_payment_intent(payment_intent_id: str, _model: type[Order]) -> Q:
    """The order a PaymentIntent paid, or any of whose attempts used it (an exact search; the
    attempts' orders are read first, so both conditions use an index, ``core.admin``)."""
    attempts = PaymentAttempt.objects.filter(stripe_payment_intent_id=payment_intent_id)
    order_ids = list(attempts.values_list("order_id", flat=True))
    return Q(stripe_payment_intent_id=payment_intent_id) | Q(pk__in=order_ids)


class PaymentAttemptInline(ReadOnlyInline):
    model = PaymentAttempt
    fields = (
        "number",
        "off_session",
        "status",
        "stripe_payment_intent_id",
        "idempotency_key",
        "failure_code",
        "failure_message",
        "stripe_refund_id",
        "created_at",
        "finished_at",
    )
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("amount", "currency", "reason", "stripe_refund_id", "created_by", "created_at")
    readonly_fields = fields


class PaymentProblemFilter(admin.SimpleListFilter):
    """Payments the reconciliation could not settle alone, and second charges it refunded."""

    title = _("payment problems")
    parameter_name = "payment_problem"

    def lookups(self, request, model_admin):
        return [
            ("attention", _("Needs attention")),
            ("charged_twice", _("Charged twice (refunded)")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "attention":
            return queryset.filter(attention_since__isnull=False)
        if self.value() == "charged_twice":
            return queryset.filter(
                attempts__status__in=[
                    PaymentAttempt.Status.DUPLICATE,
                    PaymentAttempt.Status.REFUNDED,
                ]
            ).distinct()
        return queryset


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = (
        "__str__",
        "organization",
        "kind",
        "term_number",
        "status",
        "amount_display",
        "attempt_count",
        "next_retry_on",
        "retries_stopped",
        "failure_code",
        "attention_reason",
        "created_at",
    )
    list_select_related = ("organization", "offer")
    list_filter = (
        PaymentProblemFilter,
        "status",
        "kind",
        "retries_stopped",
        "currency",
        "offer",
        "next_retry_on",
        ("created_at", admin.DateFieldListFilter),
        ("paid_at", admin.DateFieldListFilter),
    )
    # Free text; an invoice number, a Partner ID or a PaymentIntent is found through its index.
    search_fields = ("organization__name",)
    exact_searches = [
        (INVOICE_NUMBER, exactly("invoice_number", transform=str.upper)),
        (PARTNER_ID, exactly("organization__partner_id")),
        (PAYMENT_INTENT, _order_of_payment_intent),
    ]
    readonly_fields = [field.name for field in Order._meta.fields]
    inlines = [PaymentAttemptInline, RefundInline]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj: Order) -> str:
        return format_money(obj.amount, obj.currency)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Viewing the page needs "view"; nothing on it can be changed.
        return False


class RetryFilter(admin.SimpleListFilter):
    """First attempts and the ones after (retries), as the staff overview counts them."""

    title = _("attempt")
    parameter_name = "retry"

    def lookups(self, request, model_admin):
        return [("no", _("First attempt")), ("yes", _("Retry (after the first attempt)"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(number__gt=1)
        if self.value() == "no":
            return queryset.filter(number=1)
        return queryset


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = (
        "__str__",
        "order",
        "number",
        "off_session",
        "status",
        "stripe_payment_intent_id",
        "failure_code",
        "created_at",
    )
    list_select_related = ("order",)
    list_filter = (
        "status",
        "off_session",
        RetryFilter,
        "failure_code",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("order__organization__name",)
    exact_searches = [
        (PAYMENT_INTENT, exactly("stripe_payment_intent_id")),
        (INVOICE_NUMBER, exactly("order__invoice_number", transform=str.upper)),
        (re.compile(r"partnerportal-order-\d+-attempt-\d+"), exactly("idempotency_key")),
    ]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = (
        "order",
        "amount_display",
        "reason",
        "stripe_refund_id",
        "created_by",
        "created_at",
    )
    list_select_related = ("order", "created_by")
    list_filter = ("currency", ("created_at", admin.DateFieldListFilter))
    search_fields = ("order__invoice_number", "order__organization__name", "stripe_refund_id")

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj: Refund) -> str:
        return format_money(obj.amount, obj.currency)


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = ("event_id", "type", "received_at", "processed_at", "result")
    list_filter = (
        "type",
        ("processed_at", admin.EmptyFieldListFilter),
        ("received_at", admin.DateFieldListFilter),
    )
    search_fields = ("type", "result")
    exact_searches = [(re.compile(r"evt_\w+"), exactly("event_id"))]
