from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from billing.models import Order, Subscription
from billing.selectors.orders import invoiced_orders
from billing.selectors.subscriptions import subscriptions_for_organization
from core.templatetags.localized import localized
from membership.models import Organization
from support.attachments import MAX_FILES_PER_MESSAGE, allowed_types_label, attachments_check
from support.models import IssueType, Severity


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern); each is checked by content."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            files = [single(item, initial) for item in data if item]
        else:
            files = [single(data, initial)] if data else []
        attachments_check(files)  # raises one error per bad file
        return files


def _attachments_help() -> str:
    return _("Up to %(count)d files of %(size)s each: %(types)s.") % {
        "count": MAX_FILES_PER_MESSAGE,
        "size": filesizeformat(settings.SUPPORT_ATTACHMENT_MAX_BYTES),
        "types": allowed_types_label(),
    }


def severity_choices() -> list[tuple[str, str]]:
    """Severity with its first-response target, as the partner chooses it."""
    choices = []
    for value, label in Severity.choices:
        hours = settings.SUPPORT_RESPONSE_HOURS[value]
        target = ngettext(
            "first response within %(hours)d hour",
            "first response within %(hours)d hours",
            hours,
        ) % {"hours": hours}
        choices.append((value, f"{label} ({target})"))
    return choices


class IssueTypeForm(forms.Form):
    issue_type = forms.ChoiceField(
        label=_("Issue type"),
        choices=[("", _("Choose an issue type")), *IssueType.choices],
    )


class ServiceRequestForm(forms.Form):
    issue_type = forms.ChoiceField(choices=IssueType.choices, widget=forms.HiddenInput)
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=20000,
        help_text=_("What happened, what you expected, and anything you already tried."),
    )
    severity = forms.ChoiceField(label=_("Severity"), widget=forms.RadioSelect, initial="C")
    subscription = forms.ModelChoiceField(
        label=_("Related subscription"),
        queryset=Subscription.objects.none(),
        required=False,
        empty_label=_("None"),
    )
    order = forms.ModelChoiceField(
        label=_("Related order"),
        queryset=Order.objects.none(),
        required=False,
        empty_label=_("None"),
    )
    contact_email = forms.EmailField(label=_("Contact email"))
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=40, required=False)
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the organization's own subscriptions and orders: another one's id is invalid.
        self.fields["subscription"].queryset = subscriptions_for_organization(
            organization=organization
        )
        # The offer's name in the reader's language, as on every page that shows it.
        self.fields["subscription"].label_from_instance = lambda s: (
            f"{localized(s.offer, 'name')} — {s.get_status_display()}"
        )
        self.fields["order"].queryset = invoiced_orders(organization=organization)
        self.fields["severity"].choices = severity_choices()
        self.fields["attachments"].help_text = _attachments_help()


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 4}), max_length=20000
    )
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attachments"].help_text = _attachments_help()
