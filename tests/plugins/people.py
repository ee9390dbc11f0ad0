"""Named people and organizations, the same in every test (STYLE.md §11).

Contoso (USD, US) is the organization under test: alice is its Global admin, bob its MPN partner
admin (the buyer), bea its Billing admin, axel its Account admin, victor has no role. Fabrikam
(EUR, ES) is the outsider: charlie is its Global admin. Staff: agent, billing specialist, root.
"""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.test import Client

from membership.models import Membership, Organization, Role, User
from membership.services import membership_add
from offers.models import Offer
from partnerportal.demo import action_pack_offer

PASSWORD = "correct-horse-battery"


def _person(email: str, name: str, **extra) -> User:
    return User.objects.create_user(email=email, password=PASSWORD, full_name=name, **extra)


# The EU standard VAT rates billing's data migration seeds (a transactional test's flush
# empties the table; every test that prices an order has an offer).
EU_STANDARD_RATES = importlib.import_module(
    "billing.migrations.0006_invoices_data"
).EU_STANDARD_RATES


def tax_rates_ensure() -> None:
    from billing.models import TaxRate

    TaxRate.objects.bulk_create(
        [
            TaxRate(country=country, rate=Decimal(rate), valid_from=valid_from)
            for country, rate, valid_from in EU_STANDARD_RATES
        ],
        ignore_conflicts=True,
    )


@pytest.fixture
def offer(db) -> Offer:
    """The Microsoft Action Pack offer with prices (US$475 / EUR 440), benefits and terms, and
    the VAT rates its sales are taxed at."""
    tax_rates_ensure()
    return action_pack_offer()


@pytest.fixture
def contoso(db) -> Organization:
    return Organization.objects.create(
        name="Contoso Ltd",
        partner_id="1000001",
        country="US",
        currency="USD",
        address_line1="1 Microsoft Way",
        city="Redmond",
        region="WA",
        postal_code="98052",
        network_member_since=dt.date(2024, 3, 1),
    )


@pytest.fixture
def fabrikam(db) -> Organization:
    return Organization.objects.create(
        name="Fabrikam SA",
        partner_id="1000002",
        country="ES",
        currency="EUR",
        city="Madrid",
        network_member_since=dt.date(2024, 3, 1),
    )


@pytest.fixture
def alice(contoso) -> User:
    """Contoso's Global admin."""
    user = _person("alice@contoso.example", "Alice Admin")
    membership_add(organization=contoso, user=user, roles={Role.GLOBAL_ADMIN})
    return user


@pytest.fixture
def bob(contoso) -> User:
    """Contoso's MPN partner admin: buys, renews, manages benefits."""
    user = _person("bob@contoso.example", "Bob Buyer")
    membership_add(organization=contoso, user=user, roles={Role.MPN_PARTNER_ADMIN})
    return user


@pytest.fixture
def bea(contoso) -> User:
    """Contoso's Billing admin: payment methods, orders and invoices."""
    user = _person("bea@contoso.example", "Bea Billing")
    membership_add(organization=contoso, user=user, roles={Role.BILLING_ADMIN})
    return user


@pytest.fixture
def axel(contoso) -> User:
    """Contoso's Account admin: the organization profile."""
    user = _person("axel@contoso.example", "Axel Account")
    membership_add(organization=contoso, user=user, roles={Role.ACCOUNT_ADMIN})
    return user


@pytest.fixture
def victor(contoso) -> User:
    """A Contoso member with no role: can only look."""
    user = _person("victor@contoso.example", "Victor Viewer")
    membership_add(organization=contoso, user=user, roles=set())
    return user


@pytest.fixture
def charlie(fabrikam) -> User:
    """The outsider: Fabrikam's Global admin."""
    user = _person("charlie@fabrikam.example", "Charlie Outsider")
    membership_add(organization=fabrikam, user=user, roles={Role.GLOBAL_ADMIN})
    return user


@pytest.fixture
def agent(db) -> User:
    """A support agent (staff)."""
    return _person("agent@partnerportal.example", "Sam Agent", is_staff=True)


@pytest.fixture
def root(db) -> User:
    return User.objects.create_superuser(email="root@partnerportal.example", password=PASSWORD)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def login():
    """``login(user)`` gives a test client signed in as ``user``."""
    return client_for


def membership_of(user: User, organization: Organization) -> Membership:
    return Membership.objects.prefetch_related("role_grants").get(
        user=user, organization=organization
    )
