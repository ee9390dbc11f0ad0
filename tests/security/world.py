"""Contoso with one of everything a URL can point at, built on demand, for the URL walkers.

Each property builds its object the first time it is asked for (with the ORM or a service),
always in Contoso: the boundary walker then proves that Fabrikam's charlie gets 404 for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from allauth.mfa.models import Authenticator
from django.core.files.base import ContentFile
from django.db import transaction

from billing.models import (
    BenefitGrant,
    Invoice,
    Order,
    OrderKind,
    OrderStatus,
    PaymentMethod,
    SeatAssignment,
    Subscription,
    SubscriptionStatus,
)
from billing.services.invoices import invoices_issue
from billing.terms import term_dates
from core import clock
from membership.invitations import user_invite
from membership.models import Invitation, Membership, Organization, Role, User
from membership.services import membership_add
from offers.models import BenefitKind, Offer
from support.models import Attachment, IssueType, Message, ServiceRequest


@dataclass
class World:
    contoso: Organization
    fabrikam: Organization
    offer: Offer
    alice: User  # Contoso Global admin: may do everything
    bob: User
    bea: User
    axel: User
    victor: User
    charlie: User  # Fabrikam Global admin: the outsider
    agent: User  # staff, member of no organization

    @property
    def contoso_members(self) -> list[User]:
        """Contoso's people, each with other roles (victor with none)."""
        return [self.alice, self.bob, self.bea, self.axel, self.victor]

    @cached_property
    def member(self) -> Membership:
        """Dana, who joined Contoso as an Account admin."""
        dana = User.objects.create_user(
            email="dana@contoso.example", password="dana-joined-2026", full_name="Dana Member"
        )
        return membership_add(organization=self.contoso, user=dana, roles={Role.ACCOUNT_ADMIN})

    @cached_property
    def invitation(self) -> Invitation:
        """Erin, invited by alice, who has not answered yet."""
        return user_invite(
            organization=self.contoso,
            email="erin@contoso.example",
            full_name="Erin Invited",
            roles={Role.ACCOUNT_ADMIN},
            actor=self.alice,
        )

    @cached_property
    def passkey(self) -> Authenticator:
        """Alice's passkey (its data as allauth stores it; no test signs in with this one)."""
        return Authenticator.objects.create(
            user=self.alice,
            type=Authenticator.Type.WEBAUTHN,
            data={"name": "Alice's laptop", "credential": passkey_credential()},
        )

    @cached_property
    def card(self) -> PaymentMethod:
        return PaymentMethod.objects.create(
            organization=self.contoso,
            stripe_payment_method_id="pm_world_contoso_visa",
            brand="visa",
            last4="4242",
            exp_month=12,
            exp_year=clock.today().year + 3,
            is_default=True,
        )

    @cached_property
    def subscription(self) -> Subscription:
        """Active, started 300 days ago: the anniversary is within the renewal window."""
        started = clock.today() - dt.timedelta(days=300)
        start, end = term_dates(started_on=started, term_number=1)
        return Subscription.objects.create(
            organization=self.contoso,
            offer=self.offer,
            status=SubscriptionStatus.ACTIVE,
            started_on=started,
            current_term_start=start,
            current_term_end=end,
            payment_method=self.card,
        )

    def _price(self) -> tuple[int, str]:
        price = self.offer.prices.get(currency=self.contoso.currency)
        return price.amount, price.currency

    @cached_property
    def paid_order(self) -> Order:
        amount, currency = self._price()
        subscription = self.subscription
        return Order.objects.create(
            organization=self.contoso,
            offer=self.offer,
            subscription=subscription,
            kind=OrderKind.PURCHASE,
            term_number=1,
            term_start=subscription.current_term_start,
            term_end=subscription.current_term_end,
            amount=amount,
            currency=currency,
            status=OrderStatus.PAID,
            placed_by=self.alice,
            payment_method=self.card,
            card_brand="visa",
            card_last4="4242",
            invoice_number="PP-WORLD-000001",
            paid_at=clock.now() - dt.timedelta(days=300),
        )

    @cached_property
    def invoice(self) -> Invoice:
        """The paid order's invoice, issued by the service that issues them."""
        order = Order.objects.select_related("organization", "offer").get(pk=self.paid_order.pk)
        with transaction.atomic():
            invoice = invoices_issue(orders=[order], issued_at=order.paid_at)[order.pk]
            order.save(update_fields=["invoice_number"])
        return invoice

    @cached_property
    def checkout_order(self) -> Order:
        """A purchase in progress (no subscription yet), as the order wizard pages load it."""
        amount, currency = self._price()
        return Order.objects.create(
            organization=self.contoso,
            offer=self.offer,
            kind=OrderKind.PURCHASE,
            term_number=1,
            amount=amount,
            currency=currency,
            status=OrderStatus.PENDING,
            placed_by=self.alice,
        )

    @cached_property
    def grant(self) -> BenefitGrant:
        benefit = self.offer.benefits.order_by("position").first()
        return BenefitGrant.objects.create(
            subscription=self.subscription,
            benefit=benefit,
            term_number=1,
            quantity=benefit.quantity,
        )

    @cached_property
    def seat_grant(self) -> BenefitGrant:
        benefit = self.offer.benefits.filter(kind=BenefitKind.ONLINE_SERVICE).first()
        return BenefitGrant.objects.create(
            subscription=self.subscription,
            benefit=benefit,
            term_number=1,
            quantity=benefit.quantity,
        )

    @cached_property
    def incidents_grant(self) -> BenefitGrant:
        """Technical support incidents, some used: the New request form shows the count."""
        benefit = self.offer.benefits.get(kind=BenefitKind.SUPPORT_INCIDENTS)
        return BenefitGrant.objects.create(
            subscription=self.subscription,
            benefit=benefit,
            term_number=1,
            quantity=benefit.quantity,
            used_quantity=2,
        )

    @cached_property
    def assignment(self) -> SeatAssignment:
        return SeatAssignment.objects.create(
            grant=self.seat_grant, email="erin@contoso.example", assigned_by=self.alice
        )

    @cached_property
    def service_request(self) -> ServiceRequest:
        """Filed by alice (the Global admin sees every request of the organization anyway)."""
        now = clock.now()
        request = ServiceRequest.objects.create(
            organization=self.contoso,
            requester=self.alice,
            issue_type=IssueType.values[0],
            title="Cannot download the invoice",
            description="The invoice link shows an error.",
            contact_email=self.alice.email,
            created_at=now,
            first_response_due=now + dt.timedelta(hours=8),
            last_activity_at=now,
        )
        Message.objects.create(request=request, author=self.alice, body="Please help.")
        return request

    @cached_property
    def attachment(self) -> Attachment:
        content = b"\x89PNG\r\n\x1a\n" + b"0" * 64
        attachment = Attachment(
            request=self.service_request,
            original_name="screenshot.png",
            content_type="image/png",
            size=len(content),
            uploaded_by=self.alice,
        )
        attachment.file.save("screenshot.png", ContentFile(content))
        return attachment


def passkey_credential(rp_id: str = "localhost") -> dict:
    """A passkey's registration as a browser sends it (the pages that list a person's passkeys
    read it back): a "none" attestation of a fresh P-256 key, built with python-fido2."""
    import os

    from cryptography.hazmat.primitives.asymmetric import ec
    from fido2.cose import ES256
    from fido2.utils import sha256
    from fido2.webauthn import (
        Aaguid,
        AttestationObject,
        AttestedCredentialData,
        AuthenticatorAttestationResponse,
        AuthenticatorData,
        CollectedClientData,
        RegistrationResponse,
    )

    credential_id = os.urandom(16)
    public_key = ES256.from_cryptography_key(ec.generate_private_key(ec.SECP256R1()).public_key())
    authenticator_data = AuthenticatorData.create(
        sha256(rp_id.encode()),
        AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.AT,
        0,
        AttestedCredentialData.create(Aaguid.NONE, credential_id, public_key),
    )
    return dict(
        RegistrationResponse(
            raw_id=credential_id,
            response=AuthenticatorAttestationResponse(
                client_data=CollectedClientData.create(
                    type="webauthn.create", challenge=os.urandom(16), origin=f"http://{rp_id}"
                ),
                attestation_object=AttestationObject.create("none", authenticator_data, {}),
            ),
        )
    )
