"""What support leads edit: canned replies and recommended-solution articles."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy

from support.models import (
    CannedReply,
    RecommendedSolution,
)


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "preview"]
    search_fields = ["title", "body"]

    @admin.display(description=gettext_lazy("text"))
    def preview(self, reply: CannedReply) -> str:
        return reply.body[:120]


@admin.register(RecommendedSolution)
class RecommendedSolutionAdmin(admin.ModelAdmin):
    list_display = ["title", "issue_type", "position"]
    list_editable = ["position"]
    list_filter = ["issue_type"]
    search_fields = ["title", "title_es", "body"]
    ordering = ["issue_type", "position", "id"]
