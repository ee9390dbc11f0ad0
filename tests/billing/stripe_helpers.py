"""Doing in tests what Stripe.js does in the browser, against the session's localstripe.

Stripe.js confirms a SetupIntent with the card typed into Elements, and completes 3-D Secure;
these helpers send localstripe the same requests its fake Stripe.js sends
(``localstripe-v3.js``), so services can be tested without a browser.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from django.conf import settings

from billing.models import PaymentMethod
from billing.services.payment_methods import card_setup_start, payment_method_save
from membership.models import Organization, User
from tests.plugins.services import LocalStripe

CARD_OK = "4242424242424242"
CARD_CHARGES_DECLINED = "4000000000000341"  # saves fine, every charge is declined
CARD_DECLINED_ON_SAVE = "4000000000000002"
CARD_3DS = "4000002500003155"  # 3-D Secure on setup and on every payment


def setup_intent_confirm(
    localstripe: LocalStripe, *, setup_intent_id: str, client_secret: str, number: str
) -> dict[str, Any]:
    """``stripe.confirmCardSetup(clientSecret, {payment_method: {card}})`` for ``number``.

    A card declined on save fails like Stripe answers it (HTTP 402), as an AssertionError.
    """
    return localstripe.request(
        "POST",
        f"/v1/setup_intents/{setup_intent_id}/confirm",
        {
            "client_secret": client_secret,
            "payment_method_data[type]": "card",
            "payment_method_data[card][number]": number,
            "payment_method_data[card][exp_month]": "12",
            "payment_method_data[card][exp_year]": "2034",
            "payment_method_data[card][cvc]": "123",
        },
    )


def setup_intent_authenticate(
    localstripe: LocalStripe, *, setup_intent_id: str, client_secret: str
) -> dict[str, Any]:
    """The card holder clicks "Complete authentication" in the 3-D Secure dialog of a setup."""
    return localstripe.request(
        "POST", f"/v1/setup_intents/{setup_intent_id}/confirm", {"client_secret": client_secret}
    )


def payment_intent_authenticate(
    localstripe: LocalStripe, *, client_secret: str, success: bool = True
) -> dict[str, Any]:
    """``stripe.confirmCardPayment(clientSecret)``: the card holder completes (or fails) 3-D Secure."""
    payment_intent_id = client_secret.split("_secret_")[0]
    return localstripe.request(
        "POST",
        f"/v1/payment_intents/{payment_intent_id}/_authenticate",
        {"client_secret": client_secret, "success": "true" if success else "false"},
    )


def confirmed_setup_intent(
    localstripe: LocalStripe, organization: Organization, number: str = CARD_OK
) -> str:
    """A SetupIntent of ``organization`` confirmed with ``number`` (3-D Secure completed)."""
    setup_intent_id, client_secret = card_setup_start(organization=organization)
    intent = setup_intent_confirm(
        localstripe, setup_intent_id=setup_intent_id, client_secret=client_secret, number=number
    )
    if intent["status"] == "requires_action":
        setup_intent_authenticate(
            localstripe, setup_intent_id=setup_intent_id, client_secret=client_secret
        )
    return setup_intent_id


def card_save(
    localstripe: LocalStripe,
    organization: Organization,
    actor: User,
    number: str = CARD_OK,
    *,
    make_default: bool = False,
) -> PaymentMethod:
    """A card saved the way the portal saves it: SetupIntent, Stripe.js confirm, server check."""
    return payment_method_save(
        organization=organization,
        setup_intent_id=confirmed_setup_intent(localstripe, organization, number),
        actor=actor,
        make_default=make_default,
    )


def stripe_payment_method(localstripe: LocalStripe, payment_method_id: str) -> dict[str, Any]:
    return localstripe.request("GET", f"/v1/payment_methods/{payment_method_id}")


def attached_cards(localstripe: LocalStripe, customer_id: str) -> list[dict[str, Any]]:
    """The cards localstripe has attached to the customer."""
    return localstripe.list_all("payment_methods", customer=customer_id, type="card")


def succeeded_charges(localstripe: LocalStripe, customer_id: str) -> list[tuple[int, str]]:
    """(amount, currency) of each charge that took money from the customer."""
    return [
        (charge["amount"], charge["currency"])
        for charge in localstripe.charges(customer=customer_id)
        if charge["status"] == "succeeded"
    ]


def webhook_signature(payload: bytes, *, timestamp: int | None = None, secret: str = "") -> str:
    """A ``Stripe-Signature`` header as Stripe computes it: HMAC-SHA256 of ``"<t>.<payload>"``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    key = (secret or settings.STRIPE_WEBHOOK_SECRET).encode()
    digest = hmac.new(key, f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_payload(event_id: str, event_type: str, payment_intent: dict[str, Any]) -> bytes:
    """A Stripe event as Stripe sends it, around a snapshot of the PaymentIntent."""
    event = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": payment_intent},
    }
    return json.dumps(event).encode()
