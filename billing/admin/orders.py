"""Orders and their payments in the admin: read-only records of what was charged and refunded."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from billing.admin.read_only import ReadOnlyAdminMixin, ReadOnlyInline
from billing.models import Order, PaymentAttempt, Refund, StripeEvent
from core.money import format_money


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
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
    )
    search_fields = (
        "invoice_number",
        "organization__name",
        "organization__partner_id",
        "stripe_payment_intent_id",
        "attempts__stripe_payment_intent_id",
    )
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Order._meta.fields]
    inlines = [PaymentAttemptInline, RefundInline]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj: Order) -> str:
        return format_money(obj.amount, obj.currency)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Viewing the page needs "view"; nothing on it can be changed.
        return False


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
    list_filter = ("status", "off_session", "failure_code")
    search_fields = (
        "stripe_payment_intent_id",
        "idempotency_key",
        "order__invoice_number",
        "order__organization__name",
    )
    date_hierarchy = "created_at"


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "order",
        "amount_display",
        "reason",
        "stripe_refund_id",
        "created_by",
        "created_at",
    )
    list_select_related = ("order", "created_by")
    list_filter = ("currency",)
    search_fields = ("order__invoice_number", "order__organization__name", "stripe_refund_id")
    date_hierarchy = "created_at"

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj: Refund) -> str:
        return format_money(obj.amount, obj.currency)


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("event_id", "type", "received_at", "processed_at", "result")
    list_filter = ("type", ("processed_at", admin.EmptyFieldListFilter))
    search_fields = ("event_id", "type", "result")
    date_hierarchy = "received_at"
