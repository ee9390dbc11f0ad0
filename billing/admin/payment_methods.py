"""Cards saved to organizations' Stripe customers (read-only: partners add and remove them)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from billing.admin.read_only import ReadOnlyAdminMixin
from billing.models import PaymentMethod


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "organization",
        "expiry_label",
        "is_default",
        "created_at",
        "removed_at",
    )
    list_select_related = ("organization",)
    list_filter = ("brand", "is_default", ("removed_at", admin.EmptyFieldListFilter))
    search_fields = (
        "organization__name",
        "organization__partner_id",
        "last4",
        "stripe_payment_method_id",
    )
    readonly_fields = [field.name for field in PaymentMethod._meta.fields]

    @admin.display(description=_("expires"))
    def expiry_label(self, obj: PaymentMethod) -> str:
        return obj.expiry_label
