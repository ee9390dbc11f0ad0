"""Billing's forms: the subscribe and renew wizards, the purchased-offer page, Payment methods and
Benefits. They validate and normalise only; the views call the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import PaymentMethod
from offers.models import TermsVersion


class TermsForm(forms.Form):
    """Accepting the terms: the version read is posted back, so a newer one is not accepted blind."""

    terms_version = forms.IntegerField(widget=forms.HiddenInput)
    accept = forms.BooleanField(
        label=_(
            "I accept the terms and conditions for internal-use rights granted through the "
            "Microsoft Partner Network."
        ),
        error_messages={"required": _("Accept the terms and conditions to continue.")},
    )

    def __init__(self, *args, terms: TermsVersion | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.terms = terms
        if terms is not None:
            self.fields["terms_version"].initial = terms.pk
        else:
            # An offer without terms: nothing to accept.
            del self.fields["accept"]
            self.fields["terms_version"].required = False

    def clean_terms_version(self) -> int | None:
        version = self.cleaned_data.get("terms_version")
        if self.terms is not None and version != self.terms.pk:
            raise forms.ValidationError(
                _("The terms and conditions have changed. Please read and accept the new version.")
            )
        return version


class CardChoiceForm(forms.Form):
    """One of the organization's saved cards."""

    payment_method = forms.ModelChoiceField(
        queryset=PaymentMethod.objects.none(),
        widget=forms.RadioSelect,
        label=_("Payment method"),
        empty_label=None,
        error_messages={
            "required": _("Choose a payment method, or add one."),
            "invalid_choice": _("Choose one of your organization's saved cards."),
        },
    )

    def __init__(self, *args, cards: list[PaymentMethod], **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["payment_method"]
        field.queryset = PaymentMethod.objects.filter(pk__in=[card.pk for card in cards])


class SetupIntentForm(forms.Form):
    """What the card-entry partial posts once Stripe.js confirmed the SetupIntent."""

    setup_intent_id = forms.RegexField(
        regex=r"^seti_[A-Za-z0-9_]+$",
        max_length=255,
        error_messages={
            "required": _("Your card details did not reach us. Please enter them again."),
            "invalid": _("Your card details did not reach us. Please enter them again."),
        },
    )


class PaymentMethodAddForm(SetupIntentForm):
    """**Add a payment method** (Billing > Payment methods): the card, and if it is the default."""

    make_default = forms.BooleanField(required=False)


class PersonEmailForm(forms.Form):
    """Who gets a seat or a license (Benefits): an email address, in lower case."""

    email = forms.EmailField(label=_("Email"), max_length=254)

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class InvoiceYearForm(forms.Form):
    """Billing > Invoices' filter: one year, or every year when empty."""

    year = forms.TypedChoiceField(label=_("Year"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, years: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", _("All years")), *((y, str(y)) for y in years)]


class PurchaseForm(forms.Form):
    """**Purchase**: the total the review page showed, in minor units (optional: without it,
    the order is charged its total as it stands)."""

    amount = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
