"""The case page's inlines: the conversation (read-only), the new message form, the history."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from support.forms import MultipleFileField
from support.models import (
    CannedReply,
    Message,
    RequestChange,
)
from support.selectors import (
    change_summary,
)


class ConversationInline(admin.TabularInline):
    """Every message so far, read-only: what was said stays as it was said."""

    model = Message
    extra = 0
    can_delete = False
    verbose_name = gettext_lazy("message")
    verbose_name_plural = gettext_lazy("Conversation")
    fields = ["created_at", "author_label", "kind", "text", "files"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("author")
            .prefetch_related("attachments")
            .order_by("created_at", "id")
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("from"))
    def author_label(self, message: Message) -> str:
        return message.author.email if message.author else _("(deleted user)")

    @admin.display(description=gettext_lazy("kind"))
    def kind(self, message: Message) -> str:
        if message.is_internal:
            return format_html('<strong class="internal-note">{}</strong>', _("Internal note"))
        if message.is_from_staff:
            return _("Public reply")
        return _("Partner")

    @admin.display(description=gettext_lazy("message"))
    def text(self, message: Message) -> str:
        return format_html('<span class="case-message">{}</span>', message.body)

    @admin.display(description=gettext_lazy("files"))
    def files(self, message: Message) -> str:
        return attachment_links(message.request_id, message.attachments.all())


class StaffMessageForm(forms.ModelForm):
    PUBLIC, INTERNAL = "public", "internal"

    canned_reply = forms.ModelChoiceField(
        queryset=CannedReply.objects.all(),
        required=False,
        label=gettext_lazy("Canned reply"),
        help_text=gettext_lazy("Fills in the text (used as is when you leave the text empty)."),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Send as"),
        choices=[
            (PUBLIC, gettext_lazy("Public reply — emailed to the requester and on their timeline")),
            (INTERNAL, gettext_lazy("Internal note — staff only, never shown to the partner")),
        ],
        initial=PUBLIC,
        widget=forms.RadioSelect,
    )
    attachments = MultipleFileField(label=gettext_lazy("Attachments"))

    class Meta:
        model = Message
        fields = ["body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 5, "cols": 80})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].required = False

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("body") and cleaned.get("canned_reply"):
            cleaned["body"] = cleaned["canned_reply"].body
        if not cleaned.get("body"):
            self.add_error("body", _("Write a message or choose a canned reply."))
        return cleaned


class NewMessageInline(admin.StackedInline):
    """One empty form under the conversation: a public reply or an internal note."""

    model = Message
    form = StaffMessageForm
    extra = 1
    max_num = 1
    can_delete = False
    verbose_name = gettext_lazy("new message")
    verbose_name_plural = gettext_lazy("Reply or add an internal note")
    fields = ["canned_reply", "body", "kind", "attachments"]

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def has_add_permission(self, request, obj=None):
        return obj is not None and request.user.has_perm("support.add_message")

    def has_change_permission(self, request, obj=None):
        return False


class HistoryInline(admin.TabularInline):
    model = RequestChange
    extra = 0
    can_delete = False
    verbose_name_plural = gettext_lazy("History")
    fields = ["created_at", "actor_label", "what", "is_public"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor").order_by("created_at", "id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("by"))
    def actor_label(self, change: RequestChange) -> str:
        return change.actor.email if change.actor else _("system")

    @admin.display(description=gettext_lazy("change"))
    def what(self, change: RequestChange) -> str:
        return change_summary(change)


def attachment_links(request_id: int, attachments) -> str:
    return format_html_join(
        mark_safe("<br>"),  # noqa: S308 (a constant)
        '<a href="{}">{}</a> ({})',
        (
            (
                reverse("admin:support_servicerequest_attachment", args=[request_id, a.pk]),
                a.original_name,
                a.content_type,
            )
            for a in attachments
        ),
    )
