from __future__ import annotations

from django.contrib import admin

from offers.models import Benefit, Offer, OfferPrice, TermsAcceptance, TermsVersion


class OfferPriceInline(admin.TabularInline):
    model = OfferPrice
    extra = 0


class BenefitInline(admin.TabularInline):
    model = Benefit
    extra = 0
    fields = (
        "position",
        "code",
        "name",
        "name_es",
        "kind",
        "quantity",
        "monthly_amount",
        "monthly_currency",
        "is_software",
    )


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "term_months", "one_per_organization", "is_active", "position")
    list_filter = ("is_active", "one_per_organization")
    list_editable = ("is_active", "position")
    search_fields = ("name", "code")
    inlines = [OfferPriceInline, BenefitInline]


@admin.register(Benefit)
class BenefitAdmin(admin.ModelAdmin):
    list_display = ("name", "offer", "kind", "quantity", "is_software")
    list_select_related = ("offer",)
    list_filter = ("offer", "kind", "is_software")
    search_fields = ("name", "code")


@admin.register(TermsVersion)
class TermsVersionAdmin(admin.ModelAdmin):
    list_display = ("offer", "version", "title", "published_at")
    list_select_related = ("offer",)
    list_filter = ("offer",)
    search_fields = ("version", "title")


@admin.register(TermsAcceptance)
class TermsAcceptanceAdmin(admin.ModelAdmin):
    """A legal record: read-only for everyone."""

    list_display = ("organization", "terms", "accepted_by", "accepted_at", "ip_address")
    list_select_related = ("organization", "terms__offer", "accepted_by")
    list_filter = ("terms__offer", "terms")
    search_fields = ("organization__name", "organization__partner_id", "accepted_by__email")
    date_hierarchy = "accepted_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
