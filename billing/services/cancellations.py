"""Cancelling a subscription (only staff do it) and refunding its charge, exactly once.

The refund protocol, so that a double click, a reload or two staff members never refund twice:

1. **Claim**: in one transaction that locks the subscription and checks it can be canceled, a
   ``Refund`` row is created for the charge with no Stripe id yet. The row is unique per order,
   so a second caller fails on the constraint and refunds nothing.
2. **Refund** through Stripe with an idempotency key derived from the row's id.
3. **Apply**: one transaction stores the Stripe refund id, updates the order, cancels the
   subscription and records the history.

If Stripe refuses the refund, no money moved: the claim is released and nothing is canceled,
so staff can choose again. If Stripe does not answer, the outcome is unknown: the claim stays
(it blocks any other refund of that charge) and nothing is canceled until someone has looked
the payment up in Stripe.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from billing import emails, stripe_gateway
from billing.models import (
    CLAIMABLE_ORDER_STATUSES,
    LIVE_STATUSES,
    Invoice,
    Order,
    OrderKind,
    OrderStatus,
    Refund,
    Subscription,
    SubscriptionStatus,
)
from billing.selectors.cancellations import (
    refund_quote,
    subscription_cancel_blocker,
    subscriptions_due_to_end,
)
from billing.selectors.invoices import invoices_for_rendering
from billing.services.benefits import benefits_revoke
from billing.services.invoice_pdfs import invoice_pdf
from billing.services.invoices import credit_note_issue
from billing.services.subscriptions import subscription_record_event
from core import clock
from core.money import format_money
from membership.models import AuditEvent, User
from membership.permissions import Action
from membership.selectors import organization_people_who_may
from membership.services import audit_record

logger = logging.getLogger(__name__)

# The permission lives on support's ServiceRequest (cases are where staff cancel), but the
# subscription's own admin page cancels too, so billing checks the same permission.
CANCEL_PERMISSION = "support.cancel_subscription"


@dataclass(frozen=True)
class CancellationOutcome:
    subscription: Subscription
    previous_status: str
    at_term_end: bool
    ends_on: dt.date
    refund: Refund | None
    changed: bool  # False when an identical request (a double click) got there first
    credit_note: Invoice | None = None  # the refund's, issued with it


def refund_idempotency_key(refund: Refund) -> str:
    return f"partnerportal-refund-{refund.pk}"


def _refund_amount_choose(*, quote, refund_amount: int | None) -> int:
    """``None`` applies the rule; an integer is the amount staff chose (0: no refund)."""
    if refund_amount is None:
        return quote.suggested_amount
    if refund_amount < 0:
        raise ValidationError(_("A refund cannot be negative."))
    if refund_amount > quote.max_amount:
        if quote.max_amount == 0:
            raise ValidationError(quote.explanation)
        raise ValidationError(
            _("At most %(amount)s can be refunded.")
            % {"amount": format_money(quote.max_amount, quote.currency)}
        )
    return refund_amount


def _claim(
    *,
    subscription: Subscription,
    actor: User,
    at_term_end: bool,
    refund_amount: int | None,
    reason: str,
) -> Refund | None:
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update()
            .select_related("organization")
            .get(pk=subscription.pk)
        )
        blocker = subscription_cancel_blocker(subscription=subscription, at_term_end=at_term_end)
        if blocker:
            raise ValidationError(blocker)
        quote = refund_quote(subscription=subscription)
        amount = _refund_amount_choose(quote=quote, refund_amount=refund_amount)
        if amount == 0:
            return None
        try:
            with transaction.atomic():
                return Refund.objects.create(
                    order=quote.order,
                    amount=amount,
                    currency=quote.currency,
                    reason=reason[:500],
                    created_by=actor,
                    created_at=clock.now(),
                )
        except IntegrityError:
            raise ValidationError(_("This charge is already being refunded.")) from None


def _refund_send(*, refund: Refund, subscription: Subscription, actor: User) -> dict:
    try:
        return stripe_gateway.refund_create(
            payment_intent_id=refund.order.stripe_payment_intent_id,
            amount=refund.amount,
            idempotency_key=refund_idempotency_key(refund),
        )
    except (stripe_gateway.PaymentDeclined, stripe_gateway.StripeRequestError) as error:
        # A definite "no": no money moved, so the claim goes and staff may decide again.
        with transaction.atomic():
            Refund.objects.filter(pk=refund.pk, stripe_refund_id="").delete()
            subscription_record_event(
                subscription=subscription,
                kind="refund_failed",
                from_status=subscription.status,
                actor=actor,
                note=f"Stripe refused a refund of {refund.amount} {refund.currency}: {error}",
            )
        raise ValidationError(
            _("Stripe refused the refund (%(message)s). Nothing was canceled or refunded.")
            % {"message": error}
        ) from error
    except stripe_gateway.StripeUnavailable as error:
        logger.warning("refund outcome unknown", extra={"refund_id": refund.pk})
        subscription_record_event(
            subscription=subscription,
            kind="refund_unknown",
            from_status=subscription.status,
            actor=actor,
            note=f"No answer from Stripe for refund {refund.pk}: {error}",
        )
        raise ValidationError(
            _(
                "Stripe did not answer, so we don't know whether the refund was made. Nothing "
                "was canceled. Look up payment %(payment)s in Stripe before trying again; until "
                "then refund %(refund)s blocks a second refund of this charge."
            )
            % {"payment": refund.order.stripe_payment_intent_id, "refund": refund.pk}
        ) from error


def _renewals_stop(*, subscription: Subscription) -> None:
    """Renewal orders nobody is charging right now will never be charged."""
    Order.objects.filter(
        subscription=subscription,
        kind=OrderKind.RENEWAL,
        status__in=CLAIMABLE_ORDER_STATUSES,
    ).update(status=OrderStatus.CANCELED, next_retry_on=None, updated_at=clock.now())


@transaction.atomic
def _apply(
    *,
    subscription: Subscription,
    actor: User,
    at_term_end: bool,
    reason: str,
    refund: Refund | None,
    stripe_refund: dict | None,
) -> CancellationOutcome:
    subscription = (
        Subscription.objects.select_for_update()
        .select_related("organization", "offer")
        .get(pk=subscription.pk)
    )
    now = clock.now()
    previous = subscription.status
    credit_note = None
    if refund is not None and stripe_refund is not None:
        Refund.objects.filter(pk=refund.pk).update(stripe_refund_id=stripe_refund["id"])
        refund.stripe_refund_id = stripe_refund["id"]
        order = Order.objects.select_for_update().get(pk=refund.order_id)
        order.refunded_amount += refund.amount
        if order.refunded_amount >= order.amount:
            order.status = OrderStatus.REFUNDED
        order.updated_at = now
        order.save(update_fields=["refunded_amount", "status", "updated_at"])
        # The refund's credit note, in the transaction that records the refund: one per
        # refund (and a refund is once per order), numbered in its own series.
        credit_note = credit_note_issue(refund=refund, issued_at=now)
        money = format_money(refund.amount, refund.currency, "en")
        subscription_record_event(
            subscription=subscription,
            kind="refunded",
            from_status=previous,
            actor=actor,
            note=(
                f"Refunded {money} of {order} (Stripe {stripe_refund['id']}); credit note "
                f"{credit_note or 'not issued: the order has no invoice'}. {reason}"
            ).strip(),
        )
        audit_record(
            action=AuditEvent.Action.REFUND,
            organization=subscription.organization,
            actor=actor,
            target=str(order),
            detail={
                "amount": refund.amount,
                "currency": refund.currency,
                "refund": refund.pk,
                "credit_note": str(credit_note or ""),
            },
        )
    # A job, or a double click without a refund, may have got here first: keep what it decided.
    already = subscription.status not in LIVE_STATUSES or (
        at_term_end and subscription.cancel_at_term_end
    )
    if not already:
        subscription.auto_renew = False
        subscription.auto_renew_locked = True
        subscription.canceled_at = now
        if at_term_end:
            subscription.cancel_at_term_end = True
            ends_on = subscription.current_term_end
            kind, note = "cancel_scheduled", f"Cancels at the end of the term, on {ends_on}."
        else:
            subscription.cancel_at_term_end = False
            subscription.status = SubscriptionStatus.CANCELED
            subscription.ended_on = ends_on = clock.today()
            kind, note = "canceled", "Canceled at once; benefits revoked."
            benefits_revoke(subscription=subscription)
        subscription.updated_at = now
        subscription.save()
        _renewals_stop(subscription=subscription)
        subscription_record_event(
            subscription=subscription,
            kind=kind,
            from_status=previous,
            actor=actor,
            note=f"{note} {reason}".strip(),
        )
        audit_record(
            action=AuditEvent.Action.CANCELLATION,
            organization=subscription.organization,
            actor=actor,
            target=str(subscription),
            detail={"at_term_end": at_term_end, "reason": reason[:200]},
        )
    else:
        ends_on = subscription.ended_on or subscription.current_term_end
    return CancellationOutcome(
        subscription=subscription,
        previous_status=previous,
        at_term_end=at_term_end,
        ends_on=ends_on,
        refund=refund,
        changed=not already or refund is not None,
        credit_note=credit_note,
    )


def subscription_cancel(
    *,
    subscription: Subscription,
    actor: User,
    at_term_end: bool,
    refund_amount: int | None,
    reason: str,
    also_notify: Iterable[User] = (),
) -> CancellationOutcome:
    """Cancel at once (benefits end today) or at the end of the term, refunding the charge.

    ``refund_amount`` ``None`` applies the refund rule (see ``billing.selectors.cancellations``);
    an integer is what staff chose, in minor units (0: no refund). The organization's people who
    may purchase, and ``also_notify`` (e.g. the person who asked), are emailed.
    """
    if not actor.has_perm(CANCEL_PERMISSION):
        raise PermissionDenied(_("You may not cancel subscriptions."))
    refund = _claim(
        subscription=subscription,
        actor=actor,
        at_term_end=at_term_end,
        refund_amount=refund_amount,
        reason=reason,
    )
    stripe_refund = None
    if refund is not None:
        stripe_refund = _refund_send(refund=refund, subscription=subscription, actor=actor)
    outcome = _apply(
        subscription=subscription,
        actor=actor,
        at_term_end=at_term_end,
        reason=reason,
        refund=refund,
        stripe_refund=stripe_refund,
    )
    if not outcome.changed:
        return outcome
    recipients = {
        person.email: person
        for person in [
            *organization_people_who_may(
                organization=outcome.subscription.organization, action=Action.PURCHASE
            ),
            *also_notify,
        ]
    }
    transaction.on_commit(
        lambda: _cancellation_email(outcome=outcome, recipients=list(recipients.values()))
    )
    return outcome


def _cancellation_email(*, outcome: CancellationOutcome, recipients: list[User]) -> int:
    """The cancellation email, with the refund's credit note attached."""
    attachments = []
    credit_note = outcome.credit_note
    if credit_note is not None:
        credit_note = invoices_for_rendering().get(pk=credit_note.pk)
        try:
            attachments = [(credit_note.filename, invoice_pdf(credit_note), "application/pdf")]
        except Exception:
            # The refund is done and on record: the email goes without the PDF, which the
            # partner downloads in Billing > Invoices.
            logger.exception("rendering credit note %s failed", credit_note.number)
    return emails.email_subscription_canceled(
        subscription=outcome.subscription,
        at_term_end=outcome.at_term_end,
        ends_on=outcome.ends_on,
        refund=outcome.refund,
        recipients=recipients,
        credit_note=credit_note,
        attachments=attachments,
    )


def subscriptions_end_scheduled_cancellations(*, today: dt.date | None = None) -> int:
    """End the subscriptions set to cancel at a term end that has come. Safe to run twice.

    For the billing cycle: each subscription is claimed with a conditional update, so a second
    run (or a second worker) ends nothing twice.
    """
    today = today or clock.today()
    ended = 0
    for subscription in subscriptions_due_to_end(today=today).select_related("organization"):
        with transaction.atomic():
            won = Subscription.objects.filter(
                pk=subscription.pk, status__in=LIVE_STATUSES, cancel_at_term_end=True
            ).update(
                status=SubscriptionStatus.CANCELED,
                ended_on=subscription.current_term_end,
                auto_renew=False,
                updated_at=clock.now(),
            )
            if not won:
                continue
            previous = subscription.status
            benefits_revoke(subscription=subscription)
            _renewals_stop(subscription=subscription)
            subscription.refresh_from_db()
            subscription_record_event(
                subscription=subscription,
                kind="canceled",
                from_status=previous,
                actor_label="system",
                note="The term ended; the cancellation staff scheduled took effect.",
            )
            ended += 1
    return ended
