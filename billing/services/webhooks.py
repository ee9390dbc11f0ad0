"""Stripe webhooks: verified, stored once per event id, reconciled against Stripe's current state.

An event is a hint, not the truth: deliveries can be late, repeated or out of order. So we never
apply the event's copy of the PaymentIntent; we settle the order from the PaymentIntent as
Stripe has it now (``order_settle_payment_intent`` reads it back), which gives the same result
whatever order the events arrive in, and settling twice changes nothing.
"""

from __future__ import annotations

import json
import logging
import re

from django.db import IntegrityError, transaction

from billing import stripe_gateway
from billing.models import OPEN_ORDER_STATUSES, OrderStatus, StripeEvent
from billing.services.payment_outcomes import PaymentSetupError
from billing.services.reconciliation import order_settle_payment_intent
from core import clock

logger = logging.getLogger(__name__)

PAYMENT_INTENT_EVENTS = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed"})


class WebhookSignatureInvalid(Exception):
    """The payload is not signed with our webhook secret, the signature is too old, or the
    signed payload is not a Stripe event we can store."""


# Stripe's event ids; anything else (control characters, NUL, which PostgreSQL cannot store)
# is not an event Stripe sent.
EVENT_ID = re.compile(r"evt_[A-Za-z0-9_]{1,250}")


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
    event_id, event_type = data.get("id"), data.get("type")
    if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
        raise WebhookSignatureInvalid("The event has no valid id.")
    if not isinstance(event_type, str) or len(event_type) > 100 or not _storable(data):
        raise WebhookSignatureInvalid("The event cannot be stored.")

    try:
        with transaction.atomic():
            event, created = StripeEvent.objects.get_or_create(
                event_id=event_id,
                defaults={"type": event_type, "payload": data, "received_at": clock.now()},
            )
    except IntegrityError:
        # The same event delivered twice at the same moment: the other delivery stored it.
        event, created = StripeEvent.objects.get(event_id=event_id), False
    if not created and event.processed_at is not None:
        return event
    return _process(event)


def _storable(data: dict) -> bool:
    """PostgreSQL's jsonb refuses NUL characters and unpaired surrogates; Stripe sends neither."""
    text = json.dumps(data, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\\u0000" not in text


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
    envelope = event.payload.get("data")
    intent = envelope.get("object") if isinstance(envelope, dict) else None
    payment_intent_id = intent.get("id") if isinstance(intent, dict) else None
    if not isinstance(payment_intent_id, str) or not payment_intent_id.startswith("pi_"):
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
