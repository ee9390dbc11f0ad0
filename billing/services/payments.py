"""Charging an order exactly once.

The protocol, for purchases (on-session, in the browser) and renewals (off-session, in jobs):

1. **Claim**: a conditional UPDATE moves the order from ``pending``/``failed`` to ``processing``
   and numbers the attempt. Only one caller wins; every other caller (a second tab, a double
   click, a second worker, a redelivered task) sees the order as it is and charges nothing.
2. **Create** an unconfirmed PaymentIntent with an idempotency key derived from the attempt row,
   and store its id (committed) before any money moves.
3. **Confirm** it. The answer is recorded in the same transaction that confirms the order and
   starts or renews the subscription.
4. If the outcome is unknown (timeout, crash after Stripe answered, lost commit) the order stays
   ``processing`` with the PaymentIntent id stored; ``order_reconcile`` looks the PaymentIntent up
   in Stripe and settles the order from what Stripe says. It never charges again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from billing import stripe_gateway
from billing.models import (
    Order,
    OrderKind,
    OrderStatus,
    PaymentAttempt,
    PaymentMethod,
    Subscription,
)
from billing.services.subscriptions import subscription_apply_renewal, subscription_start
from membership.models import AuditEvent, Organization, User
from membership.services import audit_record
from offers.models import Offer, TermsAcceptance
from offers.selectors import offer_price
from partnerportal import clock

logger = logging.getLogger(__name__)

# Failure codes after which retrying the same card automatically is pointless or not allowed.
HARD_DECLINE_CODES = frozenset(
    {
        "authentication_required",
        "expired_card",
        "incorrect_number",
        "invalid_account",
        "lost_card",
        "stolen_card",
        "pickup_card",
        "restricted_card",
        "do_not_honor",
        "fraudulent",
        "payment_method_missing",
    }
)


# A claimed order still ``processing`` after this long was abandoned (a crash, a lost commit).
# It is well past the Celery hard time limit and Stripe's timeout, so no charge is still in flight.
RECONCILE_AFTER = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class ChargeOutcome:
    """What happened to an order's payment, as a page or a job needs to know it."""

    status: str  # an OrderStatus value
    order: Order
    message: str = ""
    client_secret: str = ""  # for 3-D Secure in the browser
    # False when this call charged nothing because the order was paid, or being paid, already
    # (someone else's attempt): jobs then leave the follow-up (emails, retries) to that caller.
    attempted: bool = True

    @property
    def paid(self) -> bool:
        return self.status == OrderStatus.PAID


class PaymentSetupError(Exception):
    """The order cannot be charged as it stands (no card, no Stripe customer…)."""


# Orders --------------------------------------------------------------------------------------


def _card_snapshot(payment_method: PaymentMethod | None) -> dict:
    if payment_method is None:
        return {"payment_method": None, "card_brand": "", "card_last4": ""}
    return {
        "payment_method": payment_method,
        "card_brand": payment_method.brand,
        "card_last4": payment_method.last4,
    }


def order_open_purchase(
    *,
    organization: Organization,
    offer: Offer,
    placed_by: User,
    terms_acceptance: TermsAcceptance | None = None,
    payment_method: PaymentMethod | None = None,
) -> Order:
    """The one open purchase order of this organization for this offer, created if needed.

    Two tabs, a reload or the back button all land on the same order, so there is only ever
    one purchase to pay. Terms and card are updated while nothing is being charged.
    """
    price = offer_price(offer=offer, currency=organization.currency)
    if price is None:
        raise PaymentSetupError(_("This offer is not sold in your organization's currency."))
    updates: dict = {"placed_by": placed_by}
    if terms_acceptance is not None:
        updates["terms_acceptance"] = terms_acceptance
    if payment_method is not None:
        updates.update(_card_snapshot(payment_method))
    for _attempt in range(3):
        order = (
            Order.objects.filter(
                organization=organization,
                offer=offer,
                kind=OrderKind.PURCHASE,
                status__in=[
                    OrderStatus.PENDING,
                    OrderStatus.PROCESSING,
                    OrderStatus.REQUIRES_ACTION,
                    OrderStatus.FAILED,
                ],
            )
            .select_related("payment_method", "offer")
            .first()
        )
        if order is not None:
            # Price and card only change while nobody is charging the order.
            Order.objects.filter(
                pk=order.pk, status__in=[OrderStatus.PENDING, OrderStatus.FAILED]
            ).update(amount=price.amount, currency=price.currency, **updates)
            order.refresh_from_db()
            return order
        try:
            with transaction.atomic():
                return Order.objects.create(
                    organization=organization,
                    offer=offer,
                    kind=OrderKind.PURCHASE,
                    term_number=1,
                    amount=price.amount,
                    currency=price.currency,
                    **updates,
                )
        except IntegrityError:
            continue  # another tab created it a moment ago: use that one
    raise PaymentSetupError("Could not open a purchase order.")


def renewal_order_for_next_term(
    *,
    subscription: Subscription,
    placed_by: User | None = None,
    payment_method: PaymentMethod | None = None,
) -> Order:
    """The one renewal order for the subscription's next term (unique per subscription and term).

    The automatic renewal and a manual renewal of the same term share this row, so the term is
    paid once whoever gets there first.
    """
    term_number = subscription.term_number + 1
    price = offer_price(offer=subscription.offer, currency=subscription.organization.currency)
    if price is None:
        raise PaymentSetupError(_("This offer is not sold in your organization's currency."))
    card = payment_method or subscription.payment_method
    try:
        # get_or_create runs its INSERT in a transaction of its own and, when another caller
        # inserted the row first, reads that one instead (the unique constraint decides).
        order, created = Order.objects.get_or_create(
            subscription=subscription,
            kind=OrderKind.RENEWAL,
            term_number=term_number,
            defaults={
                "organization_id": subscription.organization_id,
                "offer_id": subscription.offer_id,
                "amount": price.amount,
                "currency": price.currency,
                "placed_by": placed_by,
                **_card_snapshot(card),
            },
        )
    except IntegrityError:
        order = Order.objects.get(
            subscription=subscription, kind=OrderKind.RENEWAL, term_number=term_number
        )
        created = False
    if not created and payment_method is not None:
        order_change_card(order=order, payment_method=payment_method, placed_by=placed_by)
        order.refresh_from_db()
    return order


def order_change_card(
    *, order: Order, payment_method: PaymentMethod, placed_by: User | None = None
) -> bool:
    """Use another card for an order nobody is charging right now. False if it is in flight."""
    updates = _card_snapshot(payment_method)
    if placed_by is not None:
        updates["placed_by"] = placed_by
    return bool(
        Order.objects.filter(
            pk=order.pk, status__in=[OrderStatus.PENDING, OrderStatus.FAILED]
        ).update(**updates)
    )


# Charging ------------------------------------------------------------------------------------


def _claim(
    order: Order,
    *,
    off_session: bool,
    condition: Q | None = None,
    updates: dict | None = None,
) -> PaymentAttempt | None:
    """Move the order to ``processing`` and number a new attempt; None if someone else has it.

    ``condition`` narrows the claim and ``updates`` are written by the same UPDATE: the
    automatic renewal claims only an order whose retry is due and moves its next retry date in
    that one statement, so a late or duplicate job can never claim the same retry again.
    """
    with transaction.atomic():
        claimable = Order.objects.filter(
            pk=order.pk, status__in=[OrderStatus.PENDING, OrderStatus.FAILED]
        )
        if condition is not None:
            claimable = claimable.filter(condition)
        claimed = claimable.update(
            **(updates or {}),
            status=OrderStatus.PROCESSING,
            attempt_count=F("attempt_count") + 1,
            # The previous attempt's PaymentIntent is no longer the order's: a late webhook or
            # settle for it must not touch the order while this attempt is in flight.
            stripe_payment_intent_id="",
            failure_code="",
            failure_message="",
            claimed_at=clock.now(),
        )
        if not claimed:
            return None
        order.refresh_from_db()
        return PaymentAttempt.objects.create(
            order=order,
            number=order.attempt_count,
            off_session=off_session,
            idempotency_key=order.idempotency_key,
            created_at=clock.now(),
        )


def _outcome_for_unclaimed(order: Order) -> ChargeOutcome:
    order.refresh_from_db()
    if order.status == OrderStatus.REQUIRES_ACTION and order.stripe_payment_intent_id:
        intent = stripe_gateway.payment_intent_retrieve(order.stripe_payment_intent_id)
        if intent.status == "requires_action":
            return ChargeOutcome(order.status, order, client_secret=intent.client_secret)
        return order_settle_from_stripe(order=order)
    message = ""
    if order.status == OrderStatus.PROCESSING:
        message = _("This payment is already being processed. Refresh the page in a moment.")
    return ChargeOutcome(order.status, order, message=message)


def order_charge(
    *,
    order: Order,
    off_session: bool,
    actor: User | None = None,
    claim_condition: Q | None = None,
    claim_updates: dict | None = None,
) -> ChargeOutcome:
    """Charge the order's card for the order's amount, once. Safe to call any number of times.

    ``claim_condition`` / ``claim_updates`` narrow and extend the claim (see ``_claim``).
    """
    if order.status == OrderStatus.PAID:
        return ChargeOutcome(OrderStatus.PAID, order, attempted=False)
    payment_method = order.payment_method
    customer_id = order.organization.stripe_customer_id
    if payment_method is None or payment_method.removed_at is not None or not customer_id:
        raise PaymentSetupError(_("Choose a payment method first."))

    attempt = _claim(
        order, off_session=off_session, condition=claim_condition, updates=claim_updates
    )
    if attempt is None:
        return replace(_outcome_for_unclaimed(order), attempted=False)

    try:
        intent = stripe_gateway.payment_intent_create(
            amount=order.amount,
            currency=order.currency,
            customer_id=customer_id,
            payment_method_id=payment_method.stripe_payment_method_id,
            idempotency_key=attempt.idempotency_key,
            metadata={"order_id": str(order.pk), "attempt": str(attempt.number)},
        )
    except (stripe_gateway.StripeUnavailable, stripe_gateway.StripeRequestError) as error:
        # Nothing was confirmed, so nothing was charged: the attempt simply failed.
        return _record_failure(
            order, attempt, code="processing_error", message=str(error), hard=False
        )
    with transaction.atomic():
        PaymentAttempt.objects.filter(pk=attempt.pk).update(stripe_payment_intent_id=intent.id)
        Order.objects.filter(pk=order.pk).update(stripe_payment_intent_id=intent.id)
    attempt.stripe_payment_intent_id = intent.id
    order.stripe_payment_intent_id = intent.id

    try:
        intent = stripe_gateway.payment_intent_confirm(
            intent.id, idempotency_key=attempt.idempotency_key, off_session=off_session
        )
    except stripe_gateway.PaymentDeclined as declined:
        return _record_failure(
            order,
            attempt,
            code=declined.code,
            message=declined.message,
            hard=declined.code in HARD_DECLINE_CODES,
        )
    except stripe_gateway.StripeUnavailable:
        # The charge may or may not have happened: leave the order claimed and reconcile by id.
        PaymentAttempt.objects.filter(pk=attempt.pk).update(status=PaymentAttempt.Status.UNKNOWN)
        logger.warning("payment outcome unknown", extra={"task": "order_charge"})
        return order_settle_from_stripe(order=order, actor=actor)
    return _apply_intent(order, attempt, intent, actor=actor)


def _apply_intent(
    order: Order,
    attempt: PaymentAttempt,
    intent: stripe_gateway.PaymentIntentResult,
    *,
    actor: User | None,
) -> ChargeOutcome:
    if intent.status == "succeeded":
        return order_mark_paid(order=order, attempt=attempt, intent=intent, actor=actor)
    if intent.status == "requires_action":
        if attempt.off_session:
            # Nobody is there to authenticate: stop automatic retries, ask for a manual renewal.
            return _record_failure(
                order,
                attempt,
                code="authentication_required",
                message=_(
                    "Your bank asks you to confirm this payment. Renew by hand to authenticate."
                ),
                hard=True,
            )
        with transaction.atomic():
            PaymentAttempt.objects.filter(pk=attempt.pk).update(
                status=PaymentAttempt.Status.REQUIRES_ACTION
            )
            Order.objects.filter(
                pk=order.pk,
                attempt_count=attempt.number,
                status__in=[OrderStatus.PROCESSING, OrderStatus.REQUIRES_ACTION],
            ).update(status=OrderStatus.REQUIRES_ACTION)
        order.refresh_from_db()
        return ChargeOutcome(OrderStatus.REQUIRES_ACTION, order, client_secret=intent.client_secret)
    if intent.status in ("processing", "requires_confirmation", "requires_capture"):
        return ChargeOutcome(OrderStatus.PROCESSING, order)
    return _record_failure(
        order,
        attempt,
        code=intent.failure_code or "card_declined",
        message=intent.failure_message or _("Your card was declined."),
        hard=(intent.failure_code or "") in HARD_DECLINE_CODES,
    )


def _record_failure(
    order: Order, attempt: PaymentAttempt, *, code: str, message: str, hard: bool
) -> ChargeOutcome:
    now = clock.now()
    with transaction.atomic():
        PaymentAttempt.objects.filter(pk=attempt.pk).update(
            status=PaymentAttempt.Status.FAILED,
            failure_code=code[:64],
            failure_message=message[:500],
            finished_at=now,
        )
        updates = {
            "status": OrderStatus.FAILED,
            "failure_code": code[:64],
            "failure_message": message[:500],
        }
        if hard:
            updates["retries_stopped"] = True
        # Only the order's current attempt may fail it: an older attempt's late answer must not
        # free the order (FAILED is claimable) while a newer attempt is being charged.
        Order.objects.filter(
            pk=order.pk,
            attempt_count=attempt.number,
            status__in=[OrderStatus.PROCESSING, OrderStatus.REQUIRES_ACTION],
        ).update(**updates)
    order.refresh_from_db()
    return ChargeOutcome(order.status, order, message=message)


@transaction.atomic
def order_mark_paid(
    *,
    order: Order,
    attempt: PaymentAttempt | None,
    intent: stripe_gateway.PaymentIntentResult,
    actor: User | None = None,
    actor_label: str = "",
) -> ChargeOutcome:
    """Confirm the order and start or renew the subscription, in one transaction, once."""
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("organization", "offer", "subscription")
        .get(pk=order.pk)
    )
    if order.status == OrderStatus.PAID:
        return ChargeOutcome(OrderStatus.PAID, order)
    if intent.amount != order.amount or intent.currency.upper() != order.currency:
        # Never settle an order on a payment for another amount: leave it for staff to look at.
        logger.error("payment amount mismatch on order %s", order.pk)
        raise PaymentSetupError("The payment does not match the order's amount.")
    now = clock.now()
    order.status = OrderStatus.PAID
    order.paid_at = now
    order.stripe_payment_intent_id = intent.id
    order.invoice_number = f"INV-{now:%Y}-{order.pk:06d}"
    order.next_retry_on = None
    order.failure_code = order.failure_message = ""
    order.save(
        update_fields=[
            "status",
            "paid_at",
            "stripe_payment_intent_id",
            "invoice_number",
            "next_retry_on",
            "failure_code",
            "failure_message",
            "updated_at",
        ]
    )
    PaymentAttempt.objects.filter(order=order, stripe_payment_intent_id=intent.id).update(
        status=PaymentAttempt.Status.SUCCEEDED, finished_at=now
    )
    label = actor_label or ("system" if actor is None else "")
    if order.kind == OrderKind.PURCHASE:
        subscription = subscription_start(order=order, actor=actor, actor_label=label)
        action = AuditEvent.Action.PURCHASE
    else:
        subscription = subscription_apply_renewal(
            subscription=order.subscription, order=order, actor=actor, actor_label=label
        )
        action = AuditEvent.Action.RENEWAL
    _benefits_grant(subscription)
    audit_record(
        action=action,
        organization=order.organization,
        actor=actor,
        actor_label=label,
        target=order.invoice_number,
        detail={
            "order": order.pk,
            "amount": order.amount,
            "currency": order.currency,
            "payment_intent": intent.id,
        },
    )
    # The order is saved and current; only its subscription moved on (started or renewed).
    order.subscription = subscription
    return ChargeOutcome(OrderStatus.PAID, order)


def _benefits_grant(subscription: Subscription) -> None:
    """Grant the offer's benefits for the subscription's new term (billing.services.benefits)."""
    try:
        from billing.services.benefits import benefits_grant_for_term
    except ImportError:  # benefits land with their own issue
        return
    benefits_grant_for_term(subscription=subscription)


# Reconciling ---------------------------------------------------------------------------------


def order_settle_from_stripe(
    *, order: Order, actor: User | None = None, actor_label: str = ""
) -> ChargeOutcome:
    """Settle an order from what Stripe says about its latest PaymentIntent. Never charges."""
    order.refresh_from_db()
    if order.status == OrderStatus.PAID or not order.stripe_payment_intent_id:
        return ChargeOutcome(order.status, order)
    attempt = (
        PaymentAttempt.objects.filter(
            order=order, stripe_payment_intent_id=order.stripe_payment_intent_id
        )
        .order_by("-number")
        .first()
    )
    try:
        intent = stripe_gateway.payment_intent_retrieve(order.stripe_payment_intent_id)
    except (stripe_gateway.StripeUnavailable, stripe_gateway.StripeRequestError):
        return ChargeOutcome(
            order.status, order, message=_("We could not confirm the payment yet.")
        )
    if intent.status == "succeeded":
        return order_mark_paid(
            order=order, attempt=attempt, intent=intent, actor=actor, actor_label=actor_label
        )
    if attempt is None:
        return ChargeOutcome(order.status, order)
    if intent.status == "requires_confirmation":
        # Created but never confirmed (we crashed in between): nothing was charged.
        return _record_failure(
            order,
            attempt,
            code="processing_error",
            message=_("The payment was interrupted."),
            hard=False,
        )
    return _apply_intent(order, attempt, intent, actor=actor)


def order_settle_payment_intent(
    *, payment_intent_id: str, actor_label: str = "stripe webhook"
) -> ChargeOutcome | None:
    """Settle the order a PaymentIntent belongs to (webhooks, the browser after 3-D Secure)."""
    order = Order.objects.filter(attempts__stripe_payment_intent_id=payment_intent_id).first()
    if order is None:
        return None
    if order.stripe_payment_intent_id != payment_intent_id:
        # An older attempt's event arriving late: the current attempt decides.
        return ChargeOutcome(order.status, order)
    return order_settle_from_stripe(order=order, actor_label=actor_label)


def orders_reconcile_stale(*, older_than: dt.timedelta | None = None) -> int:
    """Settle orders left ``processing`` by a crash or a timeout. Returns how many were settled."""
    cutoff = clock.now() - (RECONCILE_AFTER if older_than is None else older_than)
    settled = 0
    for order in Order.objects.filter(
        status=OrderStatus.PROCESSING, claimed_at__lte=cutoff
    ).select_related("organization"):
        if not order.stripe_payment_intent_id:
            # Crashed before the PaymentIntent existed: nothing can have been charged.
            attempt = order.attempts.order_by("-number").first()
            if attempt is not None:
                _record_failure(
                    order,
                    attempt,
                    code="processing_error",
                    message="Interrupted before payment.",
                    hard=False,
                )
                settled += 1
            continue
        outcome = order_settle_from_stripe(order=order, actor_label="reconciliation")
        settled += outcome.status != OrderStatus.PROCESSING
    return settled
