"""The automatic renewal (billing.services.renewals), one subscription at a time, on localstripe.

What counts is what a partner would notice: the money localstripe says was taken, the
subscription's status and dates, and the emails.
"""

from __future__ import annotations

import datetime as dt

import pytest

from billing import stripe_gateway
from billing.models import (
    BenefitGrant,
    Order,
    OrderStatus,
    PaymentAttempt,
    ReminderKind,
    ReminderSent,
    SubscriptionEvent,
)
from billing.selectors.renewals import renewals_due
from billing.selectors.subscriptions import Tier, organization_tier
from billing.services.expiry import subscriptions_expire
from billing.services.orders import renewal_order_for_next_term
from billing.services.payments import order_charge
from billing.services.renewals import (
    RenewalOutcome,
    billing_cycle_run_now,
    subscription_renew_automatically,
)
from core import clock
from membership.models import Organization
from offers.models import OfferPrice
from tests.billing.renewal_helpers import (
    CARD_3DS,
    CARD_CHARGES_DECLINED,
    CARD_OK,
    card_on_file,
    moment,
    subscription_due_on,
    succeeded_payments,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

ANNIVERSARY = dt.date(2025, 3, 10)


@pytest.fixture
def buyers(alice, bob, bea, victor):
    """Contoso's people: alice and bob may purchase, bea and victor may not."""
    return [alice, bob]


def renew(subscription):
    return subscription_renew_automatically(subscription_id=subscription.pk)


def test_it_charges_the_renewal_on_the_anniversary(localstripe, contoso, offer, buyers, mailoutbox):
    card = card_on_file(contoso, CARD_OK)
    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=card)
    clock.set_now(moment(ANNIVERSARY))

    result = renew(subscription)

    assert result.outcome == RenewalOutcome.RENEWED
    payments = succeeded_payments(localstripe, contoso.stripe_customer_id)
    assert [(p["amount"], p["currency"], p["payment_method"]) for p in payments] == [
        (47500, "usd", card.stripe_payment_method_id)
    ]
    subscription.refresh_from_db()
    assert (subscription.status, subscription.term_number) == ("active", 2)
    assert (subscription.current_term_start, subscription.current_term_end) == (
        ANNIVERSARY,
        dt.date(2026, 3, 10),
    )
    order = Order.objects.get(subscription=subscription, kind="renewal")
    assert (order.status, order.amount, order.currency) == ("paid", 47500, "USD")
    assert order.invoice_number.startswith("INV-2025-")
    assert sorted(message.to[0] for message in mailoutbox) == [
        "alice@contoso.example",
        "bob@contoso.example",
    ]
    receipt = mailoutbox[0]
    assert receipt.subject == "Your Microsoft Action Pack subscription has been renewed"
    assert "$475.00" in receipt.body
    assert order.invoice_number in receipt.body
    assert "March 10, 2025 to March 10, 2026" in receipt.body
    html = receipt.alternatives[0][0]
    assert "http://127.0.0.1:8000/" in html


def test_it_grants_the_new_terms_benefits(localstripe, contoso, offer, buyers):
    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=card_on_file(contoso))
    clock.set_now(moment(ANNIVERSARY))

    renew(subscription)

    assert BenefitGrant.objects.filter(subscription=subscription, term_number=2).count() == (
        offer.benefits.count()
    )


def test_it_charges_the_offers_current_price_in_the_organizations_currency(
    localstripe, fabrikam, charlie, offer
):
    OfferPrice.objects.filter(offer=offer, currency="EUR").update(amount=45900)
    subscription = subscription_due_on(fabrikam, offer, ANNIVERSARY, card=card_on_file(fabrikam))
    clock.set_now(moment(ANNIVERSARY))

    renew(subscription)

    # The price plus Spain's 21 % VAT: the fixture's Fabrikam has no VAT id (no reverse charge).
    payments = succeeded_payments(localstripe, fabrikam.stripe_customer_id)
    assert [(p["amount"], p["currency"]) for p in payments] == [(55539, "eur")]


def test_it_charges_the_price_plus_the_tax_of_the_billing_profile_at_renewal(
    localstripe, fabrikam, charlie, offer
):
    subscription = subscription_due_on(fabrikam, offer, ANNIVERSARY, card=card_on_file(fabrikam))
    # A valid Spanish VAT id since the subscription was bought: reverse charge, no VAT.
    Organization.objects.filter(pk=fabrikam.pk).update(vat_id="ESA12345674")
    clock.set_now(moment(ANNIVERSARY))

    renew(subscription)

    payments = succeeded_payments(localstripe, fabrikam.stripe_customer_id)
    assert [(p["amount"], p["currency"]) for p in payments] == [(44000, "eur")]
    invoice = Order.objects.get(subscription=subscription, kind="renewal").invoices.get()
    assert (invoice.net_amount, invoice.tax_amount, invoice.tax_treatment) == (
        44000,
        0,
        "reverse_charge",
    )


def test_it_charges_nothing_before_the_anniversary(localstripe, contoso, offer, buyers, mailoutbox):
    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=card_on_file(contoso))
    clock.set_now(moment(ANNIVERSARY - dt.timedelta(days=1), dt.time(23, 59)))

    result = renew(subscription)

    assert (result.outcome, result.reason) == (RenewalOutcome.SKIPPED, "anniversary not reached")
    assert localstripe.payment_intents(customer=contoso.stripe_customer_id) == []
    assert not Order.objects.filter(kind="renewal").exists()
    assert mailoutbox == []


def test_it_charges_nothing_when_auto_renew_is_off(localstripe, contoso, offer, buyers):
    subscription = subscription_due_on(
        contoso, offer, ANNIVERSARY, card=card_on_file(contoso), auto_renew=False
    )
    clock.set_now(moment(ANNIVERSARY))

    assert renew(subscription).outcome == RenewalOutcome.SKIPPED
    assert localstripe.payment_intents(customer=contoso.stripe_customer_id) == []


def test_it_charges_nothing_for_a_subscription_set_to_cancel(localstripe, contoso, offer, buyers):
    subscription = subscription_due_on(
        contoso, offer, ANNIVERSARY, card=card_on_file(contoso), cancel_at_term_end=True
    )
    clock.set_now(moment(ANNIVERSARY))

    assert renew(subscription).outcome == RenewalOutcome.SKIPPED
    assert localstripe.payment_intents(customer=contoso.stripe_customer_id) == []


def test_a_term_renewed_by_hand_early_is_not_charged_again(localstripe, contoso, offer, bob):
    card = card_on_file(contoso)
    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=card)
    clock.set_now(moment(ANNIVERSARY - dt.timedelta(days=20), dt.time(15)))
    manual = renewal_order_for_next_term(subscription=subscription, placed_by=bob)
    assert order_charge(order=manual, off_session=False, actor=bob).paid
    clock.set_now(moment(ANNIVERSARY))

    result = renew(subscription)

    assert result.outcome == RenewalOutcome.SKIPPED
    assert len(succeeded_payments(localstripe, contoso.stripe_customer_id)) == 1
    subscription.refresh_from_db()
    assert (subscription.term_number, subscription.current_term_end) == (2, dt.date(2026, 3, 10))


def test_a_declined_card_makes_it_past_due_and_schedules_the_first_retry(
    localstripe, contoso, offer, buyers, mailoutbox
):
    subscription = subscription_due_on(
        contoso, offer, ANNIVERSARY, card=card_on_file(contoso, CARD_CHARGES_DECLINED)
    )
    clock.set_now(moment(ANNIVERSARY))

    result = renew(subscription)

    assert result.outcome == RenewalOutcome.FAILED
    subscription.refresh_from_db()
    assert (subscription.status, subscription.term_number) == ("past_due", 1)
    assert organization_tier(organization=contoso) == Tier.ACTION_PACK  # benefits keep working
    order = Order.objects.get(subscription=subscription, kind="renewal")
    assert (order.status, order.failure_code, order.next_retry_on, order.retries_stopped) == (
        "failed",
        "card_declined",
        ANNIVERSARY + dt.timedelta(days=1),
        False,
    )
    event = SubscriptionEvent.objects.get(subscription=subscription, kind="renewal_failed")
    assert (event.from_status, event.to_status) == ("active", "past_due")
    assert "card_declined" in event.note
    assert succeeded_payments(localstripe, contoso.stripe_customer_id) == []
    assert len(mailoutbox) == 2
    notice = mailoutbox[0]
    assert notice.subject == "We could not renew your Microsoft Action Pack subscription"
    assert "Reason: Your card was declined." in notice.body
    assert "We will try again on March 11, 2025." in notice.body
    assert "http://127.0.0.1:8000/" in notice.body


def test_a_second_run_the_same_day_charges_nothing_more(
    localstripe, contoso, offer, buyers, mailoutbox
):
    subscription = subscription_due_on(
        contoso, offer, ANNIVERSARY, card=card_on_file(contoso, CARD_CHARGES_DECLINED)
    )
    clock.set_now(moment(ANNIVERSARY))
    renew(subscription)
    clock.set_now(moment(ANNIVERSARY, dt.time(23, 5)))

    result = renew(subscription)

    assert result.outcome == RenewalOutcome.SKIPPED
    assert len(localstripe.payment_intents(customer=contoso.stripe_customer_id)) == 1
    assert PaymentAttempt.objects.count() == 1
    assert len(mailoutbox) == 2  # the first failure's notice, to alice and bob


def test_a_card_that_needs_authentication_stops_automatic_retries(
    localstripe, contoso, offer, buyers, mailoutbox
):
    subscription = subscription_due_on(
        contoso, offer, ANNIVERSARY, card=card_on_file(contoso, CARD_3DS)
    )
    clock.set_now(moment(ANNIVERSARY))

    result = renew(subscription)

    assert result.outcome == RenewalOutcome.FAILED
    order = Order.objects.get(subscription=subscription, kind="renewal")
    assert (order.failure_code, order.retries_stopped, order.next_retry_on) == (
        "authentication_required",
        True,
        None,
    )
    assert "Renew your subscription by hand and confirm the payment" in mailoutbox[0].body
    clock.set_now(moment(ANNIVERSARY + dt.timedelta(days=1)))
    assert not renewals_due(today=clock.today()).exists()


def test_a_subscription_without_a_card_fails_without_calling_stripe(
    localstripe, contoso, offer, buyers, mailoutbox
):
    intents_before = len(localstripe.payment_intents())
    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=None)
    clock.set_now(moment(ANNIVERSARY))

    result = renew(subscription)

    assert result.outcome == RenewalOutcome.FAILED
    order = Order.objects.get(subscription=subscription, kind="renewal")
    assert (order.failure_code, order.retries_stopped) == ("payment_method_missing", True)
    subscription.refresh_from_db()
    assert subscription.status == "past_due"
    assert len(localstripe.payment_intents()) == intents_before
    assert "We will not try again automatically" in mailoutbox[0].body


def test_a_retry_charges_the_card_the_partner_chose_since(localstripe, contoso, offer, buyers):
    declined = card_on_file(contoso, CARD_CHARGES_DECLINED)
    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=declined)
    clock.set_now(moment(ANNIVERSARY))
    renew(subscription)
    new_card = card_on_file(contoso, CARD_OK)
    subscription.payment_method = new_card
    subscription.save()
    clock.set_now(moment(ANNIVERSARY + dt.timedelta(days=1)))

    result = renew(subscription)

    assert (result.outcome, result.retry) == (RenewalOutcome.RENEWED, True)
    payments = succeeded_payments(localstripe, contoso.stripe_customer_id)
    assert [p["payment_method"] for p in payments] == [new_card.stripe_payment_method_id]
    subscription.refresh_from_db()
    assert (subscription.status, subscription.term_number) == ("active", 2)


def test_a_timeout_on_confirm_is_settled_by_looking_the_payment_up(
    localstripe, contoso, offer, buyers, monkeypatch
):
    """The confirm reached Stripe but its answer was lost: we ask Stripe, we do not charge again."""
    confirm = stripe_gateway.payment_intent_confirm

    def confirm_then_time_out(*args, **kwargs):
        confirm(*args, **kwargs)
        raise stripe_gateway.StripeUnavailable("Read timed out")

    monkeypatch.setattr(stripe_gateway, "payment_intent_confirm", confirm_then_time_out)
    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=card_on_file(contoso))
    clock.set_now(moment(ANNIVERSARY))

    result = renew(subscription)

    assert result.outcome == RenewalOutcome.RENEWED
    assert len(succeeded_payments(localstripe, contoso.stripe_customer_id)) == 1
    assert len(localstripe.payment_intents(customer=contoso.stripe_customer_id)) == 1


def test_a_crash_after_stripe_charged_is_settled_by_the_next_cycle(
    localstripe, contoso, offer, buyers, mailoutbox, monkeypatch
):
    """The worker died between Stripe's answer and our commit: the next cycle reconciles."""
    confirm = stripe_gateway.payment_intent_confirm

    def confirm_then_crash(*args, **kwargs):
        confirm(*args, **kwargs)
        raise RuntimeError("worker lost after Stripe answered")

    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=card_on_file(contoso))
    clock.set_now(moment(ANNIVERSARY))
    with monkeypatch.context() as patch:
        patch.setattr(stripe_gateway, "payment_intent_confirm", confirm_then_crash)
        with pytest.raises(RuntimeError):
            renew(subscription)
    assert Order.objects.get(kind="renewal").status == OrderStatus.PROCESSING
    assert mailoutbox == []

    clock.set_now(moment(ANNIVERSARY, dt.time(1, 5)))
    report = billing_cycle_run_now()

    # The reconciliation settles the order and sends the receipt itself: nothing is left untold.
    assert (report.reconciled, report.followed_up, report.renewed) == (1, 0, [])
    assert len(succeeded_payments(localstripe, contoso.stripe_customer_id)) == 1
    subscription.refresh_from_db()
    assert (subscription.status, subscription.term_number) == ("active", 2)
    assert {message.subject for message in mailoutbox} == {
        "Your Microsoft Action Pack subscription has been renewed"
    }
    assert len(mailoutbox) == 2


def test_a_timeout_before_confirm_is_retried_at_the_next_run_without_an_email(
    localstripe, contoso, offer, buyers, mailoutbox, monkeypatch
):
    """Creating the PaymentIntent timed out: nothing was confirmed, so nothing was charged."""
    create = stripe_gateway.payment_intent_create

    def create_then_time_out(*args, **kwargs):
        create(*args, **kwargs)
        raise stripe_gateway.StripeUnavailable("Read timed out")

    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=card_on_file(contoso))
    clock.set_now(moment(ANNIVERSARY))
    with monkeypatch.context() as patch:
        patch.setattr(stripe_gateway, "payment_intent_create", create_then_time_out)
        assert renew(subscription).outcome == RenewalOutcome.PENDING
    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert mailoutbox == []

    clock.set_now(moment(ANNIVERSARY, dt.time(1, 5)))
    result = renew(subscription)

    assert result.outcome == RenewalOutcome.RENEWED
    assert len(succeeded_payments(localstripe, contoso.stripe_customer_id)) == 1
    assert [m.subject for m in mailoutbox] == [
        "Your Microsoft Action Pack subscription has been renewed"
    ] * 2


def test_renewals_due_lists_what_the_cycle_charges(localstripe, contoso, fabrikam, offer, buyers):
    today = ANNIVERSARY
    due_today = subscription_due_on(contoso, offer, today, card=None)
    due_tomorrow = subscription_due_on(fabrikam, offer, today + dt.timedelta(days=1), card=None)

    assert list(renewals_due(today=today - dt.timedelta(days=1))) == []
    assert list(renewals_due(today=today)) == [due_today]
    assert list(renewals_due(today=today + dt.timedelta(days=30))) == [due_today, due_tomorrow]
    assert list(renewals_due(today=today + dt.timedelta(days=31))) == [due_tomorrow]


def test_expiry_ends_the_subscription_and_its_benefits(
    localstripe, contoso, offer, buyers, mailoutbox
):
    subscription = subscription_due_on(
        contoso, offer, ANNIVERSARY, card=card_on_file(contoso), auto_renew=False
    )
    BenefitGrant.objects.create(
        subscription=subscription, benefit=offer.benefits.first(), term_number=1, quantity=1
    )
    last_day_of_grace = ANNIVERSARY + dt.timedelta(days=30)

    assert subscriptions_expire(today=last_day_of_grace) == []
    expired = subscriptions_expire(today=last_day_of_grace + dt.timedelta(days=1))

    assert expired == [subscription.pk]
    subscription.refresh_from_db()
    assert (subscription.status, subscription.ended_on) == ("expired", last_day_of_grace)
    assert organization_tier(organization=contoso) == Tier.NETWORK
    assert not BenefitGrant.objects.filter(subscription=subscription, revoked_at__isnull=True)
    assert SubscriptionEvent.objects.filter(subscription=subscription, kind="expired").exists()
    assert [m.subject for m in mailoutbox] == [
        "Your Microsoft Action Pack subscription has expired"
    ] * 2
    assert ReminderSent.objects.filter(kind=ReminderKind.EXPIRED).count() == 1
    assert subscriptions_expire(today=last_day_of_grace + dt.timedelta(days=2)) == []
    assert len(mailoutbox) == 2


def test_a_mail_server_failure_does_not_undo_the_renewal(
    localstripe, contoso, offer, buyers, mailoutbox, monkeypatch, caplog
):
    def mail_server_down(**kwargs):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("billing.emails.email_renewal_receipt", mail_server_down)
    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=card_on_file(contoso))
    clock.set_now(moment(ANNIVERSARY))

    result = renew(subscription)

    assert result.outcome == RenewalOutcome.RENEWED
    subscription.refresh_from_db()
    assert subscription.term_number == 2
    assert ReminderSent.objects.filter(kind=ReminderKind.RENEWAL_RECEIPT).count() == 1
    assert "renewal_receipt for subscription" in caplog.text
    assert mailoutbox == []


def test_a_request_stripe_keeps_refusing_becomes_a_failure_after_three_tries(
    localstripe, contoso, offer, buyers, mailoutbox, monkeypatch
):
    """Not a hiccup (the card was deleted in Stripe): tried again a few times, then told."""

    def refused(**kwargs):
        raise stripe_gateway.StripeRequestError("No such PaymentMethod: 'pm_gone'")

    monkeypatch.setattr(stripe_gateway, "payment_intent_create", refused)
    subscription = subscription_due_on(contoso, offer, ANNIVERSARY, card=card_on_file(contoso))

    outcomes = []
    for hour in range(5):
        clock.set_now(moment(ANNIVERSARY, dt.time(hour, 5)))
        outcomes.append(renew(subscription).outcome)

    assert outcomes == [
        RenewalOutcome.PENDING,
        RenewalOutcome.PENDING,
        RenewalOutcome.FAILED,
        RenewalOutcome.SKIPPED,
        RenewalOutcome.SKIPPED,
    ]
    subscription.refresh_from_db()
    assert subscription.status == "past_due"
    order = Order.objects.get(subscription=subscription, kind="renewal")
    assert (order.attempt_count, order.next_retry_on) == (3, ANNIVERSARY + dt.timedelta(days=1))
    assert [m.subject for m in mailoutbox] == [
        "We could not renew your Microsoft Action Pack subscription"
    ] * 2
