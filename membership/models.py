"""Who: organizations, their people and roles, competencies, invitations, and the audit trail."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core import clock
from core.text import no_links


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Partners sign in with their email; staff are users with ``is_staff``."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True, validators=[no_links])
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Empty: follow the browser's language."),
    )
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=clock.now)
    # Raised to end every session of the person at once (their second factor was reset).
    session_generation = models.PositiveIntegerField(default=0, editable=False)
    # Where they worked last (the organization switcher): where their next session starts.
    last_organization = models.ForeignKey(
        "Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("last used organization"),
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        permissions = [("reset_second_factor", _("Can reset a person's second sign-in factor"))]

    def _get_session_auth_hash(self, secret=None) -> str:
        # Django signs each session with a hash of the password, so a new password ends the other
        # sessions; the generation does the same for a reset second factor. Generation 0 keeps
        # Django's own hash, so sessions from before this field stay valid.
        if not self.session_generation:
            return super()._get_session_auth_hash(secret=secret)
        key_salt = "membership.User.get_session_auth_hash"
        value = f"{self.password}:{self.session_generation}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        # Staff never join partner organizations (docs/product.md): not by becoming staff either.
        if self.is_staff and self.pk and self.memberships.exists():
            raise ValidationError(
                _(
                    "A staff account cannot belong to a partner organization: remove its "
                    "memberships first."
                ),
                code="staff_member",
            )

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Country(models.TextChoices):
    """Where organizations are established: the 27 EU member states (whose VAT rules invoices
    follow, ``billing.tax``) and the other countries partners come from."""

    AT = "AT", _("Austria")
    BE = "BE", _("Belgium")
    BG = "BG", _("Bulgaria")
    HR = "HR", _("Croatia")
    CY = "CY", _("Cyprus")
    CZ = "CZ", _("Czechia")
    DK = "DK", _("Denmark")
    EE = "EE", _("Estonia")
    FI = "FI", _("Finland")
    FR = "FR", _("France")
    DE = "DE", _("Germany")
    GR = "GR", _("Greece")
    HU = "HU", _("Hungary")
    IE = "IE", _("Ireland")
    IT = "IT", _("Italy")
    LV = "LV", _("Latvia")
    LT = "LT", _("Lithuania")
    LU = "LU", _("Luxembourg")
    MT = "MT", _("Malta")
    MX = "MX", _("Mexico")
    NL = "NL", _("Netherlands")
    PL = "PL", _("Poland")
    PT = "PT", _("Portugal")
    RO = "RO", _("Romania")
    SK = "SK", _("Slovakia")
    SI = "SI", _("Slovenia")
    ES = "ES", _("Spain")
    SE = "SE", _("Sweden")
    GB = "GB", _("United Kingdom")
    US = "US", _("United States")


class Currency(models.TextChoices):
    USD = "USD", "USD"
    EUR = "EUR", "EUR"


partner_id_validator = RegexValidator(r"^\d{7}$", _("A Partner ID has exactly 7 digits."))


class Organization(models.Model):
    """A partner company. ``network_member_since`` empty means it has not joined the network."""

    name = models.CharField(_("name"), max_length=200, validators=[no_links])
    partner_id = models.CharField(
        _("Partner ID"), max_length=7, unique=True, validators=[partner_id_validator]
    )
    country = models.CharField(_("country"), max_length=2, choices=Country.choices)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    region = models.CharField(_("state or province"), max_length=100, blank=True)
    vat_id = models.CharField(_("VAT ID"), max_length=32, blank=True)
    invoice_language = models.CharField(
        _("invoice language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default="en",
        help_text=_("The language of the organization's invoices and credit notes."),
    )
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    network_member_since = models.DateField(_("network member since"), null=True, blank=True)
    stripe_customer_id = models.CharField(
        _("Stripe customer"), max_length=255, blank=True, editable=False
    )
    # The SetupIntent card entry uses until it saves a card: made when a partner starts typing a
    # card (never on a page view), reused by every later card entry (billing.services).
    stripe_setup_intent_id = models.CharField(
        _("Stripe SetupIntent"), max_length=255, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.partner_id})"

    @property
    def is_network_member(self) -> bool:
        return self.network_member_since is not None

    @property
    def billing_address_lines(self) -> list[str]:
        city_line = " ".join(p for p in (self.postal_code, self.city) if p)
        parts = [self.address_line1, self.address_line2, city_line, self.region]
        return [p for p in parts if p] + [self.get_country_display()]


class Role(models.TextChoices):
    GLOBAL_ADMIN = "global_admin", _("Global admin")
    MPN_PARTNER_ADMIN = "mpn_partner_admin", _("MPN partner admin")
    BILLING_ADMIN = "billing_admin", _("Billing admin")
    ACCOUNT_ADMIN = "account_admin", _("Account admin")


class Membership(models.Model):
    """A user belongs to an organization; roles come through ``RoleGrant`` (several allowed)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("organization"),
    )
    created_at = models.DateTimeField(_("added"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization.name}"

    def clean(self) -> None:
        if self.user_id and self.user.is_staff:
            raise ValidationError(
                _("Staff accounts cannot be added to partner organizations."), code="staff"
            )

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(grant.role for grant in self.role_grants.all())


class RoleGrant(models.Model):
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            models.UniqueConstraint(fields=["membership", "role"], name="one_grant_per_role")
        ]

    def __str__(self) -> str:
        return self.get_role_display()


class CompetencyArea(models.TextChoices):
    CLOUD_PLATFORM = "cloud_platform", _("Cloud Platform")
    APPLICATION_DEVELOPMENT = "application_development", _("Application Development")
    CLOUD_PRODUCTIVITY = "cloud_productivity", _("Cloud Productivity")
    DATA_ANALYTICS = "data_analytics", _("Data Analytics")
    DATACENTER = "datacenter", _("Datacenter")
    SECURITY = "security", _("Security")


class CompetencyLevel(models.TextChoices):
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")


class Competency(models.Model):
    """An earned designation, granted by staff in the admin."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="competencies"
    )
    area = models.CharField(_("solution area"), max_length=40, choices=CompetencyArea.choices)
    level = models.CharField(_("level"), max_length=10, choices=CompetencyLevel.choices)
    anniversary = models.DateField(_("anniversary"))
    granted_at = models.DateTimeField(_("granted"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("competency")
        verbose_name_plural = _("competencies")
        constraints = [
            models.UniqueConstraint(fields=["organization", "area"], name="one_competency_per_area")
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.get_area_display()}"


class Invitation(models.Model):
    """An invitation to join an organization with ``roles``: nothing changes for the person until
    they accept it (a newcomer chooses a password through its link; someone with an account
    signs in, second factor included, and accepts). The link's token is made by the worker that
    emails it; only its hash is stored (empty until the email is sent)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    # The name the inviter typed: shown to the team instead of the account's own name, which
    # would tell them whether the address had an account.
    full_name = models.CharField(_("name"), max_length=150, blank=True, validators=[no_links])
    roles = models.JSONField(_("roles"), default=list, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("sent"), default=clock.now, editable=False)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"{self.user} → {self.organization.name}"


class AuditEvent(models.Model):
    """Who did what, when and from where: sign-ins, roles, purchases, renewals, refunds…"""

    class Action(models.TextChoices):
        SIGN_IN = "sign_in", _("Signed in")
        SIGN_IN_FAILED = "sign_in_failed", _("Sign-in failed")
        SIGN_OUT = "sign_out", _("Signed out")
        USER_INVITED = "user_invited", _("User invited")
        INVITATION_CANCELED = "invitation_canceled", _("Invitation canceled")
        INVITATION_DECLINED = "invitation_declined", _("Invitation declined")
        USER_ADDED = "user_added", _("User added")
        USER_REMOVED = "user_removed", _("User removed")
        ROLES_CHANGED = "roles_changed", _("Roles changed")
        PROFILE_CHANGED = "profile_changed", _("Organization profile changed")
        PURCHASE = "purchase", pgettext_lazy("audit action", "Purchase")
        RENEWAL = "renewal", _("Renewal")
        AUTO_RENEW_OFF = "auto_renew_off", _("Auto-renew turned off")
        PAYMENT_METHOD_ADDED = "payment_method_added", _("Payment method added")
        PAYMENT_METHOD_REMOVED = "payment_method_removed", _("Payment method removed")
        CANCELLATION = "cancellation", _("Cancellation")
        REFUND = "refund", _("Refund")
        BENEFIT_ACTIVATED = "benefit_activated", _("Benefit activated")
        SUPPORT_INCIDENT_USED = "support_incident_used", _("Support incident used")
        SUPPORT_INCIDENT_GIVEN_BACK = (
            "support_incident_given_back",
            _("Support incident given back"),
        )
        SECOND_FACTOR_ADDED = "second_factor_added", _("Second factor added")
        SECOND_FACTOR_REMOVED = "second_factor_removed", _("Second factor removed")
        SECOND_FACTOR_RESET = "second_factor_reset", _("Second factor reset")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_events"
    )
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("actor"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    target = models.CharField(_("target"), max_length=200, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), default=clock.now, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The audit trail in the admin, newest first, whole or by action.
            models.Index(fields=["-created_at", "-id"], name="audit_newest_first"),
            models.Index(fields=["action", "-created_at", "-id"], name="audit_action_newest"),
            # "Has this account signed in from this address before?" (the sign-in lockout).
            models.Index(fields=["target", "action", "ip_address"], name="audit_sign_in_address"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor_label or self.actor}"
