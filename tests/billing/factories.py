"""Building cards and subscriptions directly, for tests that are not about buying them.

``make_subscription`` is the one builder of a subscription in a given state for the billing
tests (and the tests of other apps that need one).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from billing.models import Order, OrderKind, OrderStatus, PaymentMethod, Subscription
from billing.services.benefits import benefits_grant_for_term
from billing.services.invoices import invoices_issue
from billing.tax import organization_tax_quote, tax_rates_in_force
from billing.terms import anniversary_date, term_dates
from core import clock
from membership.models import Organization
from offers.models import Offer


def make_card(
    organization: Organization, *, last4: str = "4242", stripe_id: str | None = None, **extra
) -> PaymentMethod:
    return PaymentMethod.objects.create(
        organization=organization,
        stripe_payment_method_id=stripe_id
        or f"pm_test_{organization.pk}_{last4}_{PaymentMethod.objects.count()}",
        brand="visa",
        last4=last4,
        exp_month=extra.pop("exp_month", 12),
        exp_year=extra.pop("exp_year", 2034),
        is_default=extra.pop("is_default", True),
        **extra,
    )


def make_subscription(
    organization: Organization,
    offer: Offer,
    *,
    started_on: dt.date | None = None,
    anniversary: dt.date | None = None,
    term_number: int = 1,
    payment_method: PaymentMethod | None = None,
    benefits: bool = False,
    **fields,
) -> Subscription:
    """A subscription in the state a test needs, with the paid orders that brought it there.

    Bought on ``started_on``, or so that the current term ends on ``anniversary``, or today (by
    the clock); now in term ``term_number``. Live and auto-renewing unless ``fields`` say
    otherwise (``status="past_due"``, ``auto_renew=False``, ``cancel_at_term_end=True``…). With
    ``benefits``, its offer's benefits are granted for the current term, as a purchase does.
    """
    if started_on is not None and anniversary is not None:
        raise ValueError("Give started_on or anniversary, not both.")
    if started_on is None:
        started_on = (
            anniversary_date(anniversary, -term_number)
            if anniversary is not None
            else clock.today()
        )
    start, end = term_dates(started_on=started_on, term_number=term_number)
    assert anniversary is None or end == anniversary, (anniversary, end)
    subscription = Subscription.objects.create(
        organization=organization,
        offer=offer,
        started_on=started_on,
        term_number=term_number,
        current_term_start=start,
        current_term_end=end,
        payment_method=payment_method,
        **fields,
    )
    price = offer.prices.get(currency=organization.currency)
    # Priced as a purchase is: the net price plus the tax of the organization's billing profile
    # (at today's rates), each order with its invoice, issued by the service that issues them.
    tax = organization_tax_quote(
        organization=organization, net=price.amount, rates=tax_rates_in_force()
    )
    for number in range(1, term_number + 1):
        term_start, term_end = term_dates(started_on=started_on, term_number=number)
        paid_at = dt.datetime.combine(term_start, dt.time(12), tzinfo=dt.UTC)
        with transaction.atomic():
            order = Order.objects.create(
                organization=organization,
                offer=offer,
                subscription=subscription,
                kind=OrderKind.PURCHASE if number == 1 else OrderKind.RENEWAL,
                term_number=number,
                term_start=term_start,
                term_end=term_end,
                currency=price.currency,
                **tax.order_fields,
                status=OrderStatus.PAID,
                payment_method=payment_method,
                card_brand=payment_method.brand if payment_method else "",
                card_last4=payment_method.last4 if payment_method else "",
                paid_at=paid_at,
            )
            invoices_issue(orders=[order], issued_at=paid_at)
            order.save(update_fields=["invoice_number"])
    if benefits:
        benefits_grant_for_term(subscription=subscription)
    return subscription
