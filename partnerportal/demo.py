"""The demo catalog and organizations (docs/product.md), shared by ``seed_demo`` and the tests."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from membership.models import (
    Competency,
    CompetencyArea,
    CompetencyLevel,
    Organization,
    Role,
    User,
)
from membership.services import membership_add
from offers.models import Benefit, BenefitKind, Offer, OfferPrice, TermsVersion

DEMO_PASSWORD = "partner-demo-2026"
# Every demo account's authenticator-app key (base32), published in the README like the password:
# any authenticator app, or pyotp.TOTP(DEMO_TOTP_SECRET).now(), gives the code.
DEMO_TOTP_SECRET = "PARTNERPORTALDEMOSECRETTOTPCODES"
ACTION_PACK_CODE = "action-pack"

ACTION_PACK_BENEFITS = [
    # code, name, Spanish name, kind, quantity, software?
    (
        "windows-enterprise",
        "Windows 10 Enterprise (upgrade) licenses",
        "Licencias de Windows 10 Enterprise (actualización)",
        BenefitKind.SOFTWARE_LICENSE,
        10,
        True,
    ),
    (
        "visual-studio-pro",
        "Visual Studio Professional licenses",
        "Licencias de Visual Studio Professional",
        BenefitKind.DEVELOPER_LICENSE,
        3,
        True,
    ),
    (
        "vsts-account",
        "Visual Studio Team Services account",
        "Cuenta de Visual Studio Team Services",
        BenefitKind.DEVELOPER_ACCOUNT,
        1,
        False,
    ),
    (
        "office-365-e3",
        "Office 365 (E3) seats",
        "Puestos de Office 365 (E3)",
        BenefitKind.ONLINE_SERVICE,
        10,
        False,
    ),
    (
        "ems",
        "Enterprise Mobility Suite seats",
        "Puestos de Enterprise Mobility Suite",
        BenefitKind.ONLINE_SERVICE,
        5,
        False,
    ),
    (
        "dynamics-crm",
        "Microsoft Dynamics CRM Online Professional seats",
        "Puestos de Microsoft Dynamics CRM Online Professional",
        BenefitKind.ONLINE_SERVICE,
        5,
        False,
    ),
    (
        "azure-credit",
        "Azure credit every month",
        "Crédito de Azure cada mes",
        BenefitKind.AZURE_CREDIT,
        1,
        False,
    ),
    (
        "support-incidents",
        "Technical support incidents a year",
        "Incidentes de soporte técnico al año",
        BenefitKind.SUPPORT_INCIDENTS,
        10,
        False,
    ),
]

TERMS_TEXT = """Microsoft Partner Network — internal-use rights

1. The software licenses, online services and Azure credit included in the Microsoft Action Pack
   subscription are for your organization's internal use only: to build, demonstrate and support
   your solutions, and to run your own business. They may not be resold or used to serve customers.
2. The subscription lasts one year from the purchase date and renews automatically each year on
   that date unless auto-renewal is turned off.
3. Cancellation is handled by Partner Center Support. A full refund is offered within 30 days of
   the charge when no software benefit has been activated.
"""

TERMS_TEXT_ES = """Microsoft Partner Network — derechos de uso interno

1. Las licencias de software, los servicios en línea y el crédito de Azure incluidos en la
   suscripción a Microsoft Action Pack son solo para el uso interno de tu organización: crear,
   demostrar y dar soporte a tus soluciones, y gestionar tu propio negocio. No pueden revenderse
   ni usarse para dar servicio a clientes.
2. La suscripción dura un año desde la fecha de compra y se renueva automáticamente cada año en
   esa fecha, salvo que se desactive la renovación automática.
3. La cancelación la gestiona el Soporte del Centro de partners. Se ofrece el reembolso completo
   en los 30 días siguientes al cargo si no se ha activado ninguna ventaja de software.
"""


@transaction.atomic
def action_pack_offer() -> Offer:
    offer, _created = Offer.objects.update_or_create(
        code=ACTION_PACK_CODE,
        defaults={
            "name": "Microsoft Action Pack subscription",
            "name_es": "Suscripción a Microsoft Action Pack",
            "description": (
                "An affordable yearly subscription to services, software, and support for "
                "businesses that want to grow their Microsoft practice."
            ),
            "description_es": (
                "Una suscripción anual asequible a servicios, software y soporte para empresas "
                "que quieren hacer crecer su práctica de Microsoft."
            ),
            "term_months": 12,
            "one_per_organization": True,
            "is_active": True,
            "position": 1,
        },
    )
    for currency, amount in (("USD", 47500), ("EUR", 44000)):
        OfferPrice.objects.update_or_create(
            offer=offer, currency=currency, defaults={"amount": amount}
        )
    for position, (code, name, name_es, kind, quantity, software) in enumerate(
        ACTION_PACK_BENEFITS
    ):
        defaults = {
            "name": name,
            "name_es": name_es,
            "kind": kind,
            "quantity": quantity,
            "is_software": software,
            "position": position,
        }
        if kind == BenefitKind.AZURE_CREDIT:
            defaults |= {"monthly_amount": 10000, "monthly_currency": "USD"}
        Benefit.objects.update_or_create(offer=offer, code=code, defaults=defaults)
    TermsVersion.objects.get_or_create(
        offer=offer,
        version="2026-01",
        defaults={
            "title": "Internal-use rights granted through the Microsoft Partner Network",
            "body": TERMS_TEXT,
            "body_es": TERMS_TEXT_ES,
            "published_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        },
    )
    return offer


def user_ensure(email: str, *, full_name: str, password: str = DEMO_PASSWORD, **extra) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=password, full_name=full_name, **extra
        )
    return user


@transaction.atomic
def organization_ensure(
    *,
    name: str,
    partner_id: str,
    country: str,
    currency: str,
    people: list[tuple[str, str, set[str]]],
    **fields,
) -> Organization:
    organization, _created = Organization.objects.get_or_create(
        partner_id=partner_id,
        defaults={
            "name": name,
            "country": country,
            "currency": currency,
            "network_member_since": dt.date(2024, 3, 1),
            **fields,
        },
    )
    for email, full_name, roles in people:
        membership_add(
            organization=organization, user=user_ensure(email, full_name=full_name), roles=roles
        )
    return organization


def contoso() -> Organization:
    return organization_ensure(
        name="Contoso Ltd",
        partner_id="1000001",
        country="US",
        currency="USD",
        address_line1="1 Microsoft Way",
        city="Redmond",
        region="WA",
        postal_code="98052",
        contact_email="admin@contoso.example",
        people=[
            ("admin@contoso.example", "Alice Admin", {Role.GLOBAL_ADMIN}),
            ("buyer@contoso.example", "Bob Buyer", {Role.MPN_PARTNER_ADMIN}),
            ("billing@contoso.example", "Bea Billing", {Role.BILLING_ADMIN}),
            ("viewer@contoso.example", "Victor Viewer", set()),
        ],
    )


def fabrikam() -> Organization:
    organization = organization_ensure(
        name="Fabrikam SA",
        partner_id="1000002",
        country="ES",
        currency="EUR",
        address_line1="Calle de Alcalá 1",
        city="Madrid",
        postal_code="28014",
        vat_id="ESA12345674",
        invoice_language="es",
        contact_email="admin@fabrikam.example",
        people=[
            ("admin@fabrikam.example", "Fernanda Admin", {Role.GLOBAL_ADMIN}),
            ("buyer@fabrikam.example", "Pablo Comprador", {Role.MPN_PARTNER_ADMIN}),
        ],
    )
    Competency.objects.get_or_create(
        organization=organization,
        area=CompetencyArea.CLOUD_PLATFORM,
        defaults={"level": CompetencyLevel.SILVER, "anniversary": dt.date(2026, 9, 1)},
    )
    return organization
