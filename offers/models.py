"""What is sold: the offer catalog, its prices, its benefits, and versioned terms."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.money import format_money
from membership.models import Currency, Organization


class Offer(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_es = models.CharField(_("name (Spanish)"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_es = models.TextField(_("description (Spanish)"), blank=True)
    term_months = models.PositiveSmallIntegerField(
        _("term (months)"), default=12, validators=[MinValueValidator(1)]
    )
    one_per_organization = models.BooleanField(
        _("one per organization"),
        default=True,
        help_text=_("An organization may hold at most one live subscription to this offer."),
    )
    is_active = models.BooleanField(_("on sale"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class OfferPrice(models.Model):
    """The price of one term, in minor units of ``currency``."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    amount = models.PositiveIntegerField(
        _("amount (minor units)"), validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        constraints = [
            models.UniqueConstraint(fields=["offer", "currency"], name="one_price_per_currency")
        ]

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)


class BenefitKind(models.TextChoices):
    SOFTWARE_LICENSE = "software_license", _("Software licenses (product keys)")
    ONLINE_SERVICE = "online_service", _("Online services seats")
    DEVELOPER_LICENSE = "developer_license", _("Developer licenses (assigned to people)")
    DEVELOPER_ACCOUNT = "developer_account", _("Developer account")
    AZURE_CREDIT = "azure_credit", _("Azure credit")
    SUPPORT_INCIDENTS = "support_incidents", _("Technical support incidents")


class Benefit(models.Model):
    """A benefit an offer gives each term, with its quantity (seats, keys, credit…)."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="benefits")
    code = models.SlugField(_("code"), max_length=50)
    name = models.CharField(_("name"), max_length=200)
    name_es = models.CharField(_("name (Spanish)"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=32, choices=BenefitKind.choices)
    quantity = models.PositiveIntegerField(_("quantity"))
    monthly_amount = models.PositiveIntegerField(
        _("monthly amount (minor units)"), null=True, blank=True
    )
    monthly_currency = models.CharField(
        _("monthly currency"), max_length=3, choices=Currency.choices, blank=True
    )
    is_software = models.BooleanField(
        _("software benefit"),
        default=False,
        help_text=_("Activating it ends the 30-day full-refund eligibility."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("benefit")
        verbose_name_plural = _("benefits")
        ordering = ["offer", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "code"], name="one_benefit_code_per_offer")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class TermsVersion(models.Model):
    """A published version of an offer's terms and conditions (internal-use rights)."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="terms_versions")
    version = models.CharField(_("version"), max_length=20)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    body_es = models.TextField(_("text (Spanish)"), blank=True)
    published_at = models.DateTimeField(_("published"))

    class Meta:
        verbose_name = _("terms and conditions version")
        verbose_name_plural = _("terms and conditions versions")
        ordering = ["offer", "-published_at"]
        get_latest_by = "published_at"
        constraints = [
            models.UniqueConstraint(fields=["offer", "version"], name="one_terms_version")
        ]

    def __str__(self) -> str:
        return f"{self.offer.name} — {self.version}"


class TermsAcceptance(models.Model):
    """Who accepted which version of the terms, for which organization, and when."""

    terms = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="acceptances")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="terms_acceptances"
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="terms_acceptances"
    )
    accepted_at = models.DateTimeField(_("accepted"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("terms acceptance")
        verbose_name_plural = _("terms acceptances")
        ordering = ["-accepted_at"]

    def __str__(self) -> str:
        return f"{self.terms} — {self.accepted_by}"
