from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _

from membership.models import Organization, Role


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        "invalid_login": _("The email or password is not correct."),
        "inactive": _("This account is inactive."),
    }


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES)
    next = forms.CharField(required=False)


class SwitchOrganizationForm(forms.Form):
    organization = forms.IntegerField()


class RolesField(forms.MultipleChoiceField):
    """Any combination of roles; none at all leaves a person who can only look."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Roles"))
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            _("Without a role, the person can view the dashboard, offers and membership."),
        )
        super().__init__(choices=Role.choices, **kwargs)


class UserAddForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    full_name = forms.CharField(label=_("Name"), max_length=150)
    roles = RolesField()

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean_full_name(self) -> str:
        return " ".join(self.cleaned_data["full_name"].split())


class UserRolesForm(forms.Form):
    roles = RolesField()


class OrganizationProfileForm(forms.ModelForm):
    """Validates the profile fields a partner may change (the service saves them)."""

    class Meta:
        model = Organization
        fields = [
            "name",
            "address_line1",
            "address_line2",
            "postal_code",
            "city",
            "region",
            "vat_id",
            "contact_email",
            "contact_phone",
        ]

    def clean_vat_id(self) -> str:
        # VAT IDs are printed on invoices; spaces and dots people paste in are not part of them.
        return "".join(ch for ch in self.cleaned_data["vat_id"] if ch.isalnum()).upper()

    def clean_contact_email(self) -> str:
        return self.cleaned_data["contact_email"].strip().lower()


class PasswordChoiceForm(SetPasswordForm):
    """Django's set-password form (two entries that match and pass the password validators) with
    the labels and the short help our pages show; the error summary links use the same labels."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = _("New password")
        self.fields["new_password1"].help_text = _(
            "At least 10 characters, not too common, not only numbers."
        )
        self.fields["new_password2"].label = _("New password again")
        self.fields["new_password2"].help_text = ""


class InvitationAcceptForm(PasswordChoiceForm):
    """Choosing a password from an invitation link."""
