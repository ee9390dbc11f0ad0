from __future__ import annotations

from allauth.account.forms import LoginForm
from allauth.core import context
from allauth.mfa.base.forms import AuthenticateForm, ReauthenticateForm
from allauth.mfa.totp.forms import ActivateTOTPForm
from allauth.mfa.webauthn.forms import (
    AddWebAuthnForm,
    AuthenticateWebAuthnForm,
    LoginWebAuthnForm,
    ReauthenticateWebAuthnForm,
)
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib.auth.forms import SetPasswordForm
from django.forms.utils import ErrorDict
from django.utils.translation import gettext_lazy as _

from core.middleware import ID_MAX
from core.text import no_links
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


class SignInForm(LoginForm):
    """allauth's email and password form with the portal's labels (``ACCOUNT_FORMS``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # "webauthn": the browser may offer a passkey right in the email field (autofill).
        self.fields["login"] = forms.EmailField(
            label=_("Email"),
            widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email webauthn"}),
        )
        # Without allauth's own "Forgot your password?" help: the page links to ours.
        self.fields["password"] = forms.CharField(
            label=_("Password"),
            strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        )
        self.order_fields(["login", "password"])


class SecondFactorCodeMixin:
    """The code field of the second-factor step and of the check again: labelled, pasteable,
    offered by password managers (WCAG 2.2 3.3.8), and refused while sign-in is locked.

    A wrong code is a failed sign-in (``membership.signals.second_factor_failed``); once the
    account is locked from this address, even a right code is refused until the lock ends.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"] = forms.CharField(
            label=_("Code from your authenticator app, or a recovery code"),
            help_text=_(
                "6 digits from the app (a new code every 30 seconds), or one of your 8-digit "
                "recovery codes. You can paste it."
            ),
            max_length=32,
            widget=forms.TextInput(
                attrs={
                    "autocomplete": "one-time-code",
                    "inputmode": "numeric",
                    "autofocus": True,
                    "spellcheck": "false",
                    "autocapitalize": "off",
                }
            ),
        )

    def clean_code(self) -> str:
        request = context.request
        credentials = {"username": self.user.email}
        if not AxesProxyHandler.is_allowed(request, credentials):
            request.axes_locked_out = True  # AxesMiddleware answers with the lockout page
            raise forms.ValidationError(_("Too many sign-in attempts. Try again later."))
        code = "".join(str(self.cleaned_data.get("code", "")).split())
        self.cleaned_data["code"] = code
        return super().clean_code()


class SecondFactorSignInForm(SecondFactorCodeMixin, AuthenticateForm):
    pass


class AuthenticatorAppSetupForm(ActivateTOTPForm):
    """The first code from the app, proving it was set up with the key shown."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"] = forms.CharField(
            label=_("Code from your authenticator app"),
            max_length=16,
            widget=forms.TextInput(
                attrs={
                    "autocomplete": "one-time-code",
                    "inputmode": "numeric",
                    "spellcheck": "false",
                    "autocapitalize": "off",
                }
            ),
        )

    def clean_code(self) -> str:
        self.cleaned_data["code"] = "".join(str(self.cleaned_data.get("code", "")).split())
        return super().clean_code()


class SecondFactorCheckForm(SecondFactorCodeMixin, ReauthenticateForm):
    pass


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES)
    next = forms.CharField(required=False)


class SwitchOrganizationForm(forms.Form):
    # Bounded like the id column: a number no row can have is refused here, not by the database.
    organization = forms.IntegerField(min_value=1, max_value=ID_MAX)


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
    full_name = forms.CharField(label=_("Name"), max_length=150, validators=[no_links])
    roles = RolesField()

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean_full_name(self) -> str:
        return " ".join(self.cleaned_data["full_name"].split())


class UserRolesForm(forms.Form):
    roles = RolesField()


class InvitationAnswerForm(forms.Form):
    """Someone with an account answers an invitation: join, or decline."""

    answer = forms.ChoiceField(choices=[("join", _("Join")), ("decline", _("Decline"))])


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)


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


class PasskeyAnswerMixin:
    """The browser's passkey answer is JSON the page posts; anything else (a forged or broken
    post) is "could not be read", never a server error."""

    def full_clean(self) -> None:
        try:
            super().full_clean()
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            self.cleaned_data = {}
            self._errors = ErrorDict()
            self.add_error(
                "credential", _("The passkey's answer could not be read. Please try again.")
            )


class PasskeyAddForm(PasskeyAnswerMixin, AddWebAuthnForm):
    pass


class PasskeySignInForm(PasskeyAnswerMixin, AuthenticateWebAuthnForm):
    pass


class PasskeyCheckForm(PasskeyAnswerMixin, ReauthenticateWebAuthnForm):
    pass


class PasskeyPasswordlessForm(PasskeyAnswerMixin, LoginWebAuthnForm):
    pass
