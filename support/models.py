"""Cases: service requests, their messages and attachments, and the staff's history of them."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.models import BenefitGrant, Order, Subscription
from core import clock
from core.storage import PrivateStorage
from membership.models import Organization


class IssueType(models.TextChoices):
    INVOICE_PAYMENT = (
        "invoice_payment",
        _("Help with partner invoice, payment or reconciliation file"),
    )
    MEMBERSHIP_OFFERS = "membership_offers", _("Membership, offers and benefits")
    PROFILE = "profile", _("Can't manage my profile")
    USERS_PERMISSIONS = "users_permissions", _("Users and permissions")
    # Help with a Microsoft product itself: each request uses one of the organization's
    # technical support incidents (an Action Pack benefit, docs/product.md).
    PRODUCT_SUPPORT = "product_support", _("Technical support for a Microsoft product")
    TECHNICAL = "technical", _("Technical problem with the portal")
    OTHER = "other", _("Other")


class Severity(models.TextChoices):
    A = "A", _("A — critical impact")
    B = "B", _("B — moderate impact")
    C = "C", _("C — minimal impact")


class RequestStatus(models.TextChoices):
    NEW = "new", _("New")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_ON_PARTNER = "waiting_on_partner", _("Waiting on partner")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


OPEN_REQUEST_STATUSES = (
    RequestStatus.NEW,
    RequestStatus.IN_PROGRESS,
    RequestStatus.WAITING_ON_PARTNER,
    RequestStatus.RESOLVED,
)


class RecommendedSolution(models.Model):
    """An article shown for an issue type before the partner writes a request."""

    issue_type = models.CharField(_("issue type"), max_length=32, choices=IssueType.choices)
    title = models.CharField(_("title"), max_length=200)
    title_es = models.CharField(_("title (Spanish)"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    body_es = models.TextField(_("text (Spanish)"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("recommended solution")
        verbose_name_plural = _("recommended solutions")
        ordering = ["issue_type", "position", "id"]

    def __str__(self) -> str:
        return self.title


class ServiceRequest(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="service_requests"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_requests"
    )
    issue_type = models.CharField(_("issue type"), max_length=32, choices=IssueType.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    severity = models.CharField(
        _("severity"), max_length=1, choices=Severity.choices, default=Severity.C
    )
    status = models.CharField(
        _("status"),
        max_length=24,
        choices=RequestStatus.choices,
        default=RequestStatus.NEW,
        db_index=True,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_requests",
        limit_choices_to={"is_staff": True},
        verbose_name=_("assignee"),
    )
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="service_requests",
    )
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="service_requests"
    )
    # The term's incidents this request used (technical product support only), and when staff
    # gave it back because the case was not a product issue (at most once).
    support_incident = models.ForeignKey(
        BenefitGrant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="support_cases",
        verbose_name=_("support incident"),
    )
    support_incident_given_back_at = models.DateTimeField(
        _("support incident given back"), null=True, blank=True
    )
    contact_email = models.EmailField(_("contact email"))
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("created"), default=clock.now)
    first_response_due = models.DateTimeField(_("first response due"))
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last update"), default=clock.now, db_index=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        ordering = ["-last_activity_at", "-id"]
        indexes = [
            # The partner's list: their organization's (or their own) requests, newest first.
            models.Index(fields=["organization", "requester", "-last_activity_at"]),
            # Staff's "response due within 1 hour / overdue" filter.
            models.Index(fields=["first_responded_at", "first_response_due"]),
            # The staff overview's counts of the same: unanswered cases only, with their status
            # (closed ones do not count), so the count is read from the index alone.
            models.Index(
                fields=["first_response_due"],
                include=["status"],
                condition=models.Q(first_responded_at__isnull=True),
                name="case_unanswered_due",
            ),
            # Staff's case list, newest activity first: whole, or by status or assignee.
            models.Index(fields=["-last_activity_at", "-id"], name="case_latest_activity"),
            models.Index(fields=["status", "-last_activity_at", "-id"], name="case_status_latest"),
            models.Index(
                fields=["assignee", "-last_activity_at", "-id"], name="case_assignee_latest"
            ),
        ]
        permissions = [
            ("cancel_subscription", _("Can cancel subscriptions and refund from a case")),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def number(self) -> str:
        return f"SR-{self.pk:07d}" if self.pk else "SR-…"

    @property
    def is_open(self) -> bool:
        return self.status != RequestStatus.CLOSED


class Message(models.Model):
    """A public reply (shown to the partner) or an internal note (staff only)."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(_("message"))
    is_internal = models.BooleanField(_("internal note"), default=False)
    is_from_staff = models.BooleanField(_("from staff"), default=False)
    created_at = models.DateTimeField(_("sent"), default=clock.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:60]


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"support/{instance.request_id}/{clock.now():%Y%m%d%H%M%S}-{Path(filename).name}"


class PrivateAttachmentStorage(PrivateStorage):
    """Attachments live beside MEDIA_ROOT, never under it: MEDIA_URL must not serve them.

    They are read only through views that check the organization (partners) or the staff
    permission (admin). ``SUPPORT_ATTACHMENT_ROOT`` overrides the place.
    """

    root_setting = "SUPPORT_ATTACHMENT_ROOT"

    def url(self, name: str | None) -> str:
        raise ValueError("Support attachments have no public URL; link to the download views.")


def attachment_storage() -> PrivateAttachmentStorage:
    return PrivateAttachmentStorage()


class Attachment(models.Model):
    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_path, storage=attachment_storage)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), default=clock.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.original_name


class CannedReply(models.Model):
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class RequestChange(models.Model):
    """The case history: who changed what, when (status, assignee, cancellation, refund…)."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    field = models.CharField(_("field"), max_length=40)
    old_value = models.CharField(_("from"), max_length=200, blank=True)
    new_value = models.CharField(_("to"), max_length=200, blank=True)
    is_public = models.BooleanField(_("shown to partner"), default=True)
    created_at = models.DateTimeField(_("when"), default=clock.now)

    class Meta:
        verbose_name = _("case change")
        verbose_name_plural = _("case changes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value} → {self.new_value}"
