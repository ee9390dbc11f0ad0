"""Charging an order exactly once.

The protocol, for purchases (on-session, in the browser) and renewals (off-session, in jobs):

1. **Claim**: a conditional UPDATE moves the order from ``pending``/``failed`` to ``processing``,
   numbers the attempt and stamps the row with a token of this call. Only one caller wins;
   every other caller (a second tab, a double click, a second worker, a redelivered task) sees
   the order as it is and charges nothing.
2. **Create** an unconfirmed PaymentIntent with an idempotency key derived from the order row and
   its attempt number, and record the attempt with its PaymentIntent id (committed) before any
   money moves.
3. **Confirm** it. The answer is recorded in the same transaction that confirms the order and
   starts or renews the subscription.
4. If the outcome is unknown (timeout, crash after Stripe answered, lost commit) the order stays
   ``processing`` with the PaymentIntent id stored; ``order_settle_from_stripe`` looks the
   PaymentIntent up in Stripe and settles the order from what Stripe says. It never charges
   again. An order left ``processing`` without one was never confirmed: it simply failed.

``orders_charge`` runs the protocol for a batch of orders (the billing cycle's), with the
database work done once per step for the whole batch; ``order_charge`` is a batch of one.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

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
from billing.services.subscriptions import subscription_start, subscriptions_apply_renewals
from core import clock
from membership.models import AuditEvent, Organization, User
from membership.services import audit_event
from offers.models import Offer, OfferPrice, TermsAcceptance
from offers.selectors import offer_price

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
    # An unexpected error on this order (a crash mid-charge): raised by ``order_charge``; a
    # batch logs it and goes on with the other orders.
    error: BaseException | None = field(default=None, compare=False)

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
    order = renewal_orders_for_next_terms(
        subscriptions=[subscription], placed_by=placed_by, payment_method=payment_method
    ).get(subscription.pk)
    if order is None:
        raise PaymentSetupError(_("This offer is not sold in your organization's currency."))
    if payment_method is not None and order.payment_method_id != payment_method.pk:
        order_change_card(order=order, payment_method=payment_method, placed_by=placed_by)
        order.refresh_from_db()
    return order


def renewal_orders_for_next_terms(
    *,
    subscriptions: Sequence[Subscription],
    placed_by: User | None = None,
    payment_method: PaymentMethod | None = None,
) -> dict[int, Order]:
    """``renewal_order_for_next_term`` for many subscriptions: by subscription id.

    Missing orders are inserted at the offer's current price in the organization's currency
    (``organization`` and ``offer`` loaded), in one statement that leaves alone any row another
    caller inserted first (the unique constraint decides); then every order is read in one
    query. A subscription whose offer is not sold in its currency gets no order.
    """
    prices: dict[tuple[int, str], OfferPrice | None] = {}
    missing = []
    for subscription in subscriptions:
        key = (subscription.offer_id, subscription.organization.currency)
        if key not in prices:
            prices[key] = offer_price(offer=subscription.offer, currency=key[1])
        price = prices[key]
        if price is None:
            continue
        missing.append(
            Order(
                subscription=subscription,
                kind=OrderKind.RENEWAL,
                term_number=subscription.term_number + 1,
                organization_id=subscription.organization_id,
                offer_id=subscription.offer_id,
                amount=price.amount,
                currency=price.currency,
                placed_by=placed_by,
                **_card_snapshot(payment_method or subscription.payment_method),
            )
        )
    if not missing:
        return {}
    Order.objects.bulk_create(missing, ignore_conflicts=True)
    wanted = {(order.subscription.pk, order.term_number) for order in missing}
    orders = {}
    for order in Order.objects.filter(
        kind=OrderKind.RENEWAL,
        subscription__in=[order.subscription.pk for order in missing],
        term_number__in={term for _pk, term in wanted},
    ).select_related("payment_method"):
        if (order.subscription_id, order.term_number) in wanted:
            orders[order.subscription_id] = order
    return orders


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

# A batch stops starting Stripe calls this long after its claim, well before the reconciliation
# may take its orders for abandoned (RECONCILE_AFTER): what it did not reach is left unconfirmed.
BATCH_DEADLINE = RECONCILE_AFTER / 2


def _claim(
    orders: Sequence[Order],
    *,
    condition: Q | None = None,
    updates: Mapping[int, dict] | None = None,
) -> list[Order]:
    """Move the orders to ``processing`` and number a new attempt; returns the ones won.

    One conditional UPDATE per distinct ``updates`` (usually one per batch) stamps the won rows
    with a token of this call, and one SELECT reads them back: an order someone else claimed a
    moment ago is not among them. ``condition`` narrows the claim and ``updates`` (per order id)
    are written by the same UPDATE: the automatic renewal claims only an order whose retry is due
    and moves its next retry date in that one statement, so a late or duplicate job can never
    claim the same retry again.
    """
    token = uuid.uuid4().hex
    now = clock.now()
    groups: dict[tuple, list[int]] = defaultdict(list)
    for order in orders:
        groups[tuple(sorted(((updates or {}).get(order.pk) or {}).items()))].append(order.pk)
    for group_updates, pks in groups.items():
        claimable = Order.objects.filter(
            pk__in=pks, status__in=[OrderStatus.PENDING, OrderStatus.FAILED]
        )
        if condition is not None:
            claimable = claimable.filter(condition)
        claimable.update(
            **dict(group_updates),
            status=OrderStatus.PROCESSING,
            attempt_count=F("attempt_count") + 1,
            # The previous attempt's PaymentIntent is no longer the order's: a late webhook or
            # settle for it must not touch the order while this attempt is in flight.
            stripe_payment_intent_id="",
            failure_code="",
            failure_message="",
            claimed_at=now,
            claim_token=token,
        )
    # Read back with what another tab may have changed before the claim (price, card).
    won = {
        pk: row
        for pk, *row in Order.objects.filter(
            pk__in=[order.pk for order in orders], claim_token=token
        ).values_list("pk", "attempt_count", "amount", "currency", "payment_method_id")
    }
    claimed = []
    for order in orders:
        if order.pk in won:
            for name, value in ((updates or {}).get(order.pk) or {}).items():
                setattr(order, name, value)
            order.attempt_count, order.amount, order.currency, card_id = won[order.pk]
            if card_id != order.payment_method_id:
                order.payment_method = PaymentMethod.objects.filter(pk=card_id).first()
            order.status = OrderStatus.PROCESSING
            order.stripe_payment_intent_id = order.failure_code = order.failure_message = ""
            order.claimed_at, order.claim_token = now, token
            claimed.append(order)
    return claimed


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

    ``claim_condition`` / ``claim_updates`` narrow and extend the claim (see ``_claim``). An
    unexpected error after the claim (a crash mid-charge) is raised once the order is on record.
    """
    if order.status == OrderStatus.PAID:
        return ChargeOutcome(OrderStatus.PAID, order, attempted=False)
    if not order_chargeable(order):
        raise PaymentSetupError(_("Choose a payment method first."))
    outcome = orders_charge(
        orders=[order],
        off_session=off_session,
        actor=actor,
        claim_condition=claim_condition,
        claim_updates={order.pk: claim_updates or {}},
    )[order.pk]
    if outcome.error is not None:
        raise outcome.error
    return outcome


def order_chargeable(order: Order) -> bool:
    """The order has a card on file and its organization a Stripe customer to charge it to."""
    card = order.payment_method
    return bool(
        card is not None and card.removed_at is None and order.organization.stripe_customer_id
    )


def orders_charge(
    *,
    orders: Sequence[Order],
    off_session: bool,
    actor: User | None = None,
    claim_condition: Q | None = None,
    claim_updates: Mapping[int, dict] | None = None,
    deadline: dt.timedelta | None = None,
) -> dict[int, ChargeOutcome]:
    """Charge each order once (the billing cycle's batches; ``order_charge`` is a batch of one).

    Every order must be chargeable (``order_chargeable``), with ``organization`` and
    ``payment_method`` loaded. The protocol of this module, with the database work done once
    per batch: claim (``_claim``), create every PaymentIntent unconfirmed, record the attempts
    with their PaymentIntent ids (committed) before any is confirmed, confirm each, then mark
    the paid ones paid in one transaction (``orders_mark_paid``). Declines, 3-D Secure and
    unknown outcomes are settled order by order, as in a single charge.

    An unexpected error on one order (a bug, a crash mid-call) does not stop the others: it is
    logged, its order stays ``processing`` for the reconciliation, and its outcome carries the
    error. Past ``deadline`` (``BATCH_DEADLINE``) no new Stripe call is started; the orders left are settled by the
    reconciliation as interrupted (nothing was confirmed for them).
    """
    outcomes: dict[int, ChargeOutcome] = {}
    started = time.monotonic()
    deadline = BATCH_DEADLINE if deadline is None else deadline
    claimed = _claim(
        [order for order in orders if order.status != OrderStatus.PAID],
        condition=claim_condition,
        updates=claim_updates,
    )
    won = {order.pk for order in claimed}
    for order in orders:
        if order.pk not in won:
            unclaimed = (
                ChargeOutcome(OrderStatus.PAID, order)
                if order.status == OrderStatus.PAID
                else _outcome_for_unclaimed(order)
            )
            outcomes[order.pk] = replace(unclaimed, attempted=False)

    def past_deadline() -> bool:
        return time.monotonic() - started > deadline.total_seconds()

    # Create: unconfirmed, so nothing is charged yet.
    created: list[tuple[Order, PaymentAttempt]] = []
    refused: list[tuple[Order, PaymentAttempt, str]] = []
    attempts: list[PaymentAttempt] = []
    for order in claimed:
        if past_deadline():
            outcomes[order.pk] = ChargeOutcome(OrderStatus.PROCESSING, order)
            continue
        attempt = PaymentAttempt(
            order=order,
            number=order.attempt_count,
            off_session=off_session,
            idempotency_key=order.idempotency_key,
            created_at=clock.now(),
        )
        try:
            intent = stripe_gateway.payment_intent_create(
                amount=order.amount,
                currency=order.currency,
                customer_id=order.organization.stripe_customer_id,
                payment_method_id=order.payment_method.stripe_payment_method_id,
                idempotency_key=attempt.idempotency_key,
                metadata={"order_id": str(order.pk), "attempt": str(attempt.number)},
            )
        except (stripe_gateway.StripeUnavailable, stripe_gateway.StripeRequestError) as error:
            # Nothing was confirmed, so nothing was charged: the attempt simply failed.
            refused.append((order, attempt, str(error)))
        except Exception as error:
            logger.exception("creating the PaymentIntent of order %s failed", order.pk)
            outcomes[order.pk] = ChargeOutcome(OrderStatus.PROCESSING, order, error=error)
            continue
        else:
            attempt.stripe_payment_intent_id = order.stripe_payment_intent_id = intent.id
            created.append((order, attempt))
        attempts.append(attempt)

    # On record before any money moves: a crash from here on is settled by looking them up.
    with transaction.atomic():
        PaymentAttempt.objects.bulk_create(attempts)
        Order.objects.bulk_update(
            [order for order, _attempt in created], ["stripe_payment_intent_id"]
        )
    for order, attempt, message in refused:
        outcomes[order.pk] = _record_failure(
            order, attempt, code="processing_error", message=message, hard=False
        )

    # Confirm.
    answered: list[tuple[Order, PaymentAttempt, stripe_gateway.PaymentIntentResult]] = []
    for order, attempt in created:
        if past_deadline():
            outcomes[order.pk] = ChargeOutcome(OrderStatus.PROCESSING, order)
            continue
        try:
            intent = stripe_gateway.payment_intent_confirm(
                attempt.stripe_payment_intent_id,
                idempotency_key=attempt.idempotency_key,
                off_session=off_session,
            )
        except stripe_gateway.PaymentDeclined as declined:
            outcomes[order.pk] = _record_failure(
                order,
                attempt,
                code=declined.code,
                message=declined.message,
                hard=declined.code in HARD_DECLINE_CODES,
            )
        except stripe_gateway.StripeUnavailable:
            # The charge may or may not have happened: leave the order claimed, settle by id.
            PaymentAttempt.objects.filter(pk=attempt.pk).update(
                status=PaymentAttempt.Status.UNKNOWN
            )
            logger.warning("payment outcome unknown", extra={"task": "order_charge"})
            outcomes[order.pk] = order_settle_from_stripe(order=order, actor=actor)
        except Exception as error:
            logger.exception("confirming the PaymentIntent of order %s failed", order.pk)
            outcomes[order.pk] = ChargeOutcome(OrderStatus.PROCESSING, order, error=error)
        else:
            answered.append((order, attempt, intent))

    paid = [
        (order, attempt, intent)
        for order, attempt, intent in answered
        if intent.status == "succeeded"
    ]
    if paid:
        outcomes.update(orders_mark_paid(payments=paid, actor=actor))
    for order, attempt, intent in answered:
        if intent.status != "succeeded":
            outcomes[order.pk] = _apply_intent(order, attempt, intent, actor=actor)
    return outcomes


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
    order: Order, attempt: PaymentAttempt | None, *, code: str, message: str, hard: bool
) -> ChargeOutcome:
    """Fail the order's current attempt. ``attempt`` is None when it crashed before its record."""
    now = clock.now()
    with transaction.atomic():
        if attempt is not None:
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
            attempt_count=attempt.number if attempt is not None else order.attempt_count,
            status__in=[OrderStatus.PROCESSING, OrderStatus.REQUIRES_ACTION],
        ).update(**updates)
    order.refresh_from_db()
    return ChargeOutcome(order.status, order, message=message)


def order_mark_paid(
    *,
    order: Order,
    attempt: PaymentAttempt | None,
    intent: stripe_gateway.PaymentIntentResult,
    actor: User | None = None,
    actor_label: str = "",
) -> ChargeOutcome:
    """Confirm the order and start or renew the subscription, in one transaction, once."""
    outcome = orders_mark_paid(
        payments=[(order, attempt, intent)], actor=actor, actor_label=actor_label
    )[order.pk]
    if outcome.error is not None:
        raise outcome.error
    return outcome


@transaction.atomic
def orders_mark_paid(
    *,
    payments: Sequence[tuple[Order, PaymentAttempt | None, stripe_gateway.PaymentIntentResult]],
    actor: User | None = None,
    actor_label: str = "",
) -> dict[int, ChargeOutcome]:
    """Confirm paid orders and start or renew their subscriptions, in one transaction, once each.

    The orders are locked (in id order, so two batches never deadlock); one already paid by
    someone else (a webhook, the reconciliation) is left as it is. Renewals are applied, benefits
    granted and the audit written for the whole batch at once.
    """
    intents = {order.pk: intent for order, _attempt, intent in payments}
    locked = (
        Order.objects.select_for_update(of=("self",))
        .select_related("organization", "offer", "subscription", "payment_method")
        .filter(pk__in=intents)
        .order_by("pk")
    )
    now = clock.now()
    label = actor_label or ("system" if actor is None else "")
    outcomes: dict[int, ChargeOutcome] = {}
    paying: list[Order] = []
    recorded_intents: dict[int, str] = {}
    for order in locked:
        intent = intents[order.pk]
        if order.status == OrderStatus.PAID:
            outcomes[order.pk] = ChargeOutcome(OrderStatus.PAID, order)
            continue
        if intent.amount != order.amount or intent.currency.upper() != order.currency:
            # Never settle an order on a payment for another amount: leave it for staff.
            logger.error("payment amount mismatch on order %s", order.pk)
            error = PaymentSetupError("The payment does not match the order's amount.")
            outcomes[order.pk] = ChargeOutcome(order.status, order, error=error)
            continue
        recorded_intents[order.pk] = order.stripe_payment_intent_id
        order.status = OrderStatus.PAID
        order.paid_at = order.updated_at = now
        order.stripe_payment_intent_id = intent.id
        order.invoice_number = f"INV-{now:%Y}-{order.pk:06d}"
        order.next_retry_on = None
        order.failure_code = order.failure_message = ""
        paying.append(order)
    if not paying:
        return outcomes
    # What every paid order gets in one UPDATE; what differs per order (the invoice number, a
    # PaymentIntent other than the one on record) in a second one. bulk_update's CASE per row
    # and field costs far more to build than to run.
    Order.objects.filter(pk__in=[order.pk for order in paying]).update(
        status=OrderStatus.PAID,
        paid_at=now,
        next_retry_on=None,
        failure_code="",
        failure_message="",
        updated_at=now,
    )
    Order.objects.bulk_update(paying, ["invoice_number"])
    for order in paying:
        if order.stripe_payment_intent_id != recorded_intents[order.pk]:
            Order.objects.filter(pk=order.pk).update(
                stripe_payment_intent_id=order.stripe_payment_intent_id
            )
    PaymentAttempt.objects.filter(
        order__in=paying,
        stripe_payment_intent_id__in=[order.stripe_payment_intent_id for order in paying],
    ).update(status=PaymentAttempt.Status.SUCCEEDED, finished_at=now)

    renewals = [order for order in paying if order.kind == OrderKind.RENEWAL]
    renewed = subscriptions_apply_renewals(orders=renewals, actor=actor, actor_label=label)
    for order in paying:
        if order.kind == OrderKind.PURCHASE:
            order.subscription = subscription_start(order=order, actor=actor, actor_label=label)
        else:
            # The order is saved and current; only its subscription moved on (renewed).
            order.subscription = renewed[order.pk]
    _benefits_grant([order.subscription for order in paying])
    AuditEvent.objects.bulk_create(
        audit_event(
            action=(
                AuditEvent.Action.PURCHASE
                if order.kind == OrderKind.PURCHASE
                else AuditEvent.Action.RENEWAL
            ),
            organization=order.organization,
            actor=actor,
            actor_label=label,
            target=order.invoice_number,
            detail={
                "order": order.pk,
                "amount": order.amount,
                "currency": order.currency,
                "payment_intent": order.stripe_payment_intent_id,
            },
        )
        for order in paying
    )
    for order in paying:
        outcomes[order.pk] = ChargeOutcome(OrderStatus.PAID, order)
    return outcomes


def _benefits_grant(subscriptions: list[Subscription]) -> None:
    """Grant the offers' benefits for the subscriptions' new terms (billing.services.benefits)."""
    from billing.services.benefits import benefits_grant_for_terms

    benefits_grant_for_terms(subscriptions=subscriptions)


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
            # (Its attempt may not even be on record: the crash came before.)
            attempt = order.attempts.filter(number=order.attempt_count).first()
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
