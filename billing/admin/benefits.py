"""Benefits in the admin: grants per term, seats assigned, and the product-key pools."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from billing.admin.product_keys import product_key_admin_urls
from billing.admin.read_only import ReadOnlyAdminMixin, ReadOnlyInline
from billing.models import BenefitGrant, ProductKey, SeatAssignment


class SeatAssignmentInline(ReadOnlyInline):
    model = SeatAssignment
    fields = ("email", "assigned_by", "assigned_at")
    readonly_fields = fields


@admin.register(BenefitGrant)
class BenefitGrantAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "benefit",
        "subscription",
        "term_number",
        "quantity",
        "used_quantity",
        "activated_at",
        "revoked_at",
    )
    list_select_related = ("benefit", "subscription__organization", "subscription__offer")
    list_filter = (
        "benefit",
        ("activated_at", admin.EmptyFieldListFilter),
        ("revoked_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("subscription__organization__name", "subscription__organization__partner_id")
    inlines = [SeatAssignmentInline]


@admin.register(ProductKey)
class ProductKeyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "benefit", "issued_to", "issued_at", "loaded_at")
    list_select_related = ("benefit", "issued_to")
    list_filter = ("benefit", ("issued_at", admin.EmptyFieldListFilter))
    search_fields = ("issued_to__email", "grant__subscription__organization__name")
    readonly_fields = ("grant", "issued_to", "issued_at", "loaded_at")

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # an issued key is a record; unissued ones are loaded, not edited

    def get_urls(self):
        return [*product_key_admin_urls(self), *super().get_urls()]


@admin.register(SeatAssignment)
class SeatAssignmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("email", "grant", "assigned_by", "assigned_at")
    list_select_related = ("grant__benefit", "assigned_by")
    search_fields = ("email", "grant__subscription__organization__name")
    date_hierarchy = "assigned_at"
