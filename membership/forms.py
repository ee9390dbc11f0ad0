from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _

from membership.models import Organization, Role
from membership.vat_ids import vat_id_check_online, vat_id_clean


class OrganizationAdminForm(forms.ModelForm):
    """Staff set the country too: the VAT id is checked against the country chosen. (The
    admin builds the form's fields from the model.)"""

    def clean(self):
        cleaned = super().clean()
        country, vat_id = cleaned.get("country"), cleaned.get("vat_id")
        if country and vat_id:
            try:
                cleaned["vat_id"] = vat_id_clean(country=country, vat_id=vat_id)
            except forms.ValidationError as error:
                self.add_error("vat_id", error)
        return cleaned


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
            "invoice_language",
            "contact_email",
            "contact_phone",
        ]
        help_texts = {
            "vat_id": _(
                "Printed on your invoices. In the EU, a valid VAT ID of another country than "
                "ours means no VAT is charged (reverse charge)."
            ),
        }

    def clean_vat_id(self) -> str:
        # The VAT id decides the tax on invoices: checked for the organization's country
        # (which the partner cannot change) and kept in its compact form, ESA12345674.
        country = self.instance.country
        vat_id = vat_id_clean(country=country, vat_id=self.cleaned_data["vat_id"])
        if vat_id != self.instance.vat_id:
            vat_id_check_online(country=country, vat_id=vat_id)
        return vat_id

    def clean_contact_email(self) -> str:
        return self.cleaned_data["contact_email"].strip().lower()


class InvitationAcceptForm(SetPasswordForm):
    """Django's set-password form: two entries that match and pass the password validators."""
