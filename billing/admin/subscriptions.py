"""Subscriptions in the admin: each one's state-change history and renewal attempts with Stripe
ids and failure reasons, "Retry renewal charge" for past-due ones (the same service as the
billing cycle, with the same claim) and "Cancel subscription" (``billing.admin.cancellations``).
Also the history and the reminders sent, as lists of their own.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from billing.admin.cancellations import subscription_admin_urls, subscription_cancel_action
from billing.admin.read_only import ReadOnlyAdminMixin, ReadOnlyInline
from billing.models import (
    BillingCycleRun,
    Order,
    OrderKind,
    OrderStatus,
    PaymentAttempt,
    ReminderSent,
    Subscription,
    SubscriptionEvent,
    SubscriptionStatus,
)
from billing.services.cancellations import CANCEL_PERMISSION
from billing.services.renewals import RenewalOutcome, RenewalResult, subscription_retry_renewal
from billing.terms import anniversaries_renewable_on
from core import clock
from core.admin import PARTNER_ID, LargeTableAdmin, exactly
from core.money import format_money


class SubscriptionEventInline(ReadOnlyInline):
    model = SubscriptionEvent
    verbose_name_plural = _("state-change history")
    fields = ("created_at", "kind", "from_status", "to_status", "actor_label", "note")
    readonly_fields = fields
    ordering = ("created_at", "id")


class OrderInline(ReadOnlyInline):
    model = Order
    fk_name = "subscription"
    verbose_name_plural = _("orders (purchase and renewals)")
    fields = (
        "term_number",
        "kind",
        "status",
        "amount_display",
        "attempt_count",
        "next_retry_on",
        "retries_stopped",
        "failure",
        "stripe_payment_intent_id",
        "invoice_number",
        "paid_at",
    )
    readonly_fields = fields
    ordering = ("-term_number", "-id")
    show_change_link = True

    @admin.display(description=_("amount"))
    def amount_display(self, obj: Order) -> str:
        return format_money(obj.amount, obj.currency)

    @admin.display(description=_("failure"))
    def failure(self, obj: Order) -> str:
        return f"{obj.failure_code}: {obj.failure_message}" if obj.failure_code else "—"


class AnniversaryFilter(admin.SimpleListFilter):
    """Where the anniversary stands, the way billing staff look at renewals."""

    title = _("anniversary")
    parameter_name = "anniversary"

    def lookups(self, request, model_admin):
        _first, last = anniversaries_renewable_on(clock.today())
        window_days = (last - clock.today()).days
        return [
            ("today", _("Today")),
            # A calendar bucket for planning, not a rule.
            ("next_30", _("In the next 30 days")),
            # Kept as "next_90" in the URL whatever the setting: bookmarks keep working.
            (
                "next_90",
                _("In the next %(days)d days (renewal window open)") % {"days": window_days},
            ),
            ("grace", _("Passed: in the grace window")),
            ("grace_over", _("Passed: grace window over")),
        ]

    def queryset(self, request, queryset):
        today = clock.today()
        # The first anniversary still in its grace window, the last whose renewal window opened.
        first, last = anniversaries_renewable_on(today)
        ranges = {
            "today": (today, today),
            "next_30": (today, today + dt.timedelta(days=30)),
            "next_90": (today, last),
            "grace": (first, today - dt.timedelta(days=1)),
        }
        if self.value() in ranges:
            return queryset.filter(current_term_end__range=ranges[self.value()])
        if self.value() == "grace_over":
            return queryset.filter(current_term_end__lt=first)
        return queryset


@admin.register(Subscription)
class SubscriptionAdmin(LargeTableAdmin):
    list_display = (
        "organization",
        "offer",
        "status",
        "term_number",
        "current_term_end",
        "auto_renew",
        "payment_method",
        "renewal",
    )
    list_select_related = ("organization", "offer", "payment_method")
    list_filter = (
        "status",
        AnniversaryFilter,
        "auto_renew",
        "auto_renew_locked",
        "cancel_at_term_end",
        "offer",
        "organization__currency",
        # The staff overview's links: renewals due by week, Action Packs won and lost by month.
        ("current_term_end", admin.DateFieldListFilter),
        ("started_on", admin.DateFieldListFilter),
        ("ended_on", admin.DateFieldListFilter),
    )
    search_fields = ("organization__name", "offer__name")
    exact_searches = [(PARTNER_ID, exactly("organization__partner_id"))]
    readonly_fields = (
        "organization",
        "offer",
        "status",
        "started_on",
        "term_number",
        "current_term_start",
        "current_term_end",
        "auto_renew",
        "auto_renew_locked",
        "payment_method",
        "cancel_at_term_end",
        "canceled_at",
        "ended_on",
        "created_at",
        "updated_at",
        "renewal_attempts",
    )
    fieldsets = (
        (
            None,
            {"fields": ("organization", "offer", "status", "payment_method", "started_on")},
        ),
        (
            _("Term and renewal"),
            {
                "fields": (
                    "term_number",
                    "current_term_start",
                    "current_term_end",
                    "auto_renew",
                    "auto_renew_locked",
                    "cancel_at_term_end",
                    "canceled_at",
                    "ended_on",
                )
            },
        ),
        (_("Renewal attempts"), {"fields": ("renewal_attempts",)}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = [SubscriptionEventInline, OrderInline]
    actions = ["retry_renewal_charge", subscription_cancel_action]
    change_form_template = "admin/billing/subscription/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # subscriptions start from a paid purchase, never by hand

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # history; cancel instead

    @admin.display(description=_("next renewal"))
    def renewal(self, obj: Subscription) -> str:
        """How the next term gets paid, from its renewal order (annotated by get_queryset)."""
        if obj.next_order_status == OrderStatus.PAID:
            return str(_("paid"))
        if obj.next_order_status == OrderStatus.PROCESSING:
            return str(_("being charged"))
        if obj.next_order_retries_stopped:
            return str(_("retries stopped: renew by hand"))
        if obj.next_order_retry_on and obj.status == SubscriptionStatus.PAST_DUE:
            return str(_("retry on %(date)s") % {"date": obj.next_order_retry_on.isoformat()})
        return str(_("automatic")) if obj.auto_renew else str(_("by hand"))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscription]:
        next_order = Order.objects.filter(
            subscription=OuterRef("pk"),
            kind=OrderKind.RENEWAL,
            term_number=OuterRef("term_number") + 1,
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                next_order_status=Subquery(next_order.values("status")[:1]),
                next_order_retry_on=Subquery(next_order.values("next_retry_on")[:1]),
                next_order_retries_stopped=Subquery(next_order.values("retries_stopped")[:1]),
            )
        )

    @admin.display(description=_("renewal attempts"))
    def renewal_attempts(self, obj: Subscription) -> str:
        attempts = (
            PaymentAttempt.objects.filter(order__subscription=obj, order__kind=OrderKind.RENEWAL)
            .select_related("order")
            .order_by("-order__term_number", "-number")
        )
        rows = format_html_join(
            "\n",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>"
            "<td>{}</td></tr>",
            (
                (
                    attempt.order.term_number,
                    attempt.number,
                    attempt.created_at.strftime("%Y-%m-%d %H:%M"),
                    _("off-session (job)") if attempt.off_session else _("in the browser"),
                    attempt.get_status_display(),
                    attempt.stripe_payment_intent_id or "—",
                    f"{attempt.failure_code}: {attempt.failure_message}"
                    if attempt.failure_code
                    else "",
                )
                for attempt in attempts
            ),
        )
        if not rows:
            return str(_("No renewal has been attempted."))
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("term"),
            _("attempt"),
            _("started"),
            _("how"),
            _("status"),
            _("Stripe PaymentIntent"),
            _("failure"),
            rows,
        )

    # "Retry renewal charge": a list action and a button on the subscription's page.

    def _retry(self, request: HttpRequest, subscription_id: int) -> RenewalResult:
        return subscription_retry_renewal(subscription_id=subscription_id, staff=request.user)

    def _report(self, request: HttpRequest, results: list[RenewalResult]) -> None:
        by_outcome: dict[str, int] = {}
        for result in results:
            by_outcome[result.outcome] = by_outcome.get(result.outcome, 0) + 1
        if renewed := by_outcome.get(RenewalOutcome.RENEWED):
            message = ngettext("%d renewal charged.", "%d renewals charged.", renewed) % renewed
            self.message_user(request, message, messages.SUCCESS)
        if failed := by_outcome.get(RenewalOutcome.FAILED):
            message = (
                ngettext(
                    "%d renewal charge failed again; the partner was emailed.",
                    "%d renewal charges failed again; the partners were emailed.",
                    failed,
                )
                % failed
            )
            self.message_user(request, message, messages.WARNING)
        if pending := by_outcome.get(RenewalOutcome.PENDING):
            message = (
                ngettext(
                    "%d payment is still being confirmed; it will be settled automatically.",
                    "%d payments are still being confirmed; they will be settled automatically.",
                    pending,
                )
                % pending
            )
            self.message_user(request, message, messages.INFO)
        if skipped := by_outcome.get(RenewalOutcome.SKIPPED):
            message = (
                ngettext(
                    "%d subscription was not charged: it is not past due, its grace window is "
                    "over, auto-renew is off, or its renewal is being paid right now.",
                    "%d subscriptions were not charged: they are not past due, their grace window "
                    "is over, auto-renew is off, or their renewal is being paid right now.",
                    skipped,
                )
                % skipped
            )
            self.message_user(request, message, messages.WARNING)

    @admin.action(description=_("Retry renewal charge"), permissions=["change"])
    def retry_renewal_charge(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        results = [self._retry(request, pk) for pk in queryset.values_list("pk", flat=True)]
        self._report(request, results)

    def get_urls(self):
        urls = [
            path(
                "<int:subscription_id>/retry-renewal/",
                self.admin_site.admin_view(self.retry_renewal_view),
                name="billing_subscription_retry_renewal",
            ),
            *subscription_admin_urls(self),
        ]
        return urls + super().get_urls()

    @method_decorator(require_POST)
    def retry_renewal_view(self, request: HttpRequest, subscription_id: int) -> HttpResponse:
        """The "Retry renewal charge" button on a past-due subscription's page."""
        subscription = get_object_or_404(Subscription, pk=subscription_id)
        if not self.has_change_permission(request, subscription):
            raise PermissionDenied
        self._report(request, [self._retry(request, subscription.pk)])
        return HttpResponseRedirect(
            reverse("admin:billing_subscription_change", args=[subscription.pk])
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_retry_renewal"] = (
            obj is not None
            and obj.status == SubscriptionStatus.PAST_DUE
            and self.has_change_permission(request, obj)
        )
        context["can_cancel"] = (
            obj is not None and obj.is_live and request.user.has_perm(CANCEL_PERMISSION)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(SubscriptionEvent)
class SubscriptionEventAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = ("created_at", "subscription", "kind", "from_status", "to_status", "actor_label")
    list_select_related = ("subscription__organization", "subscription__offer")
    list_filter = ("kind", "to_status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("subscription__organization__name",)
    exact_searches = [(PARTNER_ID, exactly("subscription__organization__partner_id"))]


@admin.register(ReminderSent)
class ReminderSentAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = ("sent_at", "subscription", "term_number", "kind", "attempt", "recipients")
    list_select_related = ("subscription__organization", "subscription__offer")
    list_filter = ("kind", ("sent_at", admin.DateFieldListFilter))
    search_fields = ("subscription__organization__name",)
    exact_searches = [(PARTNER_ID, exactly("subscription__organization__partner_id"))]


@admin.register(BillingCycleRun)
class BillingCycleRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The billing cycle's runs (beat's hourly ones and ``run_billing_cycle``'s), newest first."""

    list_display = (
        "started_at",
        "finished_at",
        "duration",
        "renewals_due",
        "renewals_charged",
        "renewals_failed",
        "renewals_retried",
        "subscriptions_expired",
        "reminders_sent",
    )
    list_filter = (("started_at", admin.DateFieldListFilter),)
    show_full_result_count = False

    @admin.display(description=_("duration"))
    def duration(self, obj: BillingCycleRun) -> str:
        return str(obj.duration).split(".")[0] if obj.duration is not None else "—"
