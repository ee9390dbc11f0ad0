"""Writes about benefits: grants for each term, product keys, activation, seats and licenses.

A subscription gets one ``BenefitGrant`` per benefit of its offer for each term it is paid for
(``benefits_grant_for_term``, called when it starts and when a renewal is applied); the grants are
revoked when it expires or is canceled (``benefits_revoke``). Activating a software benefit (a
product key, a Visual Studio license) is recorded with its time: it ends the 30-day full-refund
eligibility (see ``billing.selectors.benefits.software_activation``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from billing.models import BenefitGrant, ProductKey, SeatAssignment, Subscription
from billing.selectors.benefits import support_incidents_grant
from core import clock
from core.emails import email_send_text
from membership.models import AuditEvent, Organization, User
from membership.services import audit_record
from offers.models import Benefit, BenefitKind

logger = logging.getLogger(__name__)

# Benefits the partner switches on with an "Activate" button.
ACTIVATED_BY_BUTTON = frozenset(
    {BenefitKind.ONLINE_SERVICE, BenefitKind.AZURE_CREDIT, BenefitKind.DEVELOPER_ACCOUNT}
)
# Benefits given to people by email: online services seats and Visual Studio licenses.
ASSIGNED_TO_PEOPLE = frozenset({BenefitKind.ONLINE_SERVICE, BenefitKind.DEVELOPER_LICENSE})
# Services that keep running into a renewed term: their activation and seats carry over, so a
# renewal does not switch anyone's Office 365 off. Software starts each term fresh (new keys,
# licenses assigned again), which keeps each term's refund-eligibility record its own.
CARRIED_OVER = ACTIVATED_BY_BUTTON
# One staff alert per benefit pool within this many seconds, however many partners hit it.
POOL_ALERT_QUIET_SECONDS = 60 * 60


class BenefitError(ValidationError):
    """A benefit action that cannot be done; the message is for the partner."""


def benefits_grant_for_term(*, subscription: Subscription) -> list[BenefitGrant]:
    """Give the subscription its offer's benefits for its current term (safe to call twice).

    Call it when a subscription starts and after each renewal is applied. The previous term's
    grants end; online services, Azure credit and the developer account carry their activation
    (and seats) into the new term.
    """
    return benefits_grant_for_terms(subscriptions=[subscription]).get(subscription.pk, [])


@transaction.atomic
def benefits_grant_for_terms(*, subscriptions: list[Subscription]) -> dict[int, list[BenefitGrant]]:
    """``benefits_grant_for_term`` for many subscriptions at once (a batch of renewals).

    A fixed number of statements whatever the batch: the subscriptions (locked), their offers'
    benefits, their grants, then one insert of the new grants, one of the carried-over seats and
    one update ending the previous terms' grants.
    """
    if not subscriptions:
        return {}
    live = [
        subscription
        for subscription in Subscription.objects.select_for_update()
        .filter(pk__in=[subscription.pk for subscription in subscriptions])
        .order_by("pk")
        if subscription.is_live
    ]
    if not live:
        return {}
    benefits: dict[int, list[Benefit]] = {}
    for benefit in Benefit.objects.filter(offer_id__in={s.offer_id for s in live}):
        benefits.setdefault(benefit.offer_id, []).append(benefit)  # in the offer's order
    terms = {subscription.pk: subscription.term_number for subscription in live}
    current: dict[tuple[int, int], BenefitGrant] = {}  # (subscription, benefit): this term's
    previous: dict[tuple[int, int], BenefitGrant] = {}  # the latest unrevoked earlier one
    to_revoke: list[int] = []
    grants = BenefitGrant.objects.filter(subscription__in=live).filter(
        Q(revoked_at__isnull=True) | Q(term_number__in=set(terms.values()))
    )
    for grant in grants.order_by("term_number", "pk"):
        key = (grant.subscription_id, grant.benefit_id)
        if grant.term_number == terms[grant.subscription_id]:
            current[key] = grant
        elif grant.term_number < terms[grant.subscription_id] and grant.revoked_at is None:
            previous[key] = grant
            to_revoke.append(grant.pk)
    seats: dict[int, list[SeatAssignment]] = {}
    carried = [grant for key, grant in previous.items() if key not in current]
    if carried:
        for seat in SeatAssignment.objects.filter(grant__in=carried).order_by("pk"):
            seats.setdefault(seat.grant_id, []).append(seat)

    created: list[tuple[BenefitGrant, list[SeatAssignment]]] = []
    result: dict[int, list[BenefitGrant]] = {}
    for subscription in live:
        for benefit in benefits.get(subscription.offer_id, []):
            key = (subscription.pk, benefit.pk)
            grant = current.get(key)
            if grant is None:
                grant = BenefitGrant(
                    subscription=subscription,
                    benefit=benefit,
                    term_number=subscription.term_number,
                    quantity=benefit.quantity,
                )
                earlier = previous.get(key)
                carried_seats: list[SeatAssignment] = []
                if earlier is not None and benefit.kind in CARRIED_OVER:
                    carried_seats = seats.get(earlier.pk, [])[: grant.quantity]
                    grant.activated_at = earlier.activated_at
                    grant.activated_by_id = earlier.activated_by_id
                    grant.used_quantity = len(carried_seats)
                created.append((grant, carried_seats))
            result.setdefault(subscription.pk, []).append(grant)
    BenefitGrant.objects.bulk_create([grant for grant, _seats in created])
    SeatAssignment.objects.bulk_create(
        SeatAssignment(
            grant=grant,
            email=seat.email,
            assigned_by_id=seat.assigned_by_id,
            assigned_at=seat.assigned_at,
        )
        for grant, carried_seats in created
        for seat in carried_seats
    )
    if to_revoke:
        BenefitGrant.objects.filter(pk__in=to_revoke).update(revoked_at=clock.now())
    return result


@transaction.atomic
def benefits_revoke(*, subscription: Subscription) -> int:
    """End every benefit of the subscription (at expiry or cancellation). Safe to call twice.

    Keys, seats and activation records stay for history; the Benefits page no longer offers them.
    """
    return BenefitGrant.objects.filter(subscription=subscription, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )


def _grant_lock(grant: BenefitGrant) -> BenefitGrant:
    """The grant, locked so quantity checks and counters do not race, if it can still be used."""
    grant = (
        BenefitGrant.objects.select_for_update(of=("self",))
        .select_related("benefit", "subscription__organization")
        .get(pk=grant.pk)
    )
    subscription = grant.subscription
    if (
        grant.revoked_at is not None
        or not subscription.is_live
        or grant.term_number != subscription.term_number
    ):
        raise BenefitError(
            _("This benefit is no longer available: your subscription is not active."),
            code="not_available",
        )
    return grant


def _grant_mark_activated(*, grant: BenefitGrant, actor: User | None) -> None:
    """Record the first activation with its time (for software it ends refund eligibility)."""
    if grant.activated_at is not None:
        return
    grant.activated_at = clock.now()
    grant.activated_by = actor
    grant.save(update_fields=["activated_at", "activated_by"])
    audit_record(
        action=AuditEvent.Action.BENEFIT_ACTIVATED,
        organization=grant.subscription.organization,
        actor=actor,
        target=grant.benefit.name,
        detail={
            "benefit": grant.benefit.code,
            "term": grant.term_number,
            "software": grant.benefit.is_software,
            "subscription": grant.subscription_id,
        },
    )


def _require_kind(grant: BenefitGrant, kinds: Iterable[str]) -> None:
    if grant.benefit.kind not in kinds:
        raise BenefitError(_("This action does not apply to this benefit."), code="wrong_kind")


@transaction.atomic
def benefit_activate(*, grant: BenefitGrant, actor: User | None) -> BenefitGrant:
    """Switch on an online service, the Azure credit or the developer account."""
    grant = _grant_lock(grant)
    _require_kind(grant, ACTIVATED_BY_BUTTON)
    _grant_mark_activated(grant=grant, actor=actor)
    return grant


def product_key_issue(*, grant: BenefitGrant, actor: User | None) -> ProductKey:
    """Give the organization one more product key of a software license benefit.

    Each key in the pool goes out once, to one grant: concurrent requests lock different rows
    (``skip_locked``), so two people never receive the same key. An empty pool tells the partner
    and alerts staff at ``STAFF_ALERT_EMAIL``.
    """
    key = _product_key_take(grant=grant, actor=actor)
    if key is None:
        _alert_staff_pool_empty(benefit=grant.benefit, organization=grant.subscription.organization)
        raise BenefitError(
            _(
                "No product keys are available right now. Our staff have been alerted and will "
                "add keys soon; please try again later."
            ),
            code="pool_empty",
        )
    return key


@transaction.atomic
def _product_key_take(*, grant: BenefitGrant, actor: User | None) -> ProductKey | None:
    grant = _grant_lock(grant)
    _require_kind(grant, {BenefitKind.SOFTWARE_LICENSE})
    issued = grant.product_keys.count()
    if issued >= grant.quantity:
        raise BenefitError(
            _("All %(count)s keys of this term were given out already.")
            % {"count": grant.quantity},
            code="all_issued",
        )
    key = (
        ProductKey.objects.select_for_update(skip_locked=True)
        .filter(benefit=grant.benefit, grant__isnull=True)
        .order_by("loaded_at", "id")
        .first()
    )
    if key is None:
        return None
    key.grant, key.issued_to, key.issued_at = grant, actor, clock.now()
    key.save(update_fields=["grant", "issued_to", "issued_at"])
    grant.used_quantity = issued + 1
    grant.save(update_fields=["used_quantity"])
    _grant_mark_activated(grant=grant, actor=actor)
    return key


def _alert_staff_pool_empty(*, benefit: Benefit, organization: Organization) -> None:
    logger.warning(
        "product key pool empty", extra={"benefit": benefit.code, "organization": organization.pk}
    )
    # cache.add is atomic: only the first partner to find the pool empty in the window sends it.
    if not cache.add(f"product-key-pool-empty:{benefit.pk}", True, POOL_ALERT_QUIET_SECONDS):
        return
    email_send_text(
        subject=f"[Partner Portal] Product key pool empty: {benefit.name}",
        body=(
            f"{organization.name} ({organization.partner_id}) asked for a product key of "
            f'"{benefit.name}" ({benefit.offer.name}) and the pool is empty.\n\n'
            "Load more keys in the admin: Billing > Product keys > Load keys.\n"
        ),
        to=settings.STAFF_ALERT_EMAIL,
    )


def _email_normalize(email: str) -> str:
    return email.strip().lower()


def _seats_recount(grant: BenefitGrant) -> None:
    grant.used_quantity = grant.assignments.count()
    grant.save(update_fields=["used_quantity"])


@transaction.atomic
def seat_assign(*, grant: BenefitGrant, email: str, actor: User | None) -> SeatAssignment:
    """Give a seat (online services) or a Visual Studio license to a person, up to the quantity."""
    grant = _grant_lock(grant)
    _require_kind(grant, ASSIGNED_TO_PEOPLE)
    if grant.benefit.kind == BenefitKind.ONLINE_SERVICE and grant.activated_at is None:
        raise BenefitError(_("Activate this service before assigning seats."), code="not_activated")
    email = _email_normalize(email)
    if grant.assignments.filter(email=email).exists():
        raise BenefitError(_("%(email)s already has one.") % {"email": email}, code="duplicate")
    if grant.assignments.count() >= grant.quantity:
        raise BenefitError(
            _("All %(count)s are assigned. Remove someone first.") % {"count": grant.quantity},
            code="full",
        )
    seat = SeatAssignment.objects.create(
        grant=grant, email=email, assigned_by=actor, assigned_at=clock.now()
    )
    _seats_recount(grant)
    if grant.benefit.kind == BenefitKind.DEVELOPER_LICENSE:
        # Assigning a Visual Studio license is using the software.
        _grant_mark_activated(grant=grant, actor=actor)
    return seat


@transaction.atomic
def seat_unassign(*, assignment: SeatAssignment, actor: User | None) -> None:
    """Free a seat or license. A software activation stays recorded (it already happened)."""
    grant = _grant_lock(assignment.grant)
    SeatAssignment.objects.filter(pk=assignment.pk, grant=grant).delete()
    _seats_recount(grant)


@transaction.atomic
def license_reassign(
    *, assignment: SeatAssignment, email: str, actor: User | None
) -> SeatAssignment:
    """Move a Visual Studio license (or a seat) from one person to another."""
    grant = _grant_lock(assignment.grant)
    _require_kind(grant, ASSIGNED_TO_PEOPLE)
    email = _email_normalize(email)
    assignment = SeatAssignment.objects.select_for_update().get(pk=assignment.pk, grant=grant)
    if assignment.email == email:
        return assignment
    if grant.assignments.filter(email=email).exists():
        raise BenefitError(_("%(email)s already has one.") % {"email": email}, code="duplicate")
    assignment.email, assignment.assigned_by, assignment.assigned_at = email, actor, clock.now()
    assignment.save(update_fields=["email", "assigned_by", "assigned_at"])
    return assignment


@transaction.atomic
def support_incident_use(*, organization: Organization) -> BenefitGrant:
    """Count one technical support incident against the organization's current term.

    Support calls it in the transaction that files a technical product support request, so the
    count and the case commit together or not at all. The grant row is locked
    (``select_for_update``) before it is read: two requests filed at once when one incident is
    left are counted one after the other, and the second is refused. Refuses without a live
    Action Pack (``not_available``) and when none is left (``none_left``).
    """
    grant = support_incidents_grant(organization=organization)
    if grant is None:
        raise BenefitError(
            _(
                "Technical support for Microsoft products comes with an active Action Pack "
                "subscription, so this request was not filed."
            ),
            code="not_available",
        )
    grant = _grant_lock(grant)
    if grant.used_quantity >= grant.quantity:
        raise BenefitError(
            _(
                "Your organization has used all %(count)s technical support incidents of this "
                "term, so this request was not filed. New incidents come with the renewal of "
                "your Action Pack subscription."
            )
            % {"count": grant.quantity},
            code="none_left",
        )
    grant.used_quantity += 1
    grant.save(update_fields=["used_quantity"])
    return grant


@transaction.atomic
def support_incident_give_back(*, grant: BenefitGrant) -> BenefitGrant:
    """Restore one incident to the term it was counted in (staff: it was not a product issue).

    Incidents belong to a term: once that term has ended (renewed, expired, canceled) the
    organization already has a fresh count, so nothing is given back (``term_ended``).
    Support decides that a case gives back at most once; this only keeps the count.
    """
    grant = (
        BenefitGrant.objects.select_for_update(of=("self",))
        .select_related("subscription")
        .get(pk=grant.pk)
    )
    subscription = grant.subscription
    if (
        grant.revoked_at is not None
        or not subscription.is_live
        or grant.term_number != subscription.term_number
    ):
        raise BenefitError(
            _(
                "The term this incident was counted in has ended; the organization's count "
                "started again with the new term, so there is nothing to give back."
            ),
            code="term_ended",
        )
    if grant.used_quantity == 0:
        raise BenefitError(_("No incident of this term is counted as used."), code="none_used")
    grant.used_quantity -= 1
    grant.save(update_fields=["used_quantity"])
    return grant


@transaction.atomic
def product_keys_load(*, benefit: Benefit, keys: Iterable[str]) -> tuple[int, int]:
    """Add keys to a benefit's pool (staff, in the admin). Returns (added, already there)."""
    wanted = list(dict.fromkeys(key.strip().upper() for key in keys if key.strip()))
    existing = set(ProductKey.objects.filter(key__in=wanted).values_list("key", flat=True))
    now = clock.now()
    ProductKey.objects.bulk_create(
        [
            ProductKey(benefit=benefit, key=key, loaded_at=now)
            for key in wanted
            if key not in existing
        ]
    )
    return len(wanted) - len(existing), len(existing)
