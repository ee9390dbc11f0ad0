"""The Stripe webhook: signature, stored once, reconciled with Stripe's current state."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from billing import stripe_gateway
from billing.models import Order, OrderStatus, StripeEvent, Subscription
from billing.services.orders import order_change_card, order_open_purchase
from billing.services.payments import order_charge
from membership.models import AuditEvent
from tests.billing.stripe_helpers import (
    CARD_3DS,
    CARD_CHARGES_DECLINED,
    CARD_OK,
    card_save,
    payment_intent_authenticate,
    succeeded_charges,
    webhook_payload,
    webhook_signature,
)
from tests.plugins.services import wait_until

URL = "/stripe/webhook/"


def deliver(payload: bytes, signature: str | None = None):
    """POST a delivery the way Stripe does (signed now with our secret unless told otherwise)."""
    signature = webhook_signature(payload) if signature is None else signature
    return Client().post(
        URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


def stripe_payment_intent(localstripe, payment_intent_id: str) -> dict:
    return localstripe.request("GET", f"/v1/payment_intents/{payment_intent_id}")


@pytest.fixture
def order_waiting_for_3ds(db, localstripe, contoso, offer, bob) -> Order:
    """Bob clicked Purchase with a 3-D Secure card: the bank's challenge is open in his browser."""
    card = card_save(localstripe, contoso, bob, CARD_3DS)
    order = order_open_purchase(
        organization=contoso, offer=offer, placed_by=bob, payment_method=card
    )
    outcome = order_charge(order=order, off_session=False, actor=bob)
    assert outcome.status == OrderStatus.REQUIRES_ACTION
    return outcome.order


def authenticated_and_browser_gone(localstripe, order: Order) -> dict:
    """Bob completes 3-D Secure, then his browser dies before it tells us: only Stripe knows."""
    intent = stripe_payment_intent(localstripe, order.stripe_payment_intent_id)
    return payment_intent_authenticate(localstripe, client_secret=intent["client_secret"])


def test_it_is_routed_at_stripe_webhook():
    assert reverse("billing:stripe_webhook") == URL


@pytest.mark.django_db
def test_a_valid_delivery_confirms_the_order_whose_browser_died(localstripe, order_waiting_for_3ds):
    order = order_waiting_for_3ds
    intent = authenticated_and_browser_gone(localstripe, order)

    response = deliver(webhook_payload("evt_paid_1", "payment_intent.succeeded", intent))

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert (
        Subscription.objects.filter(organization=order.organization, status="active").count() == 1
    )
    event = StripeEvent.objects.get(event_id="evt_paid_1")
    assert (event.type, event.processed_at is not None) == ("payment_intent.succeeded", True)
    assert succeeded_charges(localstripe, order.organization.stripe_customer_id) == [(47500, "usd")]


@pytest.mark.django_db
def test_a_tampered_delivery_is_refused_and_nothing_is_stored(localstripe, order_waiting_for_3ds):
    order = order_waiting_for_3ds
    intent = authenticated_and_browser_gone(localstripe, order)
    payload = webhook_payload("evt_tampered", "payment_intent.succeeded", intent)
    signature = webhook_signature(payload)

    response = deliver(payload.replace(b'"livemode": false', b'"livemode": true'), signature)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.REQUIRES_ACTION


@pytest.mark.django_db
def test_a_delivery_signed_with_another_secret_is_refused(localstripe, order_waiting_for_3ds):
    intent = authenticated_and_browser_gone(localstripe, order_waiting_for_3ds)
    payload = webhook_payload("evt_other_secret", "payment_intent.succeeded", intent)

    response = deliver(payload, webhook_signature(payload, secret="whsec_someone_else"))

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "seconds",
    [
        -600,  # ten minutes ago: a replayed capture (tolerance is five minutes)
        3600,  # an hour ahead (issue 13: the SDK checks only the past)
    ],
    ids=["stale", "future"],
)
def test_a_signature_beyond_the_tolerance_is_refused_and_nothing_is_stored(
    localstripe, order_waiting_for_3ds, seconds
):
    order = order_waiting_for_3ds
    intent = authenticated_and_browser_gone(localstripe, order)
    payload = webhook_payload("evt_dated", "payment_intent.succeeded", intent)
    signature = webhook_signature(payload, timestamp=int(time.time()) + seconds)

    response = deliver(payload, signature)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.REQUIRES_ACTION


@pytest.mark.django_db
def test_a_signature_a_little_ahead_of_our_clock_is_accepted():
    # Clocks drift: a minute ahead is within the tolerance.
    payload = webhook_payload("evt_drift", "customer.created", {"id": "cus_1"})

    response = deliver(payload, webhook_signature(payload, timestamp=int(time.time()) + 60))

    assert response.status_code == 200
    assert StripeEvent.objects.filter(event_id="evt_drift").exists()


@pytest.mark.django_db
def test_json_nested_100000_deep_is_refused_not_a_crash():
    # Issue 13: a signed body nested this deep made json.loads raise RecursionError (a 500).
    payload = b'{"id": "evt_deep", "type": "x", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    response = deliver(payload)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
def test_an_oversized_body_is_refused_before_it_is_read(settings):
    settings.STRIPE_WEBHOOK_MAX_BYTES = 64 * 1024
    filler = "x" * (settings.STRIPE_WEBHOOK_MAX_BYTES + 1)
    payload = webhook_payload("evt_big", "customer.created", {"id": "cus_1", "note": filler})

    response = deliver(payload)

    assert response.status_code == 413
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
def test_a_delivery_without_signature_is_refused():
    response = Client().post(URL, data=b"{}", content_type="application/json")

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
def test_a_non_ascii_signature_is_refused_not_a_crash():
    payload = webhook_payload("evt_ascii", "customer.created", {"id": "cus_1"})

    response = deliver(payload, "t=0,v1=\u00e9")

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        b"[1, 2]",  # valid JSON, not an event
        b'{"type": "payment_intent.succeeded"}',  # no id
        b'{"id": "evt_\\u0000", "type": "x"}',  # an id PostgreSQL cannot store
        b'{"id": "evt_nul", "type": "x", "data": {"object": {"id": "pi_\\u0000"}}}',
        b'{"id": "evt_nan", "type": "x", "data": NaN}',
    ],
)
def test_a_signed_payload_that_is_not_a_storable_event_is_refused(payload):
    response = deliver(payload)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
def test_a_duplicate_delivery_does_nothing_twice(localstripe, order_waiting_for_3ds):
    order = order_waiting_for_3ds
    intent = authenticated_and_browser_gone(localstripe, order)
    payload = webhook_payload("evt_twice", "payment_intent.succeeded", intent)

    first = deliver(payload)
    second = deliver(payload)

    assert (first.status_code, second.status_code) == (200, 200)
    assert StripeEvent.objects.filter(event_id="evt_twice").count() == 1
    assert Subscription.objects.filter(organization=order.organization).count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PURCHASE).count() == 1
    assert succeeded_charges(localstripe, order.organization.stripe_customer_id) == [(47500, "usd")]


@pytest.mark.django_db
def test_an_old_failure_arriving_after_the_success_settles_to_paid(
    localstripe, order_waiting_for_3ds
):
    # Out of order: a payment_failed whose snapshot still says "requires_payment_method" is
    # delivered after the payment succeeded. We settle from Stripe's current state, not from it.
    order = order_waiting_for_3ds
    before = stripe_payment_intent(localstripe, order.stripe_payment_intent_id)
    after = authenticated_and_browser_gone(localstripe, order)
    old_snapshot = {**before, "status": "requires_payment_method"}

    failed = deliver(webhook_payload("evt_old_fail", "payment_intent.payment_failed", old_snapshot))
    succeeded = deliver(webhook_payload("evt_success", "payment_intent.succeeded", after))

    assert (failed.status_code, succeeded.status_code) == (200, 200)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Subscription.objects.count() == 1
    assert StripeEvent.objects.count() == 2


@pytest.mark.django_db
def test_a_success_arriving_before_our_own_answer_settles_once(localstripe, order_waiting_for_3ds):
    # Out of order the other way: the webhook wins the race against the browser's return from
    # 3-D Secure. The browser's settle afterwards finds the order paid and does nothing.
    from billing.services.reconciliation import order_settle_payment_intent

    order = order_waiting_for_3ds
    intent = authenticated_and_browser_gone(localstripe, order)

    deliver(webhook_payload("evt_first", "payment_intent.succeeded", intent))
    browser = order_settle_payment_intent(
        payment_intent_id=order.stripe_payment_intent_id, actor_label="browser"
    )

    assert browser.paid
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PURCHASE).count() == 1


@pytest.mark.django_db
def test_a_late_failure_of_an_older_attempt_leaves_the_paid_order_alone(
    localstripe, contoso, offer, bob
):
    declined_card = card_save(localstripe, contoso, bob, CARD_CHARGES_DECLINED)
    order = order_open_purchase(
        organization=contoso, offer=offer, placed_by=bob, payment_method=declined_card
    )
    declined = order_charge(order=order, off_session=False, actor=bob)
    first_intent = stripe_payment_intent(localstripe, declined.order.stripe_payment_intent_id)
    order_change_card(order=order, payment_method=card_save(localstripe, contoso, bob, CARD_OK))
    assert order_charge(order=Order.objects.get(pk=order.pk), off_session=False, actor=bob).paid

    response = deliver(webhook_payload("evt_late", "payment_intent.payment_failed", first_intent))

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert "older attempt" in StripeEvent.objects.get(event_id="evt_late").result


@pytest.mark.django_db
def test_a_failure_event_fails_the_order_waiting_for_3ds(localstripe, order_waiting_for_3ds):
    order = order_waiting_for_3ds
    intent = stripe_payment_intent(localstripe, order.stripe_payment_intent_id)
    failed = payment_intent_authenticate(
        localstripe, client_secret=intent["client_secret"], success=False
    )

    response = deliver(webhook_payload("evt_3ds_failed", "payment_intent.payment_failed", failed))

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_when_stripe_is_unreachable_the_event_is_kept_for_stripes_retry(
    localstripe, order_waiting_for_3ds, monkeypatch
):
    order = order_waiting_for_3ds
    intent = authenticated_and_browser_gone(localstripe, order)
    payload = webhook_payload("evt_retry", "payment_intent.succeeded", intent)
    retrieve = stripe_gateway.payment_intent_retrieve

    def unreachable(payment_intent_id):
        raise stripe_gateway.StripeUnavailable("connection reset")

    monkeypatch.setattr(stripe_gateway, "payment_intent_retrieve", unreachable)
    first = deliver(payload)
    monkeypatch.setattr(stripe_gateway, "payment_intent_retrieve", retrieve)
    retried = deliver(payload)

    assert (first.status_code, retried.status_code) == (503, 200)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert StripeEvent.objects.get(event_id="evt_retry").processed_at is not None


@pytest.mark.django_db
def test_other_events_are_stored_and_ignored():
    payload = webhook_payload("evt_customer", "customer.created", {"id": "cus_123"})

    response = deliver(payload)

    assert response.status_code == 200
    assert StripeEvent.objects.get(event_id="evt_customer").result == "ignored"


@pytest.mark.django_db
def test_a_payment_intent_that_is_not_ours_is_ignored(localstripe):
    payload = webhook_payload("evt_foreign", "payment_intent.succeeded", {"id": "pi_foreign"})

    response = deliver(payload)

    assert response.status_code == 200
    assert StripeEvent.objects.get(event_id="evt_foreign").result == "ignored: no order"


def test_it_rejects_get(client):
    assert client.get(URL).status_code == 405


def test_localstripes_own_signed_delivery_confirms_the_order(
    localstripe, live_server, transactional_db, contoso, offer, bob, settings
):
    # End to end: localstripe signs and POSTs payment_intent.succeeded to the live server about
    # a second after the card holder completes 3-D Secure, as Stripe would.
    card = card_save(localstripe, contoso, bob, CARD_3DS)
    order = order_open_purchase(
        organization=contoso, offer=offer, placed_by=bob, payment_method=card
    )
    outcome = order_charge(order=order, off_session=False, actor=bob)
    localstripe.register_webhook(
        f"{live_server.url}{URL}",
        settings.STRIPE_WEBHOOK_SECRET,
        events=["payment_intent.succeeded"],
    )
    try:
        payment_intent_authenticate(localstripe, client_secret=outcome.client_secret)
        wait_until(
            lambda: StripeEvent.objects.filter(
                payload__data__object__id=outcome.order.stripe_payment_intent_id,
                processed_at__isnull=False,
            ).exists(),
            timeout=15,
            what="localstripe's webhook did not arrive",
        )
    finally:
        # The registration lives as long as localstripe (the session): stop the deliveries.
        localstripe.register_webhook(
            f"{live_server.url}{URL}", settings.STRIPE_WEBHOOK_SECRET, events=["none.none"]
        )

    ours = StripeEvent.objects.filter(
        payload__data__object__id=outcome.order.stripe_payment_intent_id
    )
    assert [event.type for event in ours] == ["payment_intent.succeeded"]
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert succeeded_charges(localstripe, contoso.stripe_customer_id) == [(47500, "usd")]
