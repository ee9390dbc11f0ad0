"""The case list's filters: status (open or one), assignee (me, unassigned, anyone), first response due."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from membership.models import User
from support.models import (
    RequestStatus,
)
from support.selectors import (
    response_due_soon,
    response_overdue,
)


class StatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("open", _("Open (not closed)")), *RequestStatus.choices]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.exclude(status=RequestStatus.CLOSED)
        if self.value() in RequestStatus.values:
            return queryset.filter(status=self.value())
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = gettext_lazy("assignee")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        staff = User.objects.filter(is_staff=True, is_active=True).order_by("email")
        return [
            ("me", _("Me")),
            ("none", _("Unassigned")),
            *((str(pk), email) for pk, email in staff.values_list("pk", "email")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assignee=request.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset


class ResponseDueFilter(admin.SimpleListFilter):
    title = gettext_lazy("first response")
    parameter_name = "response"

    def lookups(self, request, model_admin):
        return [("soon", _("Due within 1 hour")), ("overdue", _("Overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "soon":
            return queryset.filter(response_due_soon(within=dt.timedelta(hours=1)))
        if self.value() == "overdue":
            return queryset.filter(response_overdue())
        return queryset
