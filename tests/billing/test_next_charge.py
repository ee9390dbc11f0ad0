"""The next charge at the top of Billing > Order history (``billing.selectors.orders.next_charge``)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from billing.models import Order, OrderKind, OrderStatus
from billing.selectors.orders import next_charge
from billing.services.orders import renewal_order_for_next_term
from core import clock
from tests.billing.factories import make_card, make_subscription

pytestmark = pytest.mark.django_db

URL = reverse("billing:orders")
ANNIVERSARY = dt.date(2027, 5, 10)


@pytest.fixture(autouse=True)
def _today(frozen_clock):
    clock.set_now(dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC))


def test_auto_renew_on_charges_the_card_on_the_anniversary(contoso, offer):
    card = make_card(contoso, last4="4444")
    make_subscription(contoso, offer, anniversary=ANNIVERSARY, payment_method=card)

    charge = next_charge(organization=contoso)

    assert charge.is_charge
    assert charge.charges_on == ANNIVERSARY
    assert (charge.quote.gross, charge.quote.tax, charge.currency) == (47500, 0, "USD")
    assert charge.card == card


def test_a_spanish_buyer_without_a_vat_id_is_charged_spanish_vat(fabrikam, offer):
    make_subscription(fabrikam, offer, anniversary=ANNIVERSARY, payment_method=make_card(fabrikam))

    charge = next_charge(organization=fabrikam)

    assert (charge.quote.net, charge.quote.tax, charge.quote.gross) == (44000, 9240, 53240)
    assert charge.currency == "EUR"


def test_it_is_the_amount_the_renewal_order_is_charged(fabrikam, offer):
    subscription = make_subscription(
        fabrikam, offer, anniversary=ANNIVERSARY, payment_method=make_card(fabrikam)
    )
    announced = next_charge(organization=fabrikam).quote.gross

    order = renewal_order_for_next_term(subscription=subscription)

    assert order.amount == announced == 53240


def test_a_reverse_charge_buyer_pays_no_vat(fabrikam, offer):
    fabrikam.vat_id = "ESA12345674"
    fabrikam.save(update_fields=["vat_id"])
    make_subscription(fabrikam, offer, anniversary=ANNIVERSARY, payment_method=make_card(fabrikam))

    assert next_charge(organization=fabrikam).quote.gross == 44000


def test_auto_renew_off_says_when_it_ends_and_charges_nothing(contoso, offer):
    make_subscription(
        contoso, offer, anniversary=ANNIVERSARY, payment_method=make_card(contoso), auto_renew=False
    )

    charge = next_charge(organization=contoso)

    assert not charge.is_charge
    assert charge.ends_on == ANNIVERSARY
    assert charge.quote is None


def test_set_to_cancel_charges_nothing(contoso, offer):
    make_subscription(contoso, offer, anniversary=ANNIVERSARY, cancel_at_term_end=True)

    assert not next_charge(organization=contoso).is_charge


def test_past_due_is_retried_on_the_next_retry_day(contoso, offer):
    clock.set_now(dt.datetime(2027, 5, 12, 9, tzinfo=dt.UTC))
    subscription = make_subscription(
        contoso,
        offer,
        anniversary=ANNIVERSARY,
        payment_method=make_card(contoso),
        status="past_due",
    )
    order = renewal_order_for_next_term(subscription=subscription)
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.FAILED, next_retry_on=dt.date(2027, 5, 13)
    )

    charge = next_charge(organization=contoso)

    assert charge.charges_on == dt.date(2027, 5, 13)
    assert charge.ends_on is None


def test_past_due_without_retries_left_says_when_the_grace_window_ends(contoso, offer):
    clock.set_now(dt.datetime(2027, 5, 30, 9, tzinfo=dt.UTC))
    subscription = make_subscription(
        contoso,
        offer,
        anniversary=ANNIVERSARY,
        payment_method=make_card(contoso),
        status="past_due",
    )
    order = renewal_order_for_next_term(subscription=subscription)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.FAILED, retries_stopped=True)

    charge = next_charge(organization=contoso)

    assert not charge.is_charge
    assert charge.ends_on == dt.date(2027, 6, 9)  # 30 days after the anniversary


def test_no_subscription_no_next_charge(contoso, offer):
    assert next_charge(organization=contoso) is None


def test_a_removed_card_is_not_announced(contoso, offer):
    card = make_card(contoso)
    make_subscription(contoso, offer, anniversary=ANNIVERSARY, payment_method=card)
    card.removed_at = clock.now()
    card.save(update_fields=["removed_at"])

    assert next_charge(organization=contoso).card is None


# --- on the page --------------------------------------------------------------------------------


def test_the_page_shows_date_amount_with_tax_and_card(login, fabrikam, offer, charlie):
    make_subscription(
        fabrikam, offer, anniversary=ANNIVERSARY, payment_method=make_card(fabrikam, last4="1881")
    )

    page = login(charlie).get(URL).content.decode()

    top = page[page.index('data-testid="next-charge"') : page.index("</section>")]
    assert "Next charge" in top
    assert "May 10, 2027" in top
    assert "€532.40" in top
    assert "€440.00 + €92.40 VAT" in top
    assert "Visa •••• 1881" in top


def test_the_page_says_nothing_will_be_charged_with_auto_renew_off(login, contoso, offer, bea):
    make_subscription(contoso, offer, anniversary=ANNIVERSARY, auto_renew=False)

    page = login(bea).get(URL).content.decode()

    assert "Nothing will be charged automatically" in page
    assert "ends on May 10, 2027 unless you renew it" in page


def test_the_page_has_no_next_charge_without_a_subscription(login, contoso, offer, bea):
    response = login(bea).get(URL)

    assert response.context["next_charge"] is None
    assert b'data-testid="next-charge"' not in response.content


def test_it_never_shows_another_organizations_charge(login, contoso, fabrikam, offer, bea):
    make_subscription(fabrikam, offer, anniversary=ANNIVERSARY, payment_method=make_card(fabrikam))

    assert login(bea).get(URL).context["next_charge"] is None


def test_a_renewal_order_open_keeps_its_net_price(contoso, offer):
    subscription = make_subscription(contoso, offer, anniversary=ANNIVERSARY)
    order = renewal_order_for_next_term(subscription=subscription)
    Order.objects.filter(pk=order.pk).update(net_amount=40000, amount=40000)

    assert next_charge(organization=contoso).quote.gross == 40000
    assert Order.objects.get(pk=order.pk).kind == OrderKind.RENEWAL
