"""Writes about saved cards: the organization's Stripe customer, SetupIntents, saving and removing.

A card is entered in Stripe.js and confirmed there with a SetupIntent; the server never sees
its number. What reaches us is the SetupIntent id, and we trust nothing about it until we have
read it back from Stripe: it must have succeeded and belong to the organization's own customer.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from billing import stripe_gateway
from billing.models import OrderStatus, PaymentMethod
from billing.selectors.payment_methods import subscriptions_renewing_with
from core import clock
from membership.models import AuditEvent, Organization, User
from membership.services import audit_record

logger = logging.getLogger(__name__)


def _unavailable() -> ValidationError:
    return ValidationError(
        _("We could not reach our payment provider. Nothing was saved; please try again."),
        code="stripe_unavailable",
    )


def stripe_customer_ensure(*, organization: Organization) -> str:
    """The organization's Stripe customer id, creating the customer the first time.

    Two requests may both find no customer and both ask Stripe for one: the gateway sends an
    idempotency key per organization (real Stripe then returns the same customer), and only the
    first conditional UPDATE stores its id; the loser adopts the stored one.
    """
    if organization.stripe_customer_id:
        return organization.stripe_customer_id
    stored = (
        Organization.objects.filter(pk=organization.pk)
        .values_list("stripe_customer_id", flat=True)
        .first()
    )
    if not stored:
        customer_id = stripe_gateway.customer_create(
            name=organization.name,
            email=organization.contact_email,
            organization_id=organization.pk,
        )
        Organization.objects.filter(pk=organization.pk, stripe_customer_id="").update(
            stripe_customer_id=customer_id
        )
        stored = Organization.objects.values_list("stripe_customer_id", flat=True).get(
            pk=organization.pk
        )
    organization.stripe_customer_id = stored
    return stored


# A SetupIntent in these states can still take a card: card entry reuses it. One waiting for
# 3-D Secure (requires_action) belongs to the card that started it and is not reused.
SETUP_INTENT_OPEN = frozenset({"requires_payment_method", "requires_confirmation"})


def _open_setup_intent(*, organization: Organization, customer_id: str) -> tuple[str, str] | None:
    """The organization's SetupIntent from an earlier card entry, if it can still be used."""
    setup_intent_id = organization.stripe_setup_intent_id
    if not setup_intent_id:
        return None
    try:
        intent = stripe_gateway.setup_intent_retrieve(setup_intent_id)
    except stripe_gateway.StripeRequestError:
        return None  # gone from Stripe: make a new one
    if (
        intent["customer"] != customer_id
        or intent["status"] not in SETUP_INTENT_OPEN
        or not intent["client_secret"]
    ):
        return None
    return intent["id"], intent["client_secret"]


def card_setup_start(*, organization: Organization) -> tuple[str, str]:
    """The SetupIntent for Stripe.js to save a card to the organization's customer.

    Called when a partner starts entering a card, never when a page is viewed: looking at a
    payment page creates nothing in Stripe. The organization's open SetupIntent is reused (two
    tabs, a reload); a new one is made only when there is none that can still confirm a card.
    Returns (SetupIntent id, client secret). Raises ``ValidationError`` when Stripe cannot be
    reached, so the page can say so instead of failing.
    """
    try:
        customer_id = stripe_customer_ensure(organization=organization)
        organization.refresh_from_db(fields=["stripe_setup_intent_id"])
        reusable = _open_setup_intent(organization=organization, customer_id=customer_id)
        if reusable is not None:
            return reusable
        setup_intent_id, client_secret = stripe_gateway.setup_intent_create(customer_id=customer_id)
        Organization.objects.filter(pk=organization.pk).update(
            stripe_setup_intent_id=setup_intent_id
        )
        organization.stripe_setup_intent_id = setup_intent_id
        return setup_intent_id, client_secret
    except (stripe_gateway.StripeUnavailable, stripe_gateway.StripeRequestError) as error:
        logger.warning("card setup could not start: %s", error)
        raise ValidationError(
            _("Card entry is not available right now. Please try again in a moment."),
            code="stripe_unavailable",
        ) from error


def _verified_payment_method_id(*, organization: Organization, setup_intent_id: str) -> str:
    """Read the SetupIntent back from Stripe: it must have saved a card for this customer."""
    customer_id = organization.stripe_customer_id
    if not setup_intent_id or not customer_id:
        raise ValidationError(
            _("Your card details did not reach us. Please enter them again."), code="missing"
        )
    try:
        intent = stripe_gateway.setup_intent_retrieve(setup_intent_id)
    except stripe_gateway.StripeRequestError as error:
        raise ValidationError(
            _("Your card details did not reach us. Please enter them again."), code="unknown"
        ) from error
    # Someone else's SetupIntent id must never add their card to this organization.
    if intent["customer"] != customer_id:
        raise ValidationError(
            _("Your card details did not reach us. Please enter them again."), code="customer"
        )
    if intent["status"] != "succeeded" or not intent["payment_method"]:
        raise ValidationError(
            _("Your card was not confirmed. Please enter it again."), code="not_confirmed"
        )
    return intent["payment_method"]


def _attached_card(
    *, organization: Organization, payment_method_id: str
) -> stripe_gateway.CardDetails:
    """The card's details, attached to the organization's customer."""
    customer_id = organization.stripe_customer_id
    card = stripe_gateway.payment_method_retrieve(payment_method_id)
    if card.customer is None:
        # Confirming a SetupIntent does not always attach the card (localstripe never does):
        # attach it here, now that we know it is this customer's.
        try:
            stripe_gateway.payment_method_attach(payment_method_id=card.id, customer_id=customer_id)
        except stripe_gateway.PaymentDeclined as declined:
            raise ValidationError(declined.message, code="declined") from declined
    elif card.customer != customer_id:
        raise ValidationError(
            _("Your card details did not reach us. Please enter them again."), code="customer"
        )
    return card


def payment_method_save(
    *,
    organization: Organization,
    setup_intent_id: str,
    actor: User | None,
    make_default: bool = False,
) -> PaymentMethod:
    """Save the card a succeeded SetupIntent confirmed. Idempotent on the Stripe card id.

    The organization's first card becomes its default. Raises ``ValidationError`` with a message
    for the partner when the SetupIntent did not save a card for this organization.
    """
    organization.refresh_from_db(fields=["stripe_customer_id"])
    try:
        payment_method_id = _verified_payment_method_id(
            organization=organization, setup_intent_id=setup_intent_id
        )
        existing = PaymentMethod.objects.filter(stripe_payment_method_id=payment_method_id).first()
        if existing is not None:
            # A reload or a second click: saved already, nothing more to ask Stripe.
            return _already_saved(existing, organization=organization)
        card = _attached_card(organization=organization, payment_method_id=payment_method_id)
    except stripe_gateway.StripeUnavailable as error:
        raise _unavailable() from error
    except stripe_gateway.StripeRequestError as error:
        raise ValidationError(
            _("Your card could not be saved. Please enter it again."), code="stripe_error"
        ) from error

    try:
        with transaction.atomic():
            # Serialises default selection between two cards added at the same moment.
            Organization.objects.select_for_update().filter(pk=organization.pk).first()
            has_default = PaymentMethod.objects.filter(
                organization=organization, is_default=True, removed_at__isnull=True
            ).exists()
            if make_default and has_default:
                PaymentMethod.objects.filter(organization=organization, is_default=True).update(
                    is_default=False
                )
            payment_method = PaymentMethod.objects.create(
                organization=organization,
                stripe_payment_method_id=card.id,
                brand=card.brand,
                last4=card.last4,
                exp_month=card.exp_month,
                exp_year=card.exp_year,
                is_default=make_default or not has_default,
            )
            # Its SetupIntent has done its work: the next card entry makes a new one.
            Organization.objects.filter(
                pk=organization.pk, stripe_setup_intent_id=setup_intent_id
            ).update(stripe_setup_intent_id="")
            audit_record(
                action=AuditEvent.Action.PAYMENT_METHOD_ADDED,
                organization=organization,
                actor=actor,
                target=str(payment_method),
                detail={"payment_method": payment_method.pk, "default": payment_method.is_default},
            )
    except IntegrityError:
        # The same SetupIntent submitted twice at once (a double click): the other one saved it.
        existing = PaymentMethod.objects.get(stripe_payment_method_id=card.id)
        return _already_saved(existing, organization=organization)
    return payment_method


def _already_saved(payment_method: PaymentMethod, *, organization: Organization) -> PaymentMethod:
    if payment_method.organization_id != organization.pk or payment_method.removed_at is not None:
        raise ValidationError(_("This card was removed. Please enter it again."), code="removed")
    return payment_method


@transaction.atomic
def payment_method_make_default(
    *, payment_method: PaymentMethod, actor: User | None
) -> PaymentMethod:
    """Make this card the one new purchases offer first."""
    Organization.objects.select_for_update().filter(pk=payment_method.organization_id).first()
    payment_method.refresh_from_db()
    if payment_method.removed_at is not None:
        raise ValidationError(_("This card was removed."), code="removed")
    if payment_method.is_default:
        return payment_method
    # Clear the old default first: at most one default per organization (a unique constraint).
    PaymentMethod.objects.filter(
        organization_id=payment_method.organization_id, is_default=True
    ).update(is_default=False)
    PaymentMethod.objects.filter(pk=payment_method.pk).update(is_default=True)
    payment_method.is_default = True
    return payment_method


def payment_method_remove(*, payment_method: PaymentMethod, actor: User | None) -> PaymentMethod:
    """Remove a card: detached in Stripe, kept here (``removed_at``) for past orders and invoices.

    A card an auto-renewing subscription will charge cannot go until the subscription has
    another card; nor can a card being charged right now.
    """
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=payment_method.organization_id).first()
        payment_method.refresh_from_db()
        if payment_method.removed_at is not None:
            return payment_method
        renewing = list(subscriptions_renewing_with(payment_method=payment_method))
        if renewing:
            raise ValidationError(
                _(
                    "%(card)s pays the automatic renewal of %(offer)s. Choose another payment "
                    "method for that subscription first (Partnership > Offers > Change payment "
                    "method), or turn off its auto-renewal."
                )
                % {"card": payment_method, "offer": renewing[0].offer.name},
                code="in_use",
            )
        if payment_method.orders.filter(
            status__in=[OrderStatus.PROCESSING, OrderStatus.REQUIRES_ACTION]
        ).exists():
            raise ValidationError(
                _("A payment with this card is in progress. Try again in a few minutes."),
                code="in_flight",
            )
        try:
            stripe_gateway.payment_method_detach(payment_method.stripe_payment_method_id)
        except stripe_gateway.StripeUnavailable as error:
            raise _unavailable() from error
        except stripe_gateway.StripeRequestError:
            # Already detached or unknown to Stripe: there is nothing left to detach.
            logger.info("payment method %s was already detached", payment_method.pk)
        was_default = payment_method.is_default
        payment_method.removed_at = clock.now()
        payment_method.is_default = False
        payment_method.save(update_fields=["removed_at", "is_default"])
        if was_default:
            # The newest remaining card takes over, so the organization keeps a default.
            successor = (
                PaymentMethod.objects.filter(
                    organization_id=payment_method.organization_id, removed_at__isnull=True
                )
                .order_by("-created_at", "-id")
                .first()
            )
            if successor is not None:
                PaymentMethod.objects.filter(pk=successor.pk).update(is_default=True)
        audit_record(
            action=AuditEvent.Action.PAYMENT_METHOD_REMOVED,
            organization=payment_method.organization,
            actor=actor,
            target=str(payment_method),
            detail={"payment_method": payment_method.pk},
        )
    return payment_method
