"""The one module that talks to Stripe. Nothing else imports ``stripe``.

It returns plain dataclasses and dicts, never SDK objects, and turns the SDK's errors into ours:
``PaymentDeclined`` (a definite "no" from the card), ``StripeRequestError`` (Stripe refused the
request itself; ``StripeNotFound`` when the object does not exist) and ``StripeUnavailable`` (the
outcome is unknown: network, timeout, 5xx, rate limit).

**Timeouts and retries.** The SDK's defaults are an 80 s timeout and no automatic network
retries for a ``StripeClient``. We keep the SDK's own retries off and retry here instead, where
the rules of the payments protocol are known:

- ``STRIPE_TIMEOUT_SECONDS`` (20 s) answers a partner's Purchase before gunicorn's 30 s worker
  timeout can kill the request mid-call, and keeps a billing batch within its deadline when
  Stripe is slow. A timeout is not a failure and is not retried here: ``billing.services.
  payments`` treats every PaymentIntent whose confirm may have been sent as *in flight* until
  Stripe reports it succeeded, failed or canceled, so a timeout never starts a second
  PaymentIntent.
- A 429 (Stripe refused the request before doing anything) is retried up to
  ``RATE_LIMIT_RETRIES`` times and a failed connection up to ``CONNECTION_RETRIES`` times, with
  exponential backoff and full jitter and the same idempotency key, which makes a request that
  did reach Stripe safe to send again. A refund is not resent after a failed connection: its own
  protocol looks it up first (localstripe, unlike Stripe, ignores idempotency keys).
- Calls made inside ``paced()`` (the billing jobs) take a token first from one bucket shared by
  every worker (``core.token_bucket``, in Redis), sized to the jobs' share of the account's rate
  limit: a day of renewals keeps under Stripe's limit and leaves room for partners' payments.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings

from core.token_bucket import token_bucket, token_wait

_clients: dict[tuple[str, str, float], stripe.StripeClient] = {}
_clients_lock = threading.Lock()


class StripeUnavailable(Exception):
    """Stripe could not be reached or did not answer: the outcome of the call is unknown."""


class StripeRequestError(Exception):
    """Stripe refused the request itself (bad id, bad state)."""


class StripeRateLimited(StripeUnavailable):
    """Stripe kept answering 429 after every retry: nothing was done, try again later."""


class StripeNotFound(StripeRequestError):
    """Stripe has no such object (HTTP 404): a PaymentIntent we recorded cannot be found."""


class PaymentDeclined(Exception):
    def __init__(self, message: str, code: str = "card_declined"):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class PaymentIntentResult:
    id: str
    status: str  # requires_confirmation, requires_action, succeeded, requires_payment_method, …
    amount: int
    currency: str
    client_secret: str
    customer: str | None
    payment_method: str | None
    failure_code: str = ""
    failure_message: str = ""
    metadata: dict | None = None

    @property
    def paid(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class CardDetails:
    id: str
    customer: str | None
    brand: str
    last4: str
    exp_month: int
    exp_year: int


def is_localstripe() -> bool:
    return bool(settings.STRIPE_API_BASE)


def _client(timeout: float | None = None) -> stripe.StripeClient:
    timeout = float(settings.STRIPE_TIMEOUT_SECONDS if timeout is None else timeout)
    api_base = settings.STRIPE_API_BASE or stripe.DEFAULT_API_BASE
    key = (settings.STRIPE_SECRET_KEY, api_base, timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = stripe.StripeClient(
                settings.STRIPE_SECRET_KEY,
                base_addresses={"api": api_base},
                max_network_retries=0,
                http_client=stripe.RequestsClient(timeout=timeout),
            )
            _clients[key] = client
    return client


# Retries of a request Stripe did not process, with the same idempotency key: "retry with
# exponential backoff and jitter" (Stripe's advice for rate limits). A 429 was refused before any
# work; a connection that failed before an answer may have been processed, which the key makes
# safe on Stripe. A read timeout is not retried: its request is in flight, and the payments
# protocol settles it by looking it up (billing.services.payments).
RATE_LIMIT_RETRIES = 6
CONNECTION_RETRIES = 2
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 8.0

# Calls made inside ``paced()`` (the billing jobs) first take a token from the jobs' share of the
# account's rate limit, so that a day of renewals never starves partners' own payments.
_paced: ContextVar[bool] = ContextVar("stripe_paced", default=False)


@contextmanager
def paced() -> Iterator[None]:
    """Pace every Stripe call made in this block to the jobs' share of the rate limit
    (``STRIPE_RATE_LIMIT`` × ``STRIPE_JOBS_RATE_SHARE``), one bucket for every worker."""
    reset = _paced.set(True)
    try:
        yield
    finally:
        _paced.reset(reset)


def jobs_rate() -> float:
    """Requests a second the billing jobs may send: their share of the account's limit."""
    return settings.STRIPE_RATE_LIMIT * settings.STRIPE_JOBS_RATE_SHARE


def backoff_seconds(retry: int) -> float:
    """Exponential backoff with full jitter before retry number ``retry`` (1, 2, …)."""
    return random.uniform(0, min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (retry - 1)))


def _retryable_connection_error(error: stripe.APIConnectionError) -> bool:
    # requests' ReadTimeout ("Read timed out"): the request was sent and no answer came in time.
    message = str(error).lower()
    return "readtimeout" not in message and "read timed out" not in message


def _call(function, *args, retry_connection: bool = True, **kwargs):
    rate_limited = connection_failed = 0
    while True:
        if _paced.get():
            token_wait(token_bucket(settings.STRIPE_JOBS_BUCKET, jobs_rate()))
        try:
            return function(*args, **kwargs)
        except stripe.CardError as error:
            raise PaymentDeclined(
                error.user_message or str(error), error.code or "card_declined"
            ) from error
        except stripe.RateLimitError as error:
            rate_limited += 1
            if rate_limited > RATE_LIMIT_RETRIES:
                raise StripeRateLimited(str(error)) from error
            _rate_limited_count.increment()
            time.sleep(backoff_seconds(rate_limited))
        except stripe.APIConnectionError as error:
            connection_failed += 1
            if (
                not retry_connection
                or connection_failed > CONNECTION_RETRIES
                or not _retryable_connection_error(error)
            ):
                raise StripeUnavailable(str(error)) from error
            time.sleep(backoff_seconds(connection_failed))
        except stripe.APIError as error:
            raise StripeUnavailable(str(error)) from error
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                raise StripeNotFound(error.user_message or str(error)) from error
            raise StripeRequestError(error.user_message or str(error)) from error
        except stripe.StripeError as error:
            raise StripeRequestError(error.user_message or str(error)) from error


class _Counter:
    """How many 429s this process met (the burst bench reads it; thread-safe)."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def increment(self) -> None:
        with self._lock:
            self.value += 1


_rate_limited_count = _Counter()


def rate_limited_seen() -> int:
    """429 answers this process retried so far."""
    return _rate_limited_count.value


def _as_dict(obj: Any) -> dict:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _payment_intent(obj: Any) -> PaymentIntentResult:
    data = _as_dict(obj)
    error = data.get("last_payment_error") or {}
    return PaymentIntentResult(
        id=data["id"],
        status=data["status"],
        amount=int(data["amount"]),
        currency=str(data["currency"]).upper(),
        client_secret=data.get("client_secret") or "",
        customer=data.get("customer"),
        payment_method=data.get("payment_method"),
        failure_code=(error.get("code") or "") if isinstance(error, dict) else "",
        failure_message=(error.get("message") or "") if isinstance(error, dict) else "",
        metadata=dict(data.get("metadata") or {}),
    )


# Customers and cards -------------------------------------------------------------------------


def customer_create(*, name: str, email: str, organization_id: int) -> str:
    customer = _call(
        _client().v1.customers.create,
        params={
            "name": name,
            "email": email,
            "metadata": {"organization_id": str(organization_id)},
        },
        options={"idempotency_key": f"partnerportal-customer-{organization_id}"},
    )
    return customer.id


def customer_exists(customer_id: str) -> bool:
    try:
        _call(_client().v1.customers.retrieve, customer_id)
    except StripeRequestError:
        return False
    return True


def setup_intent_create(*, customer_id: str) -> tuple[str, str]:
    """A SetupIntent to save a card for off-session renewals. Returns (id, client_secret)."""
    intent = _call(
        _client().v1.setup_intents.create,
        params={"customer": customer_id, "usage": "off_session", "payment_method_types": ["card"]},
    )
    return intent.id, intent.client_secret


def setup_intent_retrieve(setup_intent_id: str) -> dict:
    intent = _as_dict(_call(_client().v1.setup_intents.retrieve, setup_intent_id))
    return {
        "id": intent["id"],
        "status": intent["status"],
        "customer": intent.get("customer"),
        "payment_method": intent.get("payment_method"),
        "client_secret": intent.get("client_secret") or "",
    }


def payment_method_retrieve(payment_method_id: str) -> CardDetails:
    data = _as_dict(_call(_client().v1.payment_methods.retrieve, payment_method_id))
    card = data.get("card") or {}
    return CardDetails(
        id=data["id"],
        customer=data.get("customer"),
        brand=str(card.get("brand", "card")),
        last4=str(card.get("last4", "")),
        exp_month=int(card.get("exp_month") or 0),
        exp_year=int(card.get("exp_year") or 0),
    )


def payment_method_attach(*, payment_method_id: str, customer_id: str) -> None:
    _call(_client().v1.payment_methods.attach, payment_method_id, params={"customer": customer_id})


def payment_method_detach(payment_method_id: str) -> None:
    _call(_client().v1.payment_methods.detach, payment_method_id)


def demo_card_create(*, number: str, exp_month: int = 12, exp_year: int = 2034) -> str:
    """Create a card server-side from a test number; localstripe only (demo data, tests, bench).

    Real Stripe never receives raw card numbers from us: partners type them into Stripe.js.
    """
    if not is_localstripe():
        raise StripeRequestError("Test cards can only be created on localstripe.")
    payment_method = _call(
        _client().v1.payment_methods.create,
        params={
            "type": "card",
            "card": {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": "123"},
        },
    )
    return payment_method.id


# Payments ------------------------------------------------------------------------------------


def payment_intent_create(
    *,
    amount: int,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    idempotency_key: str,
    metadata: dict[str, str],
) -> PaymentIntentResult:
    """Create an unconfirmed PaymentIntent: nothing is charged until ``payment_intent_confirm``.

    Creating and confirming in two calls lets us store the PaymentIntent id before any money
    moves, so every charge can later be found and reconciled by id.
    """
    intent = _call(
        _client().v1.payment_intents.create,
        params={
            "amount": amount,
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "payment_method_types": ["card"],
            "metadata": metadata,
        },
        options={"idempotency_key": f"{idempotency_key}-create"},
    )
    return _payment_intent(intent)


def payment_intent_confirm(
    payment_intent_id: str, *, idempotency_key: str, off_session: bool
) -> PaymentIntentResult:
    """Confirm (charge). A decline raises ``PaymentDeclined``; 3-D Secure: ``requires_action``."""
    params: dict[str, Any] = {}
    if off_session and not is_localstripe():
        # Real Stripe: a merchant-initiated renewal. localstripe rejects the parameter.
        params["off_session"] = True
    intent = _call(
        _client().v1.payment_intents.confirm,
        payment_intent_id,
        params=params,
        options={"idempotency_key": f"{idempotency_key}-confirm"},
    )
    return _payment_intent(intent)


def payment_intent_retrieve(payment_intent_id: str) -> PaymentIntentResult:
    return _payment_intent(_call(_client().v1.payment_intents.retrieve, payment_intent_id))


def payment_intent_cancel(payment_intent_id: str) -> PaymentIntentResult:
    """Cancel a PaymentIntent so that nothing can ever charge it.

    Stripe refuses (``StripeRequestError``) when it has succeeded or is processing: look it up
    to see which. Canceling one already canceled is refused too; the lookup says so.
    """
    return _payment_intent(_call(_client().v1.payment_intents.cancel, payment_intent_id))


def refund_create(*, payment_intent_id: str, amount: int, idempotency_key: str) -> dict:
    refund = _as_dict(
        _call(
            _client().v1.refunds.create,
            params={"payment_intent": payment_intent_id, "amount": amount},
            options={"idempotency_key": idempotency_key},
            # An unanswered refund is looked up before it is sent again (the refund protocols
            # in billing.services): localstripe, unlike Stripe, would refund twice.
            retry_connection=False,
        )
    )
    return {"id": refund["id"], "amount": int(refund["amount"]), "status": refund.get("status", "")}


def refunds_for_payment_intent(payment_intent_id: str) -> list[dict]:
    """The refunds Stripe made of a PaymentIntent (to tell whether an unanswered one happened)."""
    page = _as_dict(
        _call(
            _client().v1.refunds.list,
            params={"payment_intent": payment_intent_id, "limit": 100},
        )
    )
    return [
        {"id": refund["id"], "amount": int(refund["amount"]), "status": refund.get("status", "")}
        for refund in page.get("data", [])
    ]


# Webhooks and health -------------------------------------------------------------------------


class WebhookSignatureInvalid(Exception):
    """Not a Stripe event signed with our secret in the last few minutes (or not an event)."""


def _refuse_constant(name: str) -> float:
    # NaN and Infinity are not JSON: PostgreSQL would refuse to store the event.
    raise ValueError(f"{name} is not valid JSON.")


# Stripe's events nest a few levels (event → data → object → charges → …); anything deeper than
# this is not an event, and parsing it would recurse until Python gives up.
WEBHOOK_MAX_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:\\.|[^"\\])*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def _json_depth(payload: bytes) -> int:
    """How deep the arrays and objects of ``payload`` nest, without parsing it (no recursion)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub(b'""', payload)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def _signed_at(signature_header: str) -> int | None:
    """The ``t=`` of the header (the first one, as the SDK reads it)."""
    for item in signature_header.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def webhook_event_construct(payload: bytes, signature_header: str) -> dict:
    """Verify a webhook's signature and age (``STRIPE_WEBHOOK_SECRET``) and return the event.

    The signature must be no older than ``STRIPE_WEBHOOK_TOLERANCE_SECONDS`` and no further in
    the future either (the SDK only checks the past); the event must be JSON nested at most
    ``WEBHOOK_MAX_DEPTH`` deep.
    """
    # The SDK compares signatures with hmac.compare_digest, which raises TypeError (not a
    # verification error) on a non-ASCII header: anyone could turn that into a server error.
    if not signature_header.isascii():
        raise WebhookSignatureInvalid("The signature header is not ASCII.")
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature_header, settings.STRIPE_WEBHOOK_SECRET, tolerance=tolerance
        )
    except (ValueError, stripe.SignatureVerificationError) as error:
        raise WebhookSignatureInvalid(str(error)) from error
    signed_at = _signed_at(signature_header)
    if signed_at is None or signed_at > time.time() + tolerance:
        raise WebhookSignatureInvalid("The signature is dated in the future.")
    if _json_depth(payload) > WEBHOOK_MAX_DEPTH:
        raise WebhookSignatureInvalid("The payload nests too deep to be an event.")
    try:
        event = json.loads(payload, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise WebhookSignatureInvalid(str(error)) from error
    # Parsed here rather than by the SDK's Event class, which fails with AttributeError on a
    # signed body that is valid JSON but not an object.
    if not isinstance(event, dict):
        raise WebhookSignatureInvalid("The payload is not a JSON object.")
    return event


def ping() -> bool:
    """Can we reach Stripe with our key? (for /healthz)."""
    try:
        _call(_client(timeout=3.0).v1.balance.retrieve)
    except (StripeUnavailable, StripeRequestError):
        return False
    return True
