"""What was bought and paid: cards, subscriptions, orders, payments, refunds, benefit grants.

Longer than the house's ~500 lines on purpose: these are billing's tables, declarations only (no
rules: those are in ``billing.services``), and their constraints refer to each other; one file is
the one place to read the schema the payment protocol (docs/payments.md) relies on.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core import clock
from core.money import format_money
from core.storage import private_storage
from membership.models import Country, Currency, Organization
from offers.models import Benefit, Offer, TermsAcceptance


class PaymentMethod(models.Model):
    """A card saved to the organization's Stripe customer. Removed cards are kept for invoices."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="payment_methods"
    )
    stripe_payment_method_id = models.CharField(
        _("Stripe payment method"), max_length=255, unique=True
    )
    brand = models.CharField(_("brand"), max_length=30)
    last4 = models.CharField(_("last 4 digits"), max_length=4)
    exp_month = models.PositiveSmallIntegerField(_("expiry month"))
    exp_year = models.PositiveSmallIntegerField(_("expiry year"))
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(_("added"), default=clock.now, editable=False)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        ordering = ["-is_default", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(is_default=True, removed_at__isnull=True),
                name="one_default_payment_method",
            )
        ]

    def __str__(self) -> str:
        return f"{self.brand.title()} •••• {self.last4}"

    @property
    def expiry_label(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year}"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    EXPIRED = "expired", _("Expired")
    CANCELED = "canceled", _("Canceled")


LIVE_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


class Subscription(models.Model):
    """An organization's subscription to an offer, one term at a time.

    ``current_term_end`` is the anniversary: the day the next term starts and the renewal is
    charged. Terms are anchored to ``started_on`` (see ``billing.terms.anniversary_date``).
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="subscriptions"
    )
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.ACTIVE,
    )
    started_on = models.DateField(_("start date"))
    term_number = models.PositiveIntegerField(_("term"), default=1)
    current_term_start = models.DateField(_("current term start"))
    current_term_end = models.DateField(_("anniversary"), db_index=True)
    auto_renew = models.BooleanField(_("auto-renew"), default=True)
    auto_renew_locked = models.BooleanField(
        _("auto-renew locked"),
        default=False,
        help_text=_("Auto-renew was turned off; it cannot be turned on again until a renewal."),
    )
    payment_method = models.ForeignKey(
        PaymentMethod,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subscriptions",
        verbose_name=_("payment method"),
    )
    cancel_at_term_end = models.BooleanField(_("cancel at end of term"), default=False)
    canceled_at = models.DateTimeField(_("canceled"), null=True, blank=True)
    ended_on = models.DateField(_("ended"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        # Ties (rows made under one frozen clock, or in one transaction) newest id first.
        ordering = ["-created_at", "-id"]
        indexes = [
            # The staff's subscription list, newest first, whole or by status.
            models.Index(fields=["-created_at", "-id"], name="subscription_newest_first"),
            models.Index(
                fields=["status", "-created_at", "-id"], name="subscription_status_newest"
            ),
        ]
        constraints = [
            # At most one live (active or past due) subscription per organization and offer.
            models.UniqueConstraint(
                fields=["organization", "offer"],
                condition=Q(status__in=["active", "past_due"]),
                name="one_live_subscription_per_offer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.offer.name} — {self.organization.name}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class SubscriptionEvent(models.Model):
    """Every state change of a subscription: who or what, when, from, to."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("by"), max_length=200, blank=True)
    kind = models.CharField(_("change"), max_length=40)
    from_status = models.CharField(_("from"), max_length=16, blank=True)
    to_status = models.CharField(_("to"), max_length=16, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("when"), default=clock.now)

    class Meta:
        verbose_name = _("subscription change")
        verbose_name_plural = _("subscription changes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.from_status} → {self.to_status}"


class OrderKind(models.TextChoices):
    PURCHASE = "purchase", pgettext_lazy("order kind", "Purchase")
    RENEWAL = "renewal", _("Renewal")


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSING = "processing", _("Processing payment")
    REQUIRES_ACTION = "requires_action", _("Waiting for card authentication")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Payment failed")
    CANCELED = "canceled", _("Canceled")
    REFUNDED = "refunded", _("Refunded")


OPEN_ORDER_STATUSES = (
    OrderStatus.PENDING,
    OrderStatus.PROCESSING,
    OrderStatus.REQUIRES_ACTION,
    OrderStatus.FAILED,
)
# Orders nobody is charging right now: a claim (``billing.services.payments``) may take them, and
# their terms, price and card may still change. No PaymentIntent of theirs can still charge.
CLAIMABLE_ORDER_STATUSES = (OrderStatus.PENDING, OrderStatus.FAILED)


class TaxTreatment(models.TextChoices):
    """How VAT applies to a sale (``billing.tax`` decides; docs/invoices.md)."""

    DOMESTIC = "domestic", _("VAT of the seller's country")
    EU_DESTINATION = "eu_destination", _("VAT of the buyer's EU country")
    REVERSE_CHARGE = "reverse_charge", _("Reverse charge")
    OUTSIDE_EU = "outside_eu", _("Outside the scope of EU VAT")


class Order(models.Model):
    """One term of an offer for one organization, and its payment.

    A purchase order becomes a subscription once paid; a renewal order belongs to the subscription
    and the term it renews, once: a unique row per (subscription, term) is what keeps a renewal
    from being charged twice.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="orders")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="orders")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, null=True, blank=True, related_name="orders"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=OrderKind.choices)
    term_number = models.PositiveIntegerField(_("term"))
    term_start = models.DateField(_("term start"), null=True, blank=True)
    term_end = models.DateField(_("term end"), null=True, blank=True)
    # What the card is charged: ``net_amount`` (the catalog price) plus ``tax_amount``. Set
    # together, by one statement, while nobody is charging the order (``billing.services.
    # orders``); the exactly-once protocol compares Stripe's amount with this one.
    amount = models.PositiveIntegerField(_("total charged (minor units)"))
    net_amount = models.PositiveIntegerField(_("net amount (minor units)"), default=0)
    tax_amount = models.PositiveIntegerField(_("tax (minor units)"), default=0)
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2, default=0)
    tax_treatment = models.CharField(
        _("tax treatment"), max_length=20, choices=TaxTreatment.choices, blank=True
    )
    tax_country = models.CharField(_("tax country"), max_length=2, blank=True)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    payment_method = models.ForeignKey(
        PaymentMethod, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    card_brand = models.CharField(_("card brand"), max_length=30, blank=True)
    card_last4 = models.CharField(_("card last 4"), max_length=4, blank=True)
    terms_acceptance = models.ForeignKey(
        TermsAcceptance, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    stripe_payment_intent_id = models.CharField(
        _("Stripe PaymentIntent"), max_length=255, blank=True, db_index=True
    )
    attempt_count = models.PositiveIntegerField(_("payment attempts"), default=0)
    claimed_at = models.DateTimeField(_("payment started"), null=True, blank=True)
    # Written by the UPDATE that claims an attempt, so a batch can read back which orders it won.
    claim_token = models.CharField(_("claim"), max_length=32, blank=True, editable=False)
    next_retry_on = models.DateField(_("next retry"), null=True, blank=True)
    retries_stopped = models.BooleanField(_("automatic retries stopped"), default=False)
    failure_code = models.CharField(_("failure code"), max_length=64, blank=True)
    failure_message = models.CharField(_("failure message"), max_length=500, blank=True)
    # A copy of the number of the order's invoice (``Invoice``), written in the transaction
    # that issues it, so lists and searches of orders need no join.
    invoice_number = models.CharField(
        _("invoice number"), max_length=32, unique=True, null=True, blank=True
    )
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    # The reconciliation's bookkeeping (billing.services.reconciliation): how many times it
    # looked this order's payment up without settling it, and why staff must look at it.
    reconcile_count = models.PositiveIntegerField(_("reconciliations"), default=0)
    attention_reason = models.CharField(_("needs attention because"), max_length=500, blank=True)
    attention_since = models.DateTimeField(_("needs attention since"), null=True, blank=True)
    attention_notified_at = models.DateTimeField(_("staff told"), null=True, blank=True)
    refunded_amount = models.PositiveIntegerField(_("refunded (minor units)"), default=0)
    created_at = models.DateTimeField(_("created"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "term_number"],
                condition=Q(kind="renewal"),
                name="one_renewal_order_per_term",
            ),
            # One purchase checkout in flight per organization and offer: two tabs share it.
            models.UniqueConstraint(
                fields=["organization", "offer"],
                condition=Q(
                    kind="purchase",
                    status__in=["pending", "processing", "requires_action", "failed"],
                ),
                name="one_open_purchase_per_offer",
            ),
        ]
        indexes = [
            # The staff's order list, newest first, whole or by status.
            models.Index(fields=["-created_at", "-id"], name="order_newest_first"),
            models.Index(fields=["status", "-created_at", "-id"], name="order_status_newest"),
            models.Index(fields=["status", "next_retry_on"]),
            # The reconciliation's scan: claims older than the claim timeout.
            models.Index(fields=["status", "claimed_at"]),
            # The staff overview's "renewals charged today", and the orders list by paid date.
            models.Index(
                fields=["paid_at"], condition=Q(paid_at__isnull=False), name="order_paid_at"
            ),
            models.Index(
                fields=["attention_since"],
                condition=Q(attention_since__isnull=False),
                name="order_needs_attention",
            ),
        ]

    def __str__(self) -> str:
        return self.invoice_number or f"Order {self.pk}"

    @property
    def idempotency_key(self) -> str:
        """The Stripe idempotency key of the current attempt, derived from this row."""
        return f"partnerportal-order-{self.pk}-attempt-{self.attempt_count}"


class PaymentAttempt(models.Model):
    """One PaymentIntent tried for an order, with what Stripe answered."""

    class Status(models.TextChoices):
        # Open: the PaymentIntent may still charge (docs/payments.md).
        STARTED = "started", _("Started")
        UNKNOWN = "unknown", _("Outcome unknown (to reconcile)")
        REQUIRES_ACTION = "requires_action", _("Requires authentication")
        # The order's payment.
        SUCCEEDED = "succeeded", _("Succeeded")
        # Closed without charging: Stripe declined it, or it was canceled before any charge.
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled before any charge")
        # It charged, but the order was paid by another attempt (or could not be paid any more):
        # refunded automatically.
        DUPLICATE = "duplicate", _("Charged twice: refund pending")
        REFUNDED = "refunded", _("Charged twice: refunded")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField(_("attempt"))
    off_session = models.BooleanField(_("off-session"), default=False)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    stripe_payment_intent_id = models.CharField(
        _("Stripe PaymentIntent"), max_length=255, blank=True, db_index=True
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.STARTED
    )
    failure_code = models.CharField(_("failure code"), max_length=64, blank=True)
    failure_message = models.CharField(_("failure message"), max_length=500, blank=True)
    # The automatic refund of a second successful charge (Status.DUPLICATE → REFUNDED).
    stripe_refund_id = models.CharField(_("Stripe refund"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("started"), default=clock.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment attempt")
        verbose_name_plural = _("payment attempts")
        ordering = ["order", "number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="one_attempt_number_per_order")
        ]
        indexes = [
            # The reconciliation's sweep of PaymentIntents that may still charge.
            models.Index(
                fields=["status"],
                condition=Q(status__in=["started", "unknown", "requires_action", "duplicate"]),
                name="payment_attempt_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.order} #{self.number}: {self.status}"


# Attempts whose PaymentIntent may still charge, or whose extra charge is still to be refunded.
OPEN_ATTEMPT_STATUSES = (
    PaymentAttempt.Status.STARTED,
    PaymentAttempt.Status.UNKNOWN,
    PaymentAttempt.Status.REQUIRES_ACTION,
    PaymentAttempt.Status.DUPLICATE,
)


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    stripe_refund_id = models.CharField(_("Stripe refund"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("refunded"), default=clock.now)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            # One refund per order keeps a double-clicked refund from paying out twice.
            models.UniqueConstraint(fields=["order"], name="one_refund_per_order")
        ]

    def __str__(self) -> str:
        return f"{format_money(self.amount, self.currency)} for {self.order}"


class BillingCycleRun(models.Model):
    """One run of the billing cycle: when it started, when its last step finished, what it did.

    Written by ``billing.services.cycle_runs`` for beat's run (the fan-out task and every task
    it queued add their counts and move ``finished_at`` on) and for ``run_billing_cycle``. The
    staff overview shows the last one; its figures for the day come from the records themselves
    (orders, payment attempts, reminders), which stay true whichever run did the work.
    """

    started_at = models.DateTimeField(_("started"), default=clock.now, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    renewals_due = models.PositiveIntegerField(_("renewals due"), default=0)
    renewals_charged = models.PositiveIntegerField(_("renewals charged"), default=0)
    renewals_failed = models.PositiveIntegerField(_("renewals failed"), default=0)
    renewals_retried = models.PositiveIntegerField(_("renewals retried"), default=0)
    subscriptions_expired = models.PositiveIntegerField(_("subscriptions expired"), default=0)
    reminders_sent = models.PositiveIntegerField(_("reminders sent"), default=0)

    class Meta:
        verbose_name = _("billing cycle run")
        verbose_name_plural = _("billing cycle runs")
        ordering = ["-started_at", "-id"]
        permissions = [
            # The admin's first page (partnerportal.overview): money, renewals and cases at once.
            ("view_overview", _("Can see the staff overview")),
        ]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None


class StripeEvent(models.Model):
    """A webhook event, stored once by its Stripe id."""

    event_id = models.CharField(_("event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100)
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received"), default=clock.now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class ReminderKind(models.TextChoices):
    EXPIRY_30 = "expiry_30", _("Expires in 30 days")
    EXPIRY_15 = "expiry_15", _("Expires in 15 days")
    EXPIRY_7 = "expiry_7", _("Expires in 7 days")
    EXPIRY_1 = "expiry_1", _("Expires tomorrow")
    GRACE_STARTED = "grace_started", _("Expired today; grace window started")
    GRACE_ENDING = "grace_ending", _("Grace window ends in 7 days")
    PURCHASE_RECEIPT = "purchase_receipt", _("Purchase receipt")
    UPCOMING_RENEWAL = "upcoming_renewal", _("Upcoming renewal")
    CARD_EXPIRING = "card_expiring", _("Card expires before renewal")
    RENEWAL_RECEIPT = "renewal_receipt", _("Renewal receipt")
    RENEWAL_FAILED = "renewal_failed", _("Renewal failed")
    EXPIRED = "expired", _("Subscription expired")


class ReminderSent(models.Model):
    """A reminder sent once per subscription, term and kind (``attempt`` for failure notices)."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="reminders"
    )
    term_number = models.PositiveIntegerField(_("term"))
    kind = models.CharField(_("kind"), max_length=32, choices=ReminderKind.choices)
    attempt = models.PositiveIntegerField(_("attempt"), default=0)
    sent_at = models.DateTimeField(_("sent"), default=clock.now)
    recipients = models.JSONField(_("recipients"), default=list)

    class Meta:
        verbose_name = _("reminder sent")
        verbose_name_plural = _("reminders sent")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "term_number", "kind", "attempt"],
                name="one_reminder_per_term",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.subscription}"


class BenefitGrant(models.Model):
    """A benefit given to a subscription for one term; activation is recorded with its time."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="benefit_grants"
    )
    benefit = models.ForeignKey(Benefit, on_delete=models.PROTECT, related_name="grants")
    term_number = models.PositiveIntegerField(_("term"))
    quantity = models.PositiveIntegerField(_("quantity"))
    used_quantity = models.PositiveIntegerField(_("used"), default=0)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("benefit grant")
        verbose_name_plural = _("benefit grants")
        ordering = ["benefit__position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "benefit", "term_number"], name="one_grant_per_benefit_term"
            )
        ]

    def __str__(self) -> str:
        return f"{self.benefit.name} (term {self.term_number})"


class ProductKey(models.Model):
    """A product key from a pool staff load; given out once, to one organization."""

    benefit = models.ForeignKey(Benefit, on_delete=models.PROTECT, related_name="product_keys")
    key = models.CharField(_("product key"), max_length=64, unique=True)
    grant = models.ForeignKey(
        BenefitGrant, on_delete=models.PROTECT, null=True, blank=True, related_name="product_keys"
    )
    issued_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    loaded_at = models.DateTimeField(_("loaded"), default=clock.now)

    class Meta:
        verbose_name = _("product key")
        verbose_name_plural = _("product keys")
        ordering = ["loaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.benefit.name}: …{self.key[-5:]}"


class SeatAssignment(models.Model):
    """A seat or license of a benefit grant, assigned to a person by email."""

    grant = models.ForeignKey(BenefitGrant, on_delete=models.CASCADE, related_name="assignments")
    email = models.EmailField(_("assigned to"))
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(_("assigned"), default=clock.now)

    class Meta:
        verbose_name = _("seat assignment")
        verbose_name_plural = _("seat assignments")
        ordering = ["assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["grant", "email"], name="one_seat_per_person")
        ]

    def __str__(self) -> str:
        return self.email


# Invoices -----------------------------------------------------------------------------------


class TaxRate(models.Model):
    """A country's standard VAT rate from a date on; staff keep them in the admin.

    The rate in force on a day is the one with the latest ``valid_from`` not after it. Invoices
    copy the rate they applied, so changing or adding a rate never changes an issued invoice.
    """

    country = models.CharField(_("country"), max_length=2, choices=Country.choices)
    rate = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2)
    valid_from = models.DateField(_("valid from"))

    class Meta:
        verbose_name = _("VAT rate")
        verbose_name_plural = _("VAT rates")
        ordering = ["country", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["country", "valid_from"], name="one_rate_per_day"),
            models.CheckConstraint(
                condition=Q(rate__gte=0, rate__lt=100), name="tax_rate_is_a_percentage"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.rate} % from {self.valid_from}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


# The series' prefixes: INV-2027-000001, CN-2027-000001.
INVOICE_PREFIXES = {InvoiceKind.INVOICE: "INV", InvoiceKind.CREDIT_NOTE: "CN"}


class InvoiceSeries(models.Model):
    """The counter of one series (a document type and a year): the last number it gave.

    Numbers are taken under a lock on this row, in the transaction that issues the documents,
    so they have no gaps and no repeats (``billing.services.invoices``).
    """

    kind = models.CharField(_("document type"), max_length=16, choices=InvoiceKind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("invoice series")
        verbose_name_plural = _("invoice series")
        constraints = [
            models.UniqueConstraint(fields=["kind", "year"], name="one_series_per_kind_and_year")
        ]

    def __str__(self) -> str:
        return f"{INVOICE_PREFIXES[self.kind]}-{self.year}: {self.last_number}"


class IssuedInvoiceIsFinal(Exception):
    """An issued invoice or credit note is never edited: a mistake is corrected by a credit
    note."""


class Invoice(models.Model):
    """An invoice or a credit note: a legal document, frozen when it is issued.

    Both parties, the lines, the tax and how it was paid are copied in at issue (the seller
    from settings, the buyer from its organization), so later changes to either never reach
    it. Amounts are minor units, negative on a credit note. ``pdf`` holds the document's bytes
    from its first rendering on (docs/invoices.md).
    """

    kind = models.CharField(_("document type"), max_length=16, choices=InvoiceKind.choices)
    number = models.CharField(_("number"), max_length=32, unique=True)
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("number in its series"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="invoices")
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="invoices"
    )
    # A credit note: the invoice it corrects and the refund it documents.
    credited_invoice = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        verbose_name=_("corrects invoice"),
    )
    refund = models.OneToOneField(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="credit_note"
    )
    issued_at = models.DateTimeField(_("issued"))
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    seller_name = models.CharField(_("seller"), max_length=200)
    seller_address = models.TextField(_("seller address"))
    seller_country = models.CharField(_("seller country"), max_length=2)
    seller_vat_id = models.CharField(_("seller VAT ID"), max_length=32)
    buyer_name = models.CharField(_("buyer"), max_length=200)
    buyer_address = models.TextField(_("buyer address"))
    buyer_country = models.CharField(_("buyer country"), max_length=2)
    buyer_vat_id = models.CharField(_("buyer VAT ID"), max_length=32, blank=True)
    buyer_partner_id = models.CharField(_("Partner ID"), max_length=7)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    net_amount = models.IntegerField(_("net amount (minor units)"))
    tax_amount = models.IntegerField(_("tax (minor units)"))
    total_amount = models.IntegerField(_("total (minor units)"))
    tax_treatment = models.CharField(
        _("tax treatment"), max_length=20, choices=TaxTreatment.choices
    )
    # The legal wording the treatment requires ("Reverse charge — …"), in the invoice's language.
    tax_note = models.CharField(_("tax note"), max_length=300, blank=True)
    card_brand = models.CharField(_("card brand"), max_length=30, blank=True)
    card_last4 = models.CharField(_("card last 4"), max_length=4, blank=True)
    paid_at = models.DateTimeField(_("paid (refunded, for a credit note)"))
    pdf = models.BinaryField(_("PDF"), null=True, editable=False)
    pdf_sha256 = models.CharField(_("PDF SHA-256"), max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "year", "sequence"], name="one_document_per_series_number"
            ),
            # One invoice per paid order, and one credit note (a refund is once per order).
            models.UniqueConstraint(fields=["order", "kind"], name="one_document_per_order"),
            models.CheckConstraint(
                condition=Q(total_amount=models.F("net_amount") + models.F("tax_amount")),
                name="invoice_total_is_net_plus_tax",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="invoice",
                        credited_invoice__isnull=True,
                        refund__isnull=True,
                        total_amount__gte=0,
                    )
                    | Q(
                        kind="credit_note",
                        credited_invoice__isnull=False,
                        refund__isnull=False,
                        total_amount__lte=0,
                    )
                ),
                name="credit_notes_correct_an_invoice",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-issued_at"]),
            # The staff overview's revenue by month and currency: read from the index alone (an
            # issued document is never updated, so the visibility map lets PostgreSQL skip the
            # wide rows).
            models.Index(
                fields=["issued_at"], include=["currency", "net_amount"], name="invoice_revenue"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise IssuedInvoiceIsFinal(f"{self.number} is issued; issue a credit note instead.")
        super().save(*args, **kwargs)

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE

    @property
    def filename(self) -> str:
        return f"{self.number}.pdf"


class InvoiceLine(models.Model):
    """What was sold (or credited), as the document prints it, in the invoice's language."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("position"), default=1)
    description = models.CharField(_("description"), max_length=300)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    term_start = models.DateField(_("term start"), null=True, blank=True)
    term_end = models.DateField(_("term end"), null=True, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    net_amount = models.IntegerField(_("net amount (minor units)"))
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position"]

    def __str__(self) -> str:
        return self.description


class InvoiceTaxLine(models.Model):
    """The tax of a document per rate: the taxable base, the rate and the tax (art. 226 (8)
    to (10) of the VAT Directive)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="tax_lines")
    rate = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2)
    taxable_amount = models.IntegerField(_("taxable base (minor units)"))
    tax_amount = models.IntegerField(_("tax (minor units)"))

    class Meta:
        verbose_name = _("tax line")
        verbose_name_plural = _("tax lines")
        ordering = ["invoice", "-rate"]

    def __str__(self) -> str:
        return f"{self.rate} %"


class BackgroundJobKind(models.TextChoices):
    PRODUCT_KEYS_LOAD = "product_keys_load", _("Load product keys")
    INVOICES_EXPORT = "invoices_export", _("Export invoices and credit notes")


class BackgroundJobStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


FINISHED_JOB_STATUSES = (BackgroundJobStatus.DONE, BackgroundJobStatus.FAILED)


def background_job_path(instance: BackgroundJob, filename: str) -> str:
    return f"jobs/{instance.kind}/{clock.now():%Y%m%d%H%M%S}-{filename}"


class BackgroundJob(models.Model):
    """Long staff work run by a Celery worker, not by the request that asked for it: loading a
    product-key pool, exporting invoices for a period (``billing.services.background_jobs``).

    The admin's progress page reads ``progress`` of ``total``. Files (the uploaded key list, the
    CSV made) are private (``core.storage``): only their creator downloads them, through the
    admin. ``parameters`` are what the job was asked (a benefit id, a period); ``result`` what it
    did (keys added and skipped, documents exported). The files of a job finished more than
    ``BACKGROUND_JOB_FILES_KEEP_DAYS`` ago are deleted; the row stays.
    """

    kind = models.CharField(_("job"), max_length=32, choices=BackgroundJobKind.choices)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=BackgroundJobStatus.choices,
        default=BackgroundJobStatus.QUEUED,
    )
    progress = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("to do"), default=0)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    input_file = models.FileField(
        _("input file"),
        storage=private_storage,
        upload_to=background_job_path,
        blank=True,
        max_length=255,
    )
    result_file = models.FileField(
        _("result file"),
        storage=private_storage,
        upload_to=background_job_path,
        blank=True,
        max_length=255,
    )
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("started"), default=clock.now, editable=False)
    started_at = models.DateTimeField(_("running since"), null=True, blank=True)
    # Written with each step of progress: a running job whose heartbeat is old has lost its
    # worker, and the sweep ends it (``billing.services.background_jobs``).
    heartbeat_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_JOB_STATUSES

    @property
    def percent(self) -> int:
        if self.status == BackgroundJobStatus.DONE:
            return 100
        return int(self.progress * 100 / self.total) if self.total else 0
