"""Named people and organizations, the same in every test (STYLE.md §11).

Contoso (USD, US) is the organization under test: alice is its Global admin, bob its MPN partner
admin (the buyer), bea its Billing admin, axel its Account admin, victor has no role. Fabrikam
(EUR, ES) is the outsider: charlie is its Global admin. Staff: agent, billing specialist, root.

Everyone has an authenticator app (a random key each, so codes never collide between tests or
runs sharing one Redis): ``totp_code(user)`` gives a code, ``browser_sign_in`` signs in through
the real password and code pages. ``login(user)`` gives a test client signed in *and* past the
second factor — the session mark the code step leaves (``membership.second_factor``), so that the
middleware and the step-up behave as after a real sign-in; ``second_factor_checked(client, user,
minutes_ago=…)`` moves that mark back in time for step-up tests. docs/sign-in.md says why.
"""

from __future__ import annotations

import datetime as dt
import importlib
import time
from decimal import Decimal
from urllib.parse import urlencode

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import decrypt
from django.core.cache import cache
from django.test import Client

from membership.models import Membership, Organization, Role, User
from membership.second_factor import SESSION_KEY
from membership.services import membership_add, second_factor_enroll_totp
from offers.models import Offer
from partnerportal.demo import action_pack_offer

PASSWORD = "correct-horse-battery"
# The label of the code field on the second-factor pages (sign-in and the check again).
CODE_LABEL = "Code from your authenticator app, or a recovery code"


def _person(email: str, name: str, **extra) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD, full_name=name, **extra)
    second_factor_enroll_totp(user=user, secret=pyotp.random_base32())
    return user


def totp_secret(user: User | str) -> str:
    user_id = user.pk if isinstance(user, User) else User.objects.get(email=user).pk
    authenticator = Authenticator.objects.get(user_id=user_id, type=Authenticator.Type.TOTP)
    return decrypt(authenticator.data["secret"])


def totp_code(user: User | str) -> str:
    """A code the portal accepts now and has not seen yet (a used code is refused within its
    window, so a second sign-in in the same 30 s takes the neighbouring window's code)."""
    secret = totp_secret(user)
    user_id = user.pk if isinstance(user, User) else User.objects.get(email=user).pk
    totp = pyotp.TOTP(secret)
    now = time.time()
    for offset in (0, 30, -30):
        code = totp.at(now + offset)
        if cache.get(f"allauth.mfa.totp.used?user={user_id}&code={code}") is None:
            return code
    raise AssertionError("every code of the tolerance window was used already")


LOGIN_URL = "/accounts/login/"
SECOND_FACTOR_URL = "/account/security/authenticate/"


def client_sign_in(client: Client, user: User | str, password: str = PASSWORD, **extra):
    """Sign ``client`` in through the pages: email and password, then a code from the app.
    ``extra`` goes to both requests (``REMOTE_ADDR``…). Returns the code step's response."""
    email = user.email if isinstance(user, User) else user
    client.post(LOGIN_URL, {"login": email, "password": password}, **extra)
    return client.post(SECOND_FACTOR_URL, {"code": totp_code(email)}, **extra)


def browser_sign_in(page, base_url: str, email: str, password: str = PASSWORD, next_url: str = ""):
    """Sign in through the pages, as a person does: email and password, then the app's code."""
    from playwright.sync_api import expect

    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    page.goto(f"{base_url}/accounts/login/{query}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.get_by_label(CODE_LABEL).fill(totp_code(email))
    page.get_by_role("button", name="Sign in").click()


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
    user = User.objects.create_superuser(email="root@partnerportal.example", password=PASSWORD)
    second_factor_enroll_totp(user=user, secret=pyotp.random_base32())
    return user


def second_factor_checked(client: Client, user: User, *, minutes_ago: float = 0) -> None:
    """Mark the client's session as having passed ``user``'s second factor ``minutes_ago``."""
    session = client.session
    at = time.time() - minutes_ago * 60  # real time, as the step-up measures it
    session[SESSION_KEY] = {"user": str(user.pk), "at": at, "method": "totp"}
    session.save()


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    second_factor_checked(client, user)
    return client


@pytest.fixture
def login():
    """``login(user)`` gives a test client signed in as ``user``, past the second factor."""
    return client_for


def membership_of(user: User, organization: Organization) -> Membership:
    return Membership.objects.prefetch_related("role_grants").get(
        user=user, organization=organization
    )
