"""The audit trail in the admin: staff can read and search it, nobody can add, change or delete.

Registered from ``MembershipConfig.ready`` (unless an admin module registered it already).
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from membership.models import AuditEvent


class AuditEventAdmin(admin.ModelAdmin):
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


def register(site: admin.AdminSite = admin.site) -> None:
    if not site.is_registered(AuditEvent):
        site.register(AuditEvent, AuditEventAdmin)
