"""``seed_demo`` creates exactly the demo data of docs/product.md, twice without duplicates, never in production."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from django.core.management import CommandError, call_command
from django.test import Client

from billing.models import (
    Order,
    OrderStatus,
    PaymentMethod,
    ProductKey,
    Subscription,
    SubscriptionStatus,
)
from billing.selectors.renewals import renewals_due
from billing.selectors.subscriptions import organization_tier
from billing.terms import grace_end, renewal_window
from core import clock
from membership.models import Competency, Membership, Organization, Role, User
from offers.models import Offer, TermsVersion
from partnerportal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from support.models import RequestStatus, ServiceRequest
from tests.plugins.people import totp_secret


@pytest.fixture
def seeded(db, settings, localstripe):
    settings.DEBUG = True
    # Noon of today: the seed and the test agree on "today" even when run at midnight.
    noon = dt.datetime.combine(clock.today(), dt.time(12), tzinfo=dt.UTC)
    with clock.frozen_at(noon):
        call_command("seed_demo", verbosity=0)
        yield


def _roles(email: str) -> set[str]:
    membership = Membership.objects.get(user__email=email)
    return set(membership.role_grants.values_list("role", flat=True))


def test_it_creates_the_demo_organizations(seeded):
    contoso = Organization.objects.get(partner_id="1000001")
    fabrikam = Organization.objects.get(partner_id="1000002")
    assert (contoso.name, contoso.country, contoso.currency) == ("Contoso Ltd", "US", "USD")
    assert (fabrikam.name, fabrikam.country, fabrikam.currency) == ("Fabrikam SA", "ES", "EUR")
    assert contoso.is_network_member and fabrikam.is_network_member


def test_it_gives_each_demo_person_their_role(seeded):
    assert _roles("admin@contoso.example") == {Role.GLOBAL_ADMIN}
    assert _roles("buyer@contoso.example") == {Role.MPN_PARTNER_ADMIN}
    assert _roles("billing@contoso.example") == {Role.BILLING_ADMIN}
    assert _roles("viewer@contoso.example") == set()
    assert _roles("admin@fabrikam.example") == {Role.GLOBAL_ADMIN}
    assert _roles("buyer@fabrikam.example") == {Role.MPN_PARTNER_ADMIN}


def test_every_demo_account_signs_in_with_the_demo_password(seeded):
    for user in User.objects.all():
        assert user.check_password(DEMO_PASSWORD), user.email


def test_staff_accounts_are_staff(seeded):
    assert User.objects.get(email="agent@partnerportal.example").is_staff
    assert User.objects.get(email="billing@partnerportal.example").is_staff
    assert User.objects.get(email="root@partnerportal.example").is_superuser


def test_contoso_has_no_action_pack(seeded):
    assert not Subscription.objects.filter(organization__partner_id="1000001").exists()


def test_fabrikam_has_an_active_action_pack_with_auto_renewal_and_a_saved_card(seeded, localstripe):
    subscription = Subscription.objects.get(organization__partner_id="1000002")
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.auto_renew
    assert subscription.payment_method.last4 == "4242"
    order = Order.objects.get(subscription=subscription)
    assert (order.status, order.amount, order.currency) == (OrderStatus.PAID, 44000, "EUR")
    charged = [
        pi for pi in localstripe.payment_intents() if pi["id"] == order.stripe_payment_intent_id
    ]
    assert [(pi["status"], pi["amount"], pi["currency"]) for pi in charged] == [
        ("succeeded", 44000, "eur")
    ]


def test_it_creates_the_offer_with_prices_terms_and_competency(seeded):
    offer = Offer.objects.get(code="action-pack")
    assert {(p.currency, p.amount) for p in offer.prices.all()} == {("USD", 47500), ("EUR", 44000)}
    assert offer.benefits.count() == 8
    assert TermsVersion.objects.filter(offer=offer).count() == 1
    competency = Competency.objects.get(organization__partner_id="1000002")
    assert (competency.area, competency.level) == ("cloud_platform", "silver")


def test_running_it_twice_duplicates_nothing(seeded, localstripe):
    counts = [
        m.objects.count()
        for m in (User, Organization, Membership, Subscription, Order, PaymentMethod)
    ]
    charges = len(localstripe.payment_intents())

    call_command("seed_demo", verbosity=0)

    assert [
        m.objects.count()
        for m in (User, Organization, Membership, Subscription, Order, PaymentMethod)
    ] == counts
    assert len(localstripe.payment_intents()) == charges


def test_it_refuses_to_run_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", verbosity=0)
    assert not User.objects.exists()


def test_every_demo_account_has_the_published_authenticator_key(seeded):
    for user in User.objects.all():
        assert totp_secret(user) == DEMO_TOTP_SECRET, user.email


def test_a_demo_account_signs_in_with_the_published_key(seeded):
    client = Client()
    client.post("/accounts/login/", {"login": "buyer@contoso.example", "password": DEMO_PASSWORD})

    client.post("/account/security/authenticate/", {"code": pyotp.TOTP(DEMO_TOTP_SECRET).now()})

    assert client.get("/").status_code == 200


def test_running_it_again_keeps_the_same_second_factors(seeded):
    before = sorted(Authenticator.objects.values_list("pk", flat=True))

    call_command("seed_demo", verbosity=0)

    assert sorted(Authenticator.objects.values_list("pk", flat=True)) == before


def test_it_brings_each_demo_organization_to_its_state(seeded):
    today = clock.today()
    by_partner = {
        subscription.organization.partner_id: subscription
        for subscription in Subscription.objects.select_related("organization", "payment_method")
    }
    northwind, tailspin, wide_world, litware = (
        by_partner[partner_id] for partner_id in ("1000003", "1000004", "1000005", "1000006")
    )
    assert northwind.status == SubscriptionStatus.ACTIVE and not northwind.auto_renew
    assert renewal_window(subscription=northwind).contains(today)
    assert northwind.current_term_end > today  # not due: renewed by hand only
    assert tailspin.status == SubscriptionStatus.PAST_DUE
    assert tailspin.payment_method.last4 == "0341"
    assert tailspin.current_term_end < today <= grace_end(tailspin.current_term_end)
    declined = Order.objects.get(subscription=tailspin, kind="renewal")
    assert (declined.status, declined.failure_code) == (OrderStatus.FAILED, "card_declined")
    assert declined.attempts.count() == 3  # the anniversary, then retry days 1 and 3
    assert wide_world.status == SubscriptionStatus.EXPIRED
    assert organization_tier(organization=wide_world.organization) == "network"
    # Litware's anniversary is today: under `make run` the first billing cycle renews it.
    assert litware.current_term_end == today and litware.auto_renew
    assert litware.pk in set(renewals_due(today=today).values_list("pk", flat=True))
    gold = Organization.objects.get(partner_id="1000007")
    assert organization_tier(organization=gold) == "gold"


def test_its_orders_are_paid_with_invoices_and_three_product_keys_are_given_out(seeded):
    paid = Order.objects.filter(status=OrderStatus.PAID)
    assert paid.count() == 5  # Fabrikam, Northwind, Tailspin, Wide World, Litware
    assert all(order.invoices.exists() for order in paid)
    assert ProductKey.objects.filter(grant__isnull=False).count() == 3


def test_contoso_has_a_support_request_in_every_status_with_staff_replies(seeded):
    requests = ServiceRequest.objects.filter(organization__partner_id="1000001")
    assert set(requests.values_list("status", flat=True)) == set(RequestStatus.values)
    for service_request in requests.exclude(status=RequestStatus.NEW):
        assert service_request.messages.filter(is_from_staff=True, is_internal=False).exists()
