from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from membership.forms import OrganizationAdminForm
from membership.models import (
    AuditEvent,
    Competency,
    Invitation,
    Membership,
    Organization,
    RoleGrant,
    User,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("organization", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("organization",)
    show_change_link = True


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_staff", "is_active", "language", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "language", "groups")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Person"), {"fields": ("full_name", "phone", "language")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),
    )
    inlines = [MembershipInline]


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    extra = 0


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "roles", "created_at")
    list_select_related = ("user", "organization")
    search_fields = ("user__email", "organization__name", "organization__partner_id")
    list_filter = ("role_grants__role",)
    autocomplete_fields = ("user", "organization")
    inlines = [RoleGrantInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("role_grants")

    @admin.display(description=_("roles"))
    def roles(self, obj: Membership) -> str:
        return ", ".join(str(grant) for grant in obj.role_grants.all()) or "—"


class CompetencyInline(admin.TabularInline):
    model = Competency
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    form = OrganizationAdminForm
    list_display = (
        "name",
        "partner_id",
        "country",
        "currency",
        "network_member_since",
        "created_at",
    )
    list_filter = ("country", "currency", ("network_member_since", admin.EmptyFieldListFilter))
    search_fields = ("name", "partner_id", "vat_id", "contact_email")
    readonly_fields = ("stripe_customer_id", "created_at")
    inlines = [CompetencyInline]


@admin.register(Competency)
class CompetencyAdmin(admin.ModelAdmin):
    list_display = ("organization", "area", "level", "anniversary")
    list_select_related = ("organization",)
    list_filter = ("level", "area")
    search_fields = ("organization__name", "organization__partner_id")
    autocomplete_fields = ("organization",)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "invited_by", "created_at", "expires_at", "used_at")
    list_select_related = ("user", "organization", "invited_by")
    list_filter = (("used_at", admin.EmptyFieldListFilter),)
    search_fields = ("user__email", "organization__name")
    readonly_fields = (
        "organization",
        "user",
        "token_hash",
        "invited_by",
        "created_at",
        "expires_at",
        "used_at",
    )

    def has_add_permission(self, request) -> bool:
        return False  # invitations are sent from User management, where the token is emailed


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail: staff can read and search it, nobody can add, change or delete."""

    list_display = ("created_at", "action", "actor_label", "organization", "target", "ip_address")
    list_filter = ("action", "created_at")
    search_fields = ("actor_label", "target", "ip_address", "organization__name")
    list_select_related = ("organization", "actor")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    fields = (
        "created_at",
        "action",
        "actor",
        "actor_label",
        "organization",
        "target",
        "ip_address",
        "detail",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
