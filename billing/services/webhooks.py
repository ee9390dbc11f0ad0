"""Stripe webhooks: verified, stored once per event id, reconciled against Stripe's current state.

An event is a hint, not the truth: deliveries can be late, repeated or out of order. So we never
apply the event's copy of the PaymentIntent; we settle the order from the PaymentIntent as
Stripe has it now (``order_settle_payment_intent`` reads it back), which gives the same result
whatever order the events arrive in, and settling twice changes nothing.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from billing import stripe_gateway
from billing.models import OPEN_ORDER_STATUSES, OrderStatus, StripeEvent
from billing.services.payments import PaymentSetupError, order_settle_payment_intent
from partnerportal import clock

logger = logging.getLogger(__name__)

PAYMENT_INTENT_EVENTS = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed"})


class WebhookSignatureInvalid(Exception):
    """The payload is not signed with our webhook secret, or the signature is too old."""


def stripe_event_receive(*, payload: bytes, signature: str) -> StripeEvent:
    """Verify, store once and process a webhook delivery.

    Returns the stored event; ``processed_at`` stays empty when the event could not be settled
    yet (Stripe unreachable), so the caller answers with an error and Stripe delivers it again.
    A repeated delivery of a processed event does nothing.
    """
    try:
        data = stripe_gateway.webhook_event_construct(payload, signature)
    except stripe_gateway.WebhookSignatureInvalid as error:
        raise WebhookSignatureInvalid(str(error)) from error

    try:
        with transaction.atomic():
            event, created = StripeEvent.objects.get_or_create(
                event_id=str(data["id"]),
                defaults={
                    "type": str(data.get("type", ""))[:100],
                    "payload": data,
                    "received_at": clock.now(),
                },
            )
    except IntegrityError:
        # The same event delivered twice at the same moment: the other delivery stored it.
        event, created = StripeEvent.objects.get(event_id=str(data["id"])), False
    if not created and event.processed_at is not None:
        return event
    return _process(event)


def _process(event: StripeEvent) -> StripeEvent:
    if event.type in PAYMENT_INTENT_EVENTS:
        settled, result = _settle_payment_intent(event)
    else:
        settled, result = True, "ignored"
    # Claim-by-condition: of two deliveries processing at once, one records the result.
    updates = {"result": result[:200]}
    if settled:
        updates["processed_at"] = clock.now()
    StripeEvent.objects.filter(pk=event.pk, processed_at__isnull=True).update(**updates)
    event.refresh_from_db()
    return event


def _settle_payment_intent(event: StripeEvent) -> tuple[bool, str]:
    """Settle the order of the event's PaymentIntent. Returns (settled, what happened)."""
    intent = (event.payload.get("data") or {}).get("object") or {}
    payment_intent_id = str(intent.get("id") or "")
    if not payment_intent_id:
        return True, "ignored: no PaymentIntent"
    try:
        outcome = order_settle_payment_intent(payment_intent_id=payment_intent_id)
    except PaymentSetupError as error:
        # The amount does not match the order: retrying cannot help, staff must look (logged).
        return True, f"refused: {error}"
    if outcome is None:
        return True, "ignored: no order"
    order = outcome.order
    if order.stripe_payment_intent_id != payment_intent_id:
        return True, f"order {order.pk}: {order.status} (an older attempt)"
    # The event says how the PaymentIntent ended; if the order still has not moved, reading it
    # back from Stripe failed. Leave the event unprocessed so that Stripe's retry settles it.
    unsettled = (
        event.type == "payment_intent.succeeded" and order.status in OPEN_ORDER_STATUSES
    ) or (event.type == "payment_intent.payment_failed" and order.status == OrderStatus.PROCESSING)
    if unsettled:
        logger.warning("webhook %s could not settle order %s yet", event.event_id, order.pk)
        return False, f"order {order.pk}: not settled yet ({order.status})"
    return True, f"order {order.pk}: {order.status}"
