from __future__ import annotations

import re

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from core.admin import PARTNER_ID, LargeTableAdmin, exactly
from core.middleware import client_ip
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
from membership.second_factor import step_up_response
from membership.selectors import second_factor_summary
from membership.services import second_factor_reset

RESET_PERMISSION = "membership.reset_second_factor"


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
    change_form_template = "admin/membership/user/change_form.html"

    def get_urls(self):
        reset = path(
            "<int:user_id>/reset-second-factor/",
            self.admin_site.admin_view(self.reset_second_factor_view),
            name="membership_user_reset_second_factor",
        )
        return [reset, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "may_reset_second_factor": request.user.has_perm(RESET_PERMISSION),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def reset_second_factor_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        """A partner lost their authenticator app or passkey and their recovery codes: support
        checks who they are (docs/sign-in.md), then resets it here. Audited, and emailed."""
        person = get_object_or_404(User, pk=user_id)
        if not request.user.has_perm(RESET_PERMISSION):
            raise PermissionDenied
        step_up = step_up_response(request)
        if step_up is not None:
            return step_up
        back_url = reverse("admin:membership_user_change", args=[person.pk])
        if request.method == "POST":
            try:
                second_factor_reset(user=person, actor=request.user, ip_address=client_ip(request))
            except ValidationError as error:
                self.message_user(request, error.messages[0], messages.ERROR)
            else:
                self.message_user(
                    request,
                    gettext_now(
                        "The second factor of %(email)s was reset and they were signed out "
                        "everywhere. We emailed them."
                    )
                    % {"email": person.email},
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(back_url)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext_now("Reset second factor"),
            "opts": self.model._meta,
            "original": person,
            "back_url": back_url,
            "summary": second_factor_summary(user=person),
            "organizations": Organization.objects.filter(memberships__user=person),
        }
        return TemplateResponse(request, "admin/membership/user/reset_second_factor.html", context)


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
        "full_name",
        "roles",
        "token_hash",
        "invited_by",
        "created_at",
        "expires_at",
        "used_at",
    )

    def has_add_permission(self, request) -> bool:
        return False  # invitations are sent from User management, where the token is emailed


IP_ADDRESS = re.compile(r"[0-9a-fA-F.:]*[.:][0-9a-fA-F.:]*")


@admin.register(AuditEvent)
class AuditEventAdmin(LargeTableAdmin):
    """The audit trail: staff can read and search it, nobody can add, change or delete."""

    list_display = ("created_at", "action", "actor_label", "organization", "target", "ip_address")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter))
    search_fields = ("actor_label", "target", "organization__name")
    exact_searches = [
        (PARTNER_ID, exactly("organization__partner_id")),
        (IP_ADDRESS, exactly("ip_address")),
    ]
    list_select_related = ("organization", "actor")
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
