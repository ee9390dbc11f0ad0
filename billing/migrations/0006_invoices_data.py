"""Issue 14's data: the EU standard VAT rates, the invoices (and credit notes) of the orders paid
before invoices were records, and the staff groups' permissions on them.

- **Rates**: each member state's standard rate with the day it took effect, as known when this
  was written (December 2026); staff keep them up to date in the admin (Billing > VAT rates).
- **Orders**: an order's total was its net catalog price with no tax. Open orders keep that
  net price (``net_amount``) and get their tax when they are next priced (before any charge).
  Paid orders were charged that price with nothing on top: the price is taken to include the
  VAT the rules ask for (as the EU Court of Justice reads a price agreed without mention of
  VAT, C-249/12), and their invoice splits it into net and tax.
- **Invoices**: one per paid (or since refunded) order, numbered in the new series in the order
  they were paid, each year from 1; the buyer as its organization's profile stands now (the
  old pages showed the current profile too), the seller from settings. Their old numbers
  (``INV-<year>-<order id>``) had gaps and were not legal numbers; the order's
  ``invoice_number`` takes the new one. A refund made before gets its credit note.

Written with the historical models and its own small copy of the rules, so that it keeps
working whatever the services become.
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import migrations
from django.db.models import F
from django.utils import translation

# (country, rate, in force since).
EU_STANDARD_RATES = [
    ("AT", "20.00", dt.date(1984, 1, 1)),
    ("BE", "21.00", dt.date(1996, 1, 1)),
    ("BG", "20.00", dt.date(1999, 1, 1)),
    ("HR", "25.00", dt.date(2012, 3, 1)),
    ("CY", "19.00", dt.date(2014, 1, 13)),
    ("CZ", "21.00", dt.date(2013, 1, 1)),
    ("DK", "25.00", dt.date(1992, 1, 1)),
    ("EE", "22.00", dt.date(2024, 1, 1)),
    ("EE", "24.00", dt.date(2025, 7, 1)),
    ("FI", "25.50", dt.date(2024, 9, 1)),
    ("FR", "20.00", dt.date(2014, 1, 1)),
    ("DE", "19.00", dt.date(2021, 1, 1)),
    ("GR", "24.00", dt.date(2016, 6, 1)),
    ("HU", "27.00", dt.date(2012, 1, 1)),
    ("IE", "23.00", dt.date(2021, 3, 1)),
    ("IT", "22.00", dt.date(2013, 10, 1)),
    ("LV", "21.00", dt.date(2012, 7, 1)),
    ("LT", "21.00", dt.date(2009, 9, 1)),
    ("LU", "17.00", dt.date(2024, 1, 1)),
    ("MT", "18.00", dt.date(2004, 1, 1)),
    ("NL", "21.00", dt.date(2012, 10, 1)),
    ("PL", "23.00", dt.date(2011, 1, 1)),
    ("PT", "23.00", dt.date(2011, 1, 1)),
    ("RO", "19.00", dt.date(2017, 1, 1)),
    ("RO", "21.00", dt.date(2025, 8, 1)),
    ("SK", "23.00", dt.date(2025, 1, 1)),
    ("SI", "22.00", dt.date(2013, 7, 1)),
    ("ES", "21.00", dt.date(2012, 9, 1)),
    ("SE", "25.00", dt.date(1990, 7, 1)),
]

STAFF_PERMISSIONS = {
    "Support agent": ["view_invoice", "view_invoiceline", "view_invoicetaxline"],
    "Billing specialist": [
        "view_invoice",
        "view_invoiceline",
        "view_invoicetaxline",
        "view_taxrate",
        "add_taxrate",
        "change_taxrate",
    ],
}


def rates_seed(apps, schema_editor):
    TaxRate = apps.get_model("billing", "TaxRate")
    TaxRate.objects.bulk_create(
        [
            TaxRate(country=country, rate=Decimal(rate), valid_from=valid_from)
            for country, rate, valid_from in EU_STANDARD_RATES
        ],
        ignore_conflicts=True,
    )


def _rate_on(rates, country, day):
    found = [rate for code, rate, since in rates if code == country and since <= day]
    return found[-1] if found else None


def _treatment(organization, rates, day):
    """(treatment, country, rate): billing.tax's rules, as they were written here."""
    from membership.vat_ids import EU_VAT_PREFIXES, vat_id_is_valid_eu

    seller = settings.SELLER_COUNTRY
    country = organization.country
    if country == seller:
        return "domestic", seller, _rate_on(rates, seller, day)
    if country in EU_VAT_PREFIXES:
        if vat_id_is_valid_eu(country=country, vat_id=organization.vat_id):
            return "reverse_charge", "", Decimal("0.00")
        return "eu_destination", country, _rate_on(rates, country, day)
    return "outside_eu", "", Decimal("0.00")


def _split(gross, rate):
    net = (Decimal(abs(gross)) * 100 / (100 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    net = int(net) if gross >= 0 else -int(net)
    return net, gross - net


def _address(organization, language):
    from membership.models import Country

    city = " ".join(p for p in (organization.postal_code, organization.city) if p)
    parts = [organization.address_line1, organization.address_line2, city, organization.region]
    with translation.override(language):
        country = str(Country(organization.country).label)
    return "\n".join([p for p in parts if p] + [country])


def _texts(order, language):
    with translation.override(language):
        name = (order.offer.name_es if language == "es" and order.offer.name_es else "") or (
            order.offer.name
        )
        if order.kind == "renewal":
            detail = translation.gettext("Renewal, term %(number)s") % {
                "number": order.term_number
            }
        else:
            detail = translation.gettext("Subscription purchase")
        reverse_charge = translation.gettext(
            "Reverse charge — VAT to be accounted for by the recipient "
            "(Article 196, Directive 2006/112/EC)"
        )
        outside = translation.gettext("Outside the scope of EU VAT")
        refund = translation.gettext("Refund of invoice %(number)s")
    return name, detail, {"reverse_charge": reverse_charge, "outside_eu": outside}, refund


def _term(order):
    if order.term_start and order.term_end:
        return order.term_start, order.term_end
    return None, None


def invoices_issue(apps, schema_editor):
    Order = apps.get_model("billing", "Order")
    Invoice = apps.get_model("billing", "Invoice")
    InvoiceLine = apps.get_model("billing", "InvoiceLine")
    InvoiceTaxLine = apps.get_model("billing", "InvoiceTaxLine")
    InvoiceSeries = apps.get_model("billing", "InvoiceSeries")
    Refund = apps.get_model("billing", "Refund")

    # Open and unpaid orders: their total was their net price.
    Order.objects.filter(tax_treatment="").update(net_amount=F("amount"))
    # The old numbers go first: a new number may be an old one of another order.
    Order.objects.filter(invoice_number__isnull=False).update(invoice_number=None)

    rates = [
        (country, Decimal(rate), since)
        for country, rate, since in sorted(EU_STANDARD_RATES, key=lambda row: row[2])
    ]
    paid = (
        Order.objects.filter(status__in=["paid", "refunded"], paid_at__isnull=False)
        .select_related("organization", "offer")
        .order_by("paid_at", "pk")
    )
    seller = {
        "seller_name": settings.SELLER_NAME,
        "seller_address": "\n".join(
            line.strip() for line in settings.SELLER_ADDRESS.splitlines() if line.strip()
        ),
        "seller_country": settings.SELLER_COUNTRY,
        "seller_vat_id": settings.SELLER_VAT_ID,
    }
    counters: dict[tuple[str, int], int] = {}

    def number(kind, year):
        counters[(kind, year)] = counters.get((kind, year), 0) + 1
        prefix = "INV" if kind == "invoice" else "CN"
        return counters[(kind, year)], f"{prefix}-{year}-{counters[(kind, year)]:06d}"

    issued = {}
    for order in paid:
        organization = order.organization
        language = organization.invoice_language
        treatment, country, rate = _treatment(organization, rates, order.paid_at.date())
        if rate is None:  # no rate known for that day: the sale is recorded as it was charged
            treatment, country, rate = "outside_eu", "", Decimal("0.00")
        net, tax = _split(order.amount, rate)
        name, detail, notes, _refund = _texts(order, language)
        year = order.paid_at.year
        sequence, document_number = number("invoice", year)
        invoice = Invoice.objects.create(
            kind="invoice",
            number=document_number,
            year=year,
            sequence=sequence,
            order=order,
            organization=organization,
            issued_at=order.paid_at,
            language=language,
            **seller,
            buyer_name=organization.name,
            buyer_address=_address(organization, language),
            buyer_country=organization.country,
            buyer_vat_id=organization.vat_id,
            buyer_partner_id=organization.partner_id,
            currency=order.currency,
            net_amount=net,
            tax_amount=tax,
            total_amount=order.amount,
            tax_treatment=treatment,
            tax_note=notes.get(treatment, ""),
            card_brand=order.card_brand,
            card_last4=order.card_last4,
            paid_at=order.paid_at,
        )
        term_start, term_end = _term(order)
        InvoiceLine.objects.create(
            invoice=invoice,
            description=name,
            detail=detail,
            term_start=term_start,
            term_end=term_end,
            net_amount=net,
            tax_rate=rate,
        )
        InvoiceTaxLine.objects.create(
            invoice=invoice, rate=rate, taxable_amount=net, tax_amount=tax
        )
        Order.objects.filter(pk=order.pk).update(
            invoice_number=document_number,
            net_amount=net,
            tax_amount=tax,
            tax_rate=rate,
            tax_treatment=treatment,
            tax_country=country,
        )
        issued[order.pk] = (invoice, rate, notes, detail, term_start, term_end, name)

    refunds = Refund.objects.filter(order_id__in=issued).exclude(stripe_refund_id="")
    for refund in refunds.order_by("created_at", "pk"):
        invoice, rate, notes, _detail, term_start, term_end, name = issued[refund.order_id]
        if refund.amount >= invoice.total_amount:
            net, tax = invoice.net_amount, invoice.tax_amount
        else:
            net, tax = _split(refund.amount, rate)
        language = invoice.language
        refund_detail = _texts(invoice.order, language)[3] % {"number": invoice.number}
        year = refund.created_at.year
        sequence, document_number = number("credit_note", year)
        credit_note = Invoice.objects.create(
            kind="credit_note",
            number=document_number,
            year=year,
            sequence=sequence,
            order_id=refund.order_id,
            organization_id=invoice.organization_id,
            credited_invoice=invoice,
            refund=refund,
            issued_at=refund.created_at,
            language=language,
            **seller,
            buyer_name=invoice.buyer_name,
            buyer_address=invoice.buyer_address,
            buyer_country=invoice.buyer_country,
            buyer_vat_id=invoice.buyer_vat_id,
            buyer_partner_id=invoice.buyer_partner_id,
            currency=invoice.currency,
            net_amount=-net,
            tax_amount=-tax,
            total_amount=-(net + tax),
            tax_treatment=invoice.tax_treatment,
            tax_note=invoice.tax_note,
            card_brand=invoice.card_brand,
            card_last4=invoice.card_last4,
            paid_at=refund.created_at,
        )
        InvoiceLine.objects.create(
            invoice=credit_note,
            description=name,
            detail=refund_detail,
            term_start=term_start,
            term_end=term_end,
            net_amount=-net,
            tax_rate=rate,
        )
        InvoiceTaxLine.objects.create(
            invoice=credit_note, rate=rate, taxable_amount=-net, tax_amount=-tax
        )

    InvoiceSeries.objects.bulk_create(
        [
            InvoiceSeries(kind=kind, year=year, last_number=last)
            for (kind, year), last in counters.items()
        ]
    )


def invoices_remove(apps, schema_editor):
    for model in ("InvoiceTaxLine", "InvoiceLine", "InvoiceSeries"):
        apps.get_model("billing", model).objects.all().delete()
    Invoice = apps.get_model("billing", "Invoice")
    Invoice.objects.filter(kind="credit_note").delete()
    Invoice.objects.all().delete()


def staff_permissions_add(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in STAFF_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="billing", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_invoices"),
        ("membership", "0005_billing_profile"),
        ("offers", "0001_initial"),
        ("support", "0003_staff_groups"),
    ]

    operations = [
        migrations.RunPython(rates_seed, migrations.RunPython.noop),
        migrations.RunPython(invoices_issue, invoices_remove),
        migrations.RunPython(staff_permissions_add, migrations.RunPython.noop),
    ]
