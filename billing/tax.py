"""The tax of a sale: one home for the VAT rules (docs/invoices.md).

Catalog prices are net. The seller is established in the EU (``SELLER_COUNTRY``; the demo's in
Ireland), and what the buyer pays on top depends on where the buyer is and on its VAT id:

- buyer in the seller's country → that country's rate (``DOMESTIC``);
- buyer in another EU country with a valid VAT id → 0 %, "Reverse charge — VAT to be accounted
  for by the recipient (Article 196, Directive 2006/112/EC)" (``REVERSE_CHARGE``);
- buyer in another EU country without one → the buyer country's rate (``EU_DESTINATION``: the
  place of supply of electronically supplied services to a consumer is where the consumer is);
- buyer outside the EU → 0 %, "Outside the scope of EU VAT" (``OUTSIDE_EU``).

Rates are data (``TaxRate``: country, rate, valid from), kept by staff in the admin; the rate in
force on the day of the sale applies. Tax is rounded half up to the minor unit, once per
document line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from billing.models import CLAIMABLE_ORDER_STATUSES, Order, TaxRate, TaxTreatment
from core import clock
from membership.models import Organization
from membership.vat_ids import EU_VAT_PREFIXES, vat_id_is_valid_eu

EU_COUNTRIES = frozenset(EU_VAT_PREFIXES)

ZERO = Decimal("0.00")


class TaxRateMissing(ImproperlyConfigured):
    """No VAT rate is in force for a country that needs one: staff add it in the admin."""


@dataclass(frozen=True)
class TaxQuote:
    """What a net amount costs a buyer: the tax, at which rate, why, and the total."""

    net: int
    rate: Decimal
    tax: int
    treatment: str  # a TaxTreatment value
    country: str  # whose VAT applies; "" when none does

    @property
    def gross(self) -> int:
        return self.net + self.tax

    @property
    def note(self) -> str:
        """The legal wording of its treatment, in the active language ("" when none)."""
        return tax_note(self.treatment)

    @property
    def order_fields(self) -> dict:
        """The ``Order`` fields this quote sets, all in one statement."""
        return {
            "amount": self.gross,
            "net_amount": self.net,
            "tax_amount": self.tax,
            "tax_rate": self.rate,
            "tax_treatment": self.treatment,
            "tax_country": self.country,
        }


Rates = dict[str, Decimal]


def tax_rates_in_force(*, on: dt.date | None = None) -> Rates:
    """Every country's rate in force on ``on`` (today), in one query: a batch prices all its
    orders with it."""
    on = on or clock.today()
    rates: Rates = {}
    rows = (
        TaxRate.objects.filter(valid_from__lte=on)
        .order_by("country", "-valid_from")
        .values_list("country", "rate")
    )
    for country, rate in rows:
        rates.setdefault(country, rate)
    return rates


def tax_treatment(*, buyer_country: str, buyer_vat_id: str) -> tuple[str, str]:
    """The rule that applies to a buyer: (``TaxTreatment``, the country whose rate applies)."""
    seller_country = settings.SELLER_COUNTRY
    if buyer_country == seller_country:
        return TaxTreatment.DOMESTIC, seller_country
    if buyer_country in EU_COUNTRIES:
        if vat_id_is_valid_eu(country=buyer_country, vat_id=buyer_vat_id):
            return TaxTreatment.REVERSE_CHARGE, ""
        return TaxTreatment.EU_DESTINATION, buyer_country
    return TaxTreatment.OUTSIDE_EU, ""


def tax_quote(
    *, net: int, buyer_country: str, buyer_vat_id: str, rates: Rates | None = None
) -> TaxQuote:
    """The tax on ``net`` minor units for this buyer, at the rates in force today (or
    ``rates``, from ``tax_rates_in_force``)."""
    treatment, country = tax_treatment(buyer_country=buyer_country, buyer_vat_id=buyer_vat_id)
    if not country:
        return TaxQuote(net=net, rate=ZERO, tax=0, treatment=treatment, country="")
    rates = tax_rates_in_force() if rates is None else rates
    if country not in rates:
        raise TaxRateMissing(
            f"No VAT rate is in force for {country}: add one in the admin (Billing > VAT rates)."
        )
    rate = rates[country]
    return TaxQuote(net=net, rate=rate, tax=tax_on(net, rate), treatment=treatment, country=country)


def organization_tax_quote(
    *, organization: Organization, net: int, rates: Rates | None = None
) -> TaxQuote:
    """``tax_quote`` for an organization as its billing profile stands now."""
    return tax_quote(
        net=net,
        buyer_country=organization.country,
        buyer_vat_id=organization.vat_id,
        rates=rates,
    )


def order_net_amount(order: Order) -> int:
    """The order's net price. An order never priced with tax (opened before invoices had tax,
    when every total was the catalog's net price) has its net price in ``amount``."""
    return order.net_amount if order.tax_treatment else order.amount


def order_tax(order: Order, *, rates: Rates | None = None) -> TaxQuote:
    """What the order costs: as it was charged once a payment started, else what it would
    cost now (the billing profile as it stands, today's rates), which **Purchase** charges.
    ``organization`` must be loaded."""
    if order.status in CLAIMABLE_ORDER_STATUSES or not order.tax_treatment:
        return organization_tax_quote(
            organization=order.organization, net=order_net_amount(order), rates=rates
        )
    return TaxQuote(
        net=order.net_amount,
        rate=order.tax_rate,
        tax=order.tax_amount,
        treatment=order.tax_treatment,
        country=order.tax_country,
    )


def tax_on(net: int, rate: Decimal) -> int:
    """The tax on ``net`` minor units at ``rate`` percent, rounded half up (away from zero)."""
    tax = (Decimal(abs(net)) * rate / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(tax) if net >= 0 else -int(tax)


def tax_split(gross: int, rate: Decimal) -> tuple[int, int]:
    """(net, tax) of an amount that includes tax at ``rate``: a partial refund's credit note
    splits what was paid back the way the invoice split what was paid."""
    net = (Decimal(abs(gross)) * 100 / (100 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    net = int(net) if gross >= 0 else -int(net)
    return net, gross - net


def tax_note(treatment: str) -> str:
    """The wording a document must carry for its treatment, in the active language."""
    if treatment == TaxTreatment.REVERSE_CHARGE:
        return _(
            "Reverse charge — VAT to be accounted for by the recipient "
            "(Article 196, Directive 2006/112/EC)"
        )
    if treatment == TaxTreatment.OUTSIDE_EU:
        return _("Outside the scope of EU VAT")
    return ""
