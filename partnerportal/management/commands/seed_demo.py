"""Load the demo organizations, people, catalog and Fabrikam's Action Pack, the organizations in
every state of a subscription (partnerportal/demo_states.py) and support requests in every
status (docs/product.md).

Idempotent: running it twice changes nothing. Refused when DEBUG is off: it creates accounts with a
published password.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from billing import stripe_gateway
from billing.models import PaymentMethod, ProductKey
from billing.selectors.subscriptions import live_subscription
from core import clock
from membership.models import Organization, User
from membership.services import second_factor_enroll_totp
from offers.models import Benefit, Offer
from partnerportal.demo import (
    DEMO_PASSWORD,
    DEMO_TOTP_SECRET,
    action_pack_offer,
    contoso,
    fabrikam,
    user_ensure,
)
from partnerportal.demo_states import DemoStateError, card_save, demo_states, purchase

STAFF = [
    ("agent@partnerportal.example", "Sam Agent", "Support agent"),
    ("billing@partnerportal.example", "Bill Specialist", "Billing specialist"),
]


class Command(BaseCommand):
    help = "Create the demo organizations, accounts, offer and data. Refused when DEBUG is off."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo only runs with DEBUG on: it creates accounts with a known password."
            )
        offer = action_pack_offer()
        partners = contoso()
        organization = fabrikam()
        self._staff()
        self._support_articles()
        self._product_keys(offer)
        self._fabrikam_action_pack(organization, offer)
        others = demo_states(offer)
        self._support_requests(partners)
        self._second_factors(
            User.objects.filter(
                Q(memberships__organization__in=[partners, organization, *others])
                | Q(email__in=[email for email, *_ in STAFF] + ["root@partnerportal.example"])
            ).distinct()
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready. Password for every account: {DEMO_PASSWORD}; "
                f"authenticator key: {DEMO_TOTP_SECRET}"
            )
        )

    def _second_factors(self, people) -> None:
        """Every demo account signs in with the published authenticator key (README)."""
        for user in people:
            second_factor_enroll_totp(user=user, secret=DEMO_TOTP_SECRET)

    def _staff(self) -> None:
        for email, name, group_name in STAFF:
            user = user_ensure(email, full_name=name, is_staff=True)
            group = Group.objects.filter(name=group_name).first()
            if group is not None:
                user.groups.add(group)
        if not User.objects.filter(email="root@partnerportal.example").exists():
            User.objects.create_superuser(
                email="root@partnerportal.example", password=DEMO_PASSWORD
            )

    def _support_articles(self) -> None:
        from support.demo import support_demo_articles, support_demo_canned_replies

        support_demo_articles()
        support_demo_canned_replies()

    def _support_requests(self, organization: Organization) -> None:
        from support.demo import support_demo_requests

        support_demo_requests(
            organization=organization,
            requester=User.objects.get(email="buyer@contoso.example"),
            agent=User.objects.get(email="agent@partnerportal.example"),
        )

    def _product_keys(self, offer: Offer) -> None:
        benefit = Benefit.objects.get(offer=offer, code="windows-enterprise")
        ProductKey.objects.bulk_create(
            [
                ProductKey(benefit=benefit, key=f"DEMO{n:04d}-W10EN-TRPRS-XK7QJ-3B8YD")
                for n in range(1, 41)
            ],
            ignore_conflicts=True,
        )

    def _fabrikam_action_pack(self, organization: Organization, offer: Offer) -> None:
        """Fabrikam has an active Action Pack with auto-renewal on and a saved card.

        Bought through the same services a partner uses, so the demo's card, charge and invoice
        exist in localstripe too. If localstripe lost its state, the card is saved again.
        """
        buyer = User.objects.get(email="buyer@fabrikam.example")
        if organization.stripe_customer_id and not stripe_gateway.customer_exists(
            organization.stripe_customer_id
        ):
            Organization.objects.filter(pk=organization.pk).update(stripe_customer_id="")
            organization.refresh_from_db()
            PaymentMethod.objects.filter(organization=organization).update(
                removed_at=clock.now(), is_default=False
            )
        card = PaymentMethod.objects.filter(
            organization=organization, removed_at__isnull=True
        ).first()
        if card is None:
            card = card_save(organization=organization, number="4242424242424242")
        subscription = live_subscription(organization=organization, offer=offer)
        if subscription is not None:
            if subscription.payment_method_id != card.pk:
                subscription.payment_method = card
                subscription.updated_at = clock.now()
                subscription.save(update_fields=["payment_method", "updated_at"])
            return
        try:
            purchase(organization=organization, offer=offer, buyer=buyer, card=card)
        except DemoStateError as error:
            raise CommandError(f"Could not buy Fabrikam's demo Action Pack: {error}") from error
