"""Saving and removing cards (billing.services.payment_methods), against localstripe."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from billing import stripe_gateway
from billing.models import Order, OrderStatus, PaymentMethod
from billing.selectors.payment_methods import (
    payment_method_default,
    payment_method_rows,
    payment_methods_for_organization,
)
from billing.services.payment_methods import (
    card_setup_start,
    payment_method_make_default,
    payment_method_remove,
    payment_method_save,
    stripe_customer_ensure,
)
from membership.models import AuditEvent, Organization
from tests.billing.factories import make_subscription
from tests.billing.stripe_helpers import (
    CARD_3DS,
    CARD_CHARGES_DECLINED,
    CARD_DECLINED_ON_SAVE,
    CARD_OK,
    attached_cards,
    card_save,
    confirmed_setup_intent,
    setup_intent_confirm,
    stripe_payment_method,
)

pytestmark = pytest.mark.django_db


# The Stripe customer ---------------------------------------------------------------------------


def test_it_creates_the_stripe_customer_once(localstripe, contoso):
    before = len(localstripe.list_all("customers"))

    first = stripe_customer_ensure(organization=contoso)
    again = stripe_customer_ensure(organization=Organization.objects.get(pk=contoso.pk))

    assert first == again == Organization.objects.get(pk=contoso.pk).stripe_customer_id
    assert len(localstripe.list_all("customers")) == before + 1
    customer = localstripe.request("GET", f"/v1/customers/{first}")
    assert customer["name"] == "Contoso Ltd"
    assert customer["metadata"] == {"organization_id": str(contoso.pk)}


def test_two_requests_creating_the_customer_at_once_keep_one(localstripe, contoso, monkeypatch):
    # Both requests saw no customer. The second asks Stripe while the first is still waiting for
    # its answer; only the first conditional UPDATE may store an id, and both must return it.
    create = stripe_gateway.customer_create
    other_request = Organization.objects.get(pk=contoso.pk)
    results = []
    raced = []

    def racing_create(**kwargs):
        customer_id = create(**kwargs)
        if not raced:
            raced.append(True)
            results.append(stripe_customer_ensure(organization=other_request))
        return customer_id

    monkeypatch.setattr(stripe_gateway, "customer_create", racing_create)
    winner = stripe_customer_ensure(organization=contoso)

    assert results == [winner]
    assert Organization.objects.get(pk=contoso.pk).stripe_customer_id == winner


def test_card_setup_starts_a_setup_intent_for_the_organization(localstripe, contoso):
    setup_intent_id, client_secret = card_setup_start(organization=contoso)

    intent = localstripe.request("GET", f"/v1/setup_intents/{setup_intent_id}")
    assert intent["customer"] == contoso.stripe_customer_id
    assert intent["usage"] == "off_session"
    assert client_secret.startswith(f"{setup_intent_id}_secret_")


def test_card_setup_says_so_when_stripe_is_unreachable(contoso, monkeypatch):
    def unreachable(**kwargs):
        raise stripe_gateway.StripeUnavailable("connection refused")

    monkeypatch.setattr(stripe_gateway, "customer_create", unreachable)

    with pytest.raises(ValidationError, match="Card entry is not available right now"):
        card_setup_start(organization=contoso)


# Saving ----------------------------------------------------------------------------------------


def test_it_saves_the_confirmed_card_as_the_first_default(localstripe, contoso, bea):
    setup_intent_id = confirmed_setup_intent(localstripe, contoso, CARD_OK)

    card = payment_method_save(organization=contoso, setup_intent_id=setup_intent_id, actor=bea)

    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "4242", 12, 2034)
    assert card.is_default
    assert [pm["id"] for pm in attached_cards(localstripe, contoso.stripe_customer_id)] == [
        card.stripe_payment_method_id
    ]
    event = AuditEvent.objects.get(action=AuditEvent.Action.PAYMENT_METHOD_ADDED)
    assert (event.organization, event.actor, event.target) == (contoso, bea, "Visa •••• 4242")


def test_saving_the_same_setup_intent_twice_saves_one_card(localstripe, contoso, bea):
    setup_intent_id = confirmed_setup_intent(localstripe, contoso, CARD_OK)

    first = payment_method_save(organization=contoso, setup_intent_id=setup_intent_id, actor=bea)
    second = payment_method_save(organization=contoso, setup_intent_id=setup_intent_id, actor=bea)

    assert first == second
    assert PaymentMethod.objects.filter(organization=contoso).count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PAYMENT_METHOD_ADDED).count() == 1


def test_a_second_card_is_not_default_unless_asked(localstripe, contoso, bea):
    first = card_save(localstripe, contoso, bea)
    second = card_save(localstripe, contoso, bea, CARD_CHARGES_DECLINED)
    third = card_save(localstripe, contoso, bea, make_default=True)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_default, second.is_default, third.is_default) == (False, False, True)
    assert payment_method_default(organization=contoso) == third


def test_a_card_needing_3d_secure_is_saved_once_authenticated(localstripe, contoso, bea):
    card = card_save(localstripe, contoso, bea, CARD_3DS)

    assert card.last4 == "3155"
    assert stripe_payment_method(localstripe, card.stripe_payment_method_id)["customer"] == (
        contoso.stripe_customer_id
    )


def test_it_refuses_a_setup_intent_waiting_for_3d_secure(localstripe, contoso, bea):
    setup_intent_id, client_secret = card_setup_start(organization=contoso)
    setup_intent_confirm(
        localstripe, setup_intent_id=setup_intent_id, client_secret=client_secret, number=CARD_3DS
    )

    with pytest.raises(ValidationError, match="Your card was not confirmed"):
        payment_method_save(organization=contoso, setup_intent_id=setup_intent_id, actor=bea)

    assert not PaymentMethod.objects.exists()
    assert attached_cards(localstripe, contoso.stripe_customer_id) == []


def test_it_refuses_a_setup_intent_never_confirmed(localstripe, contoso, bea):
    setup_intent_id, _secret = card_setup_start(organization=contoso)

    with pytest.raises(ValidationError, match="Your card was not confirmed"):
        payment_method_save(organization=contoso, setup_intent_id=setup_intent_id, actor=bea)

    assert not PaymentMethod.objects.exists()


def test_a_card_declined_on_save_saves_nothing(localstripe, contoso, bea):
    setup_intent_id, client_secret = card_setup_start(organization=contoso)
    with pytest.raises(AssertionError, match="(?s)402.*Your card was declined"):
        setup_intent_confirm(
            localstripe,
            setup_intent_id=setup_intent_id,
            client_secret=client_secret,
            number=CARD_DECLINED_ON_SAVE,
        )

    with pytest.raises(ValidationError, match="Your card was not confirmed"):
        payment_method_save(organization=contoso, setup_intent_id=setup_intent_id, actor=bea)

    assert not PaymentMethod.objects.exists()
    assert attached_cards(localstripe, contoso.stripe_customer_id) == []


def test_it_refuses_another_organizations_setup_intent(localstripe, contoso, fabrikam, bea):
    stripe_customer_ensure(organization=contoso)
    theirs = confirmed_setup_intent(localstripe, fabrikam, CARD_OK)

    with pytest.raises(ValidationError, match="did not reach us"):
        payment_method_save(organization=contoso, setup_intent_id=theirs, actor=bea)

    assert not PaymentMethod.objects.exists()
    assert attached_cards(localstripe, contoso.stripe_customer_id) == []


def test_it_refuses_an_unknown_setup_intent(localstripe, contoso, bea):
    stripe_customer_ensure(organization=contoso)

    with pytest.raises(ValidationError, match="did not reach us"):
        payment_method_save(organization=contoso, setup_intent_id="seti_nope", actor=bea)


def test_it_refuses_a_setup_intent_before_the_organization_has_a_customer(contoso, bea):
    with pytest.raises(ValidationError, match="did not reach us"):
        payment_method_save(organization=contoso, setup_intent_id="seti_123", actor=bea)


# Default and removal ---------------------------------------------------------------------------


def test_make_default_moves_the_default(localstripe, contoso, bea):
    first = card_save(localstripe, contoso, bea)
    second = card_save(localstripe, contoso, bea)

    payment_method_make_default(payment_method=second, actor=bea)

    assert list(payment_methods_for_organization(organization=contoso)) == [second, first]
    assert PaymentMethod.objects.filter(organization=contoso, is_default=True).get() == second


def test_a_removed_card_cannot_become_default(localstripe, contoso, bea):
    first = card_save(localstripe, contoso, bea)
    second = card_save(localstripe, contoso, bea)
    payment_method_remove(payment_method=second, actor=bea)

    with pytest.raises(ValidationError, match="removed"):
        payment_method_make_default(payment_method=second, actor=bea)

    assert payment_method_default(organization=contoso) == first


def test_remove_detaches_the_card_and_keeps_the_row(localstripe, contoso, bea):
    card = card_save(localstripe, contoso, bea)

    payment_method_remove(payment_method=card, actor=bea)

    card.refresh_from_db()
    assert card.removed_at is not None and not card.is_default
    assert stripe_payment_method(localstripe, card.stripe_payment_method_id)["customer"] is None
    assert list(payment_methods_for_organization(organization=contoso)) == []
    event = AuditEvent.objects.get(action=AuditEvent.Action.PAYMENT_METHOD_REMOVED)
    assert (event.actor, event.target) == (bea, "Visa •••• 4242")


def test_removing_the_default_card_makes_the_newest_other_card_default(localstripe, contoso, bea):
    older = card_save(localstripe, contoso, bea)
    newer = card_save(localstripe, contoso, bea)
    default = card_save(localstripe, contoso, bea, make_default=True)

    payment_method_remove(payment_method=default, actor=bea)

    assert payment_method_default(organization=contoso) == newer
    assert list(payment_methods_for_organization(organization=contoso)) == [newer, older]


def test_a_card_paying_an_auto_renewal_cannot_be_removed(localstripe, contoso, offer, bea):
    card = card_save(localstripe, contoso, bea)
    make_subscription(contoso, offer, started_on=contoso.created_at.date(), payment_method=card)

    with pytest.raises(
        ValidationError, match="pays the automatic renewal of Microsoft Action Pack"
    ):
        payment_method_remove(payment_method=card, actor=bea)

    card.refresh_from_db()
    assert card.removed_at is None
    assert stripe_payment_method(localstripe, card.stripe_payment_method_id)["customer"] == (
        contoso.stripe_customer_id
    )
    assert [row.removable for row in payment_method_rows(organization=contoso)] == [False]


def test_a_card_of_a_subscription_with_auto_renew_off_can_be_removed(
    localstripe, contoso, offer, bea
):
    card = card_save(localstripe, contoso, bea)
    make_subscription(
        contoso, offer, started_on=contoso.created_at.date(), payment_method=card, auto_renew=False
    )

    payment_method_remove(payment_method=card, actor=bea)

    card.refresh_from_db()
    assert card.removed_at is not None


def test_a_card_being_charged_cannot_be_removed(localstripe, contoso, offer, bea):
    card = card_save(localstripe, contoso, bea)
    Order.objects.create(
        organization=contoso,
        offer=offer,
        kind="purchase",
        term_number=1,
        amount=47500,
        currency="USD",
        status=OrderStatus.PROCESSING,
        payment_method=card,
    )

    with pytest.raises(ValidationError, match="in progress"):
        payment_method_remove(payment_method=card, actor=bea)

    card.refresh_from_db()
    assert card.removed_at is None


def test_a_double_submitted_card_is_saved_once(localstripe, contoso, bea, monkeypatch):
    # Two requests with the same SetupIntent (a double click that got past the disabled button),
    # interleaved at the worst moment: the second saves the card while the first is between
    # "not saved yet" and its own insert. The first must then return the second's card.
    setup_intent_id = confirmed_setup_intent(localstripe, contoso, CARD_OK)
    retrieve = stripe_gateway.payment_method_retrieve
    second_request = []

    def retrieve_while_the_other_request_saves(payment_method_id):
        if not second_request:
            second_request.append(None)
            second_request[0] = payment_method_save(
                organization=Organization.objects.get(pk=contoso.pk),
                setup_intent_id=setup_intent_id,
                actor=bea,
            )
        return retrieve(payment_method_id)

    monkeypatch.setattr(
        stripe_gateway, "payment_method_retrieve", retrieve_while_the_other_request_saves
    )
    first = payment_method_save(organization=contoso, setup_intent_id=setup_intent_id, actor=bea)

    assert first == second_request[0]
    assert PaymentMethod.objects.filter(organization=contoso).count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PAYMENT_METHOD_ADDED).count() == 1
