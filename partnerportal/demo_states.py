"""Demo organizations in every state of a subscription, for ``seed_demo`` (docs/product.md).

Each one is brought to its state the way a partner and the billing cycle would have got there:
the purchase, the turned-off auto-renewal, the declined renewal and its retries, the expiry are
the product's own services, run with the clock (``core.clock``) moved to the day each step
happened. So its orders, invoices, history, benefits and Stripe records agree with each other,
and the dates are relative to the day of the first seeding (delete ``var/db.sqlite3`` to start
again from today).

Idempotent: an organization that already has a subscription is left as it is (the billing
cycle may have moved it on since).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction

from billing import stripe_gateway
from billing.models import BenefitGrant, PaymentMethod, Subscription
from billing.services.benefits import product_key_issue
from billing.services.expiry import subscription_expire
from billing.services.orders import order_open_purchase
from billing.services.payment_methods import stripe_customer_ensure
from billing.services.payments import order_charge
from billing.services.renewals import subscriptions_renew_automatically
from billing.services.subscription_changes import subscription_change_payment_method
from billing.services.subscriptions import subscription_turn_off_auto_renew
from billing.terms import anniversary_date, grace_end
from core import clock
from membership.models import Competency, CompetencyArea, CompetencyLevel, Organization, Role, User
from offers.models import Offer, TermsAcceptance
from offers.selectors import terms_current
from partnerportal.demo import organization_ensure

CARD_OK = "4242424242424242"
# Saved without trouble; every charge to it is declined (localstripe, README "Test cards").
CARD_CHARGES_DECLINED = "4000000000000341"
# Days from today (the day of the first seeding) that each state is built around.
NORTHWIND_ANNIVERSARY_IN_DAYS = 45  # inside the 90-day renewal window
TAILSPIN_ANNIVERSARY_DAYS_AGO = 4  # past due, retried on days 1 and 3, next try on day 7
WIDE_WORLD_ANNIVERSARY_DAYS_AGO = 60  # its grace window ended 30 days ago


class DemoStateError(Exception):
    """A demo state could not be reached (localstripe refused a step)."""


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _organization(
    *, name: str, partner_id: str, domain: str, city: str, people: list[tuple[str, str, set[str]]]
) -> Organization:
    return organization_ensure(
        name=name,
        partner_id=partner_id,
        country="US",
        currency="USD",
        address_line1="1 Demo Street",
        city=city,
        region="WA",
        postal_code="98052",
        contact_email=f"admin@{domain}",
        people=[(f"{local}@{domain}", full_name, roles) for local, full_name, roles in people],
    )


def card_save(*, organization: Organization, number: str) -> PaymentMethod:
    """A card saved in localstripe for ``organization``, as if a partner had entered it."""
    customer_id = stripe_customer_ensure(organization=organization)
    payment_method_id = stripe_gateway.demo_card_create(number=number)
    stripe_gateway.payment_method_attach(
        payment_method_id=payment_method_id, customer_id=customer_id
    )
    details = stripe_gateway.payment_method_retrieve(payment_method_id)
    has_default = PaymentMethod.objects.filter(
        organization=organization, removed_at__isnull=True, is_default=True
    ).exists()
    return PaymentMethod.objects.create(
        organization=organization,
        stripe_payment_method_id=payment_method_id,
        brand=details.brand,
        last4=details.last4,
        exp_month=details.exp_month,
        exp_year=details.exp_year,
        is_default=not has_default,
    )


def purchase(
    *, organization: Organization, offer: Offer, buyer: User, card: PaymentMethod
) -> Subscription:
    """Buy ``offer`` at the clock's now, through the services of the checkout."""
    acceptance = TermsAcceptance.objects.create(
        terms=terms_current(offer=offer),
        organization=organization,
        accepted_by=buyer,
        accepted_at=clock.now(),
    )
    order = order_open_purchase(
        organization=organization,
        offer=offer,
        placed_by=buyer,
        terms_acceptance=acceptance,
        payment_method=card,
    )
    outcome = order_charge(order=order, off_session=False, actor=buyer)
    if not outcome.paid:
        raise DemoStateError(
            f"{organization.name}: the demo purchase was not paid ({outcome.status})"
        )
    return Subscription.objects.get(organization=organization, offer=offer)


def _bought_on(anniversary: dt.date) -> dt.date:
    """The purchase date whose first anniversary is ``anniversary``."""
    return anniversary_date(anniversary, -1)


def _once(organization: Organization, build: Callable[[], None]) -> None:
    if not Subscription.objects.filter(organization=organization).exists():
        build()


def northwind(offer: Offer) -> Organization:
    """Inside the renewal window, auto-renewal turned off: its admin can renew today."""
    organization = _organization(
        name="Northwind Traders",
        partner_id="1000003",
        domain="northwind.example",
        city="Seattle",
        people=[
            ("admin", "Nadia Admin", {Role.GLOBAL_ADMIN}),
            ("buyer", "Noah Buyer", {Role.MPN_PARTNER_ADMIN}),
        ],
    )

    def build() -> None:
        today = clock.today()
        anniversary = today + dt.timedelta(days=NORTHWIND_ANNIVERSARY_IN_DAYS)
        admin = User.objects.get(email="admin@northwind.example")
        bought_on = _bought_on(anniversary)
        with clock.frozen_at(at(bought_on)):
            card = card_save(organization=organization, number=CARD_OK)
            subscription = purchase(organization=organization, offer=offer, buyer=admin, card=card)
            # Three Windows keys given out: the demo's used product-key pool.
            grant = BenefitGrant.objects.get(
                subscription=subscription, benefit__code="windows-enterprise"
            )
            for _key in range(3):
                product_key_issue(grant=grant, actor=admin)
        with clock.frozen_at(at(bought_on + dt.timedelta(days=200))):
            subscription_turn_off_auto_renew(subscription=subscription, actor=admin)

    _once(organization, build)
    return organization


def tailspin(offer: Offer) -> Organization:
    """Past due: its renewal to card 4000 0000 0000 0341 was declined on the anniversary and on
    retry days 1 and 3; inside the grace window, its admin fixes the card and renews."""
    organization = _organization(
        name="Tailspin Toys",
        partner_id="1000004",
        domain="tailspin.example",
        city="Tacoma",
        people=[("admin", "Tomás Admin", {Role.GLOBAL_ADMIN})],
    )

    def build() -> None:
        today = clock.today()
        anniversary = today - dt.timedelta(days=TAILSPIN_ANNIVERSARY_DAYS_AGO)
        admin = User.objects.get(email="admin@tailspin.example")
        bought_on = _bought_on(anniversary)
        with clock.frozen_at(at(bought_on)):
            first_card = card_save(organization=organization, number=CARD_OK)
            subscription = purchase(
                organization=organization, offer=offer, buyer=admin, card=first_card
            )
        with clock.frozen_at(at(anniversary - dt.timedelta(days=20))):
            declining = card_save(organization=organization, number=CARD_CHARGES_DECLINED)
            subscription_change_payment_method(
                subscription=subscription, payment_method=declining, actor=admin
            )
        # The billing cycle's charge on the anniversary and its retries (the same service).
        for days_after in (0, 1, 3):
            with clock.frozen_at(at(anniversary + dt.timedelta(days=days_after), hour=1)):
                subscriptions_renew_automatically(subscription_ids=[subscription.pk])

    _once(organization, build)
    return organization


def wide_world(offer: Offer) -> Organization:
    """Expired at the end of its grace window: back to Network membership."""
    organization = _organization(
        name="Wide World Importers",
        partner_id="1000005",
        domain="wideworld.example",
        city="Spokane",
        people=[("admin", "Wanda Admin", {Role.GLOBAL_ADMIN})],
    )

    def build() -> None:
        today = clock.today()
        anniversary = today - dt.timedelta(days=WIDE_WORLD_ANNIVERSARY_DAYS_AGO)
        admin = User.objects.get(email="admin@wideworld.example")
        bought_on = _bought_on(anniversary)
        with clock.frozen_at(at(bought_on)):
            card = card_save(organization=organization, number=CARD_OK)
            subscription = purchase(organization=organization, offer=offer, buyer=admin, card=card)
        with clock.frozen_at(at(bought_on + dt.timedelta(days=100))):
            subscription_turn_off_auto_renew(subscription=subscription, actor=admin)
        expired_on = grace_end(anniversary) + dt.timedelta(days=1)
        with clock.frozen_at(at(expired_on, hour=1)):
            subscription.refresh_from_db()
            subscription_expire(subscription=subscription, today=expired_on)

    _once(organization, build)
    return organization


def litware(offer: Offer) -> Organization:
    """Bought a year ago today, auto-renewal on: the first billing cycle of ``make run`` charges
    its renewal (the console shows the charge and the receipt email)."""
    organization = _organization(
        name="Litware Inc",
        partner_id="1000006",
        domain="litware.example",
        city="Bellevue",
        people=[("admin", "Liam Admin", {Role.GLOBAL_ADMIN})],
    )

    def build() -> None:
        admin = User.objects.get(email="admin@litware.example")
        with clock.frozen_at(at(_bought_on(clock.today()), hour=0)):
            card = card_save(organization=organization, number=CARD_OK)
            purchase(organization=organization, offer=offer, buyer=admin, card=card)

    _once(organization, build)
    return organization


@transaction.atomic
def adventure_works() -> Organization:
    """A Gold competency (and a Silver one); no Action Pack: Gold is the tier shown."""
    organization = _organization(
        name="Adventure Works",
        partner_id="1000007",
        domain="adventure-works.example",
        city="Redmond",
        people=[("admin", "Ada Admin", {Role.GLOBAL_ADMIN})],
    )
    today = clock.today()
    for area, level in (
        (CompetencyArea.CLOUD_PLATFORM, CompetencyLevel.GOLD),
        (CompetencyArea.DATA_ANALYTICS, CompetencyLevel.SILVER),
    ):
        Competency.objects.get_or_create(
            organization=organization,
            area=area,
            defaults={"level": level, "anniversary": today + dt.timedelta(days=200)},
        )
    return organization


def demo_states(offer: Offer) -> list[Organization]:
    """Every demo organization beyond Contoso and Fabrikam, each in its state."""
    return [
        northwind(offer),
        tailspin(offer),
        wide_world(offer),
        litware(offer),
        adventure_works(),
    ]
