"""Demo support content for ``seed_demo``: recommended-solution articles, canned replies, and
requests in every status with staff replies.

All are idempotent: articles are keyed by (issue type, position), canned replies by title, and
running them again updates the text in place; requests are keyed by (organization, title) and
made once, through the services partners and staff use, with the clock moved to when each step
happened.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from core import clock
from membership.models import Organization, User
from support.models import (
    CannedReply,
    IssueType,
    RecommendedSolution,
    RequestStatus,
    ServiceRequest,
    Severity,
)
from support.services import (
    service_request_create,
    service_request_set_status,
    service_request_staff_message,
)

# issue type → [(title, body, Spanish title, Spanish body)]
ARTICLES: dict[str, list[tuple[str, str, str, str]]] = {
    IssueType.INVOICE_PAYMENT: [
        (
            "Download an invoice",
            "Go to Billing > Order history and select Download invoice next to the order. "
            "Invoices show your organization's billing address and VAT ID as they were when "
            "you paid.",
            "Descargar una factura",
            "Ve a Facturación > Historial de pedidos y selecciona Descargar factura junto al "
            "pedido. La factura muestra la dirección de facturación y el NIF de tu organización "
            "tal como eran al pagar.",
        ),
        (
            "A renewal payment failed",
            "Your benefits keep working for 30 days after the anniversary. Add or update a card "
            "under Billing > Payment methods, then select Renew subscription on the purchased "
            "offer.",
            "Ha fallado el pago de una renovación",
            "Tus ventajas siguen funcionando 30 días después del aniversario. Añade o actualiza "
            "una tarjeta en Facturación > Formas de pago y selecciona Renovar suscripción en la "
            "oferta adquirida.",
        ),
        (
            "Cancel your Action Pack subscription",
            "Cancellation is done by Partner Center Support. Submit this request with the "
            "subscription selected. A full refund is offered within 30 days of the charge when "
            "no software benefit has been activated.",
            "Cancelar tu suscripción a Action Pack",
            "La cancelación la hace el Soporte del Centro de partners. Envía esta solicitud con "
            "la suscripción seleccionada. Se ofrece el reembolso completo en los 30 días "
            "siguientes al cargo si no se ha activado ninguna ventaja de software.",
        ),
    ],
    IssueType.MEMBERSHIP_OFFERS: [
        (
            "Activate your Action Pack benefits",
            "Go to Partnership > Benefits and select Activate next to each benefit. Software "
            "licenses give you product keys; online services are assigned to people by email.",
            "Activar las ventajas de Action Pack",
            "Ve a Asociación > Ventajas y selecciona Activar junto a cada ventaja. Las licencias "
            "de software te dan claves de producto; los servicios en línea se asignan a personas "
            "por correo electrónico.",
        ),
        (
            "Turn off automatic renewal",
            "Open Partnership > Offers > Purchased offers and select Turn off auto-renew. It "
            "cannot be turned back on until you renew the subscription again.",
            "Desactivar la renovación automática",
            "Abre Asociación > Ofertas > Ofertas adquiridas y selecciona Desactivar renovación "
            "automática. No podrás volver a activarla hasta que renueves la suscripción.",
        ),
    ],
    IssueType.PROFILE: [
        (
            "Update your organization profile",
            "A Global admin or an Account admin can change the address, contact details and VAT "
            "ID under Account settings > Organization profile.",
            "Actualizar el perfil de la organización",
            "Un administrador global o un administrador de cuenta puede cambiar la dirección, "
            "los datos de contacto y el NIF en Configuración de la cuenta > Perfil de la "
            "organización.",
        ),
    ],
    IssueType.USERS_PERMISSIONS: [
        (
            "Add users and assign permissions",
            "A Global admin adds people and gives them roles under Account settings > User "
            "management. A person may hold several roles.",
            "Agregar usuarios y asignarles permisos",
            "Un administrador global agrega personas y les asigna roles en Configuración de la "
            "cuenta > Administración de usuarios. Una persona puede tener varios roles.",
        ),
        (
            "Why can't I see a page?",
            "Without a role you can sign in and view the dashboard, offers and membership. Ask "
            "a Global admin of your organization for the role you need.",
            "¿Por qué no veo una página?",
            "Sin un rol puedes iniciar sesión y ver el panel, las ofertas y la membresía. Pide "
            "el rol que necesitas a un administrador global de tu organización.",
        ),
    ],
    IssueType.PRODUCT_SUPPORT: [
        (
            "Before you use a support incident",
            "Each request of this type uses one of the technical support incidents of your "
            "Action Pack (10 each term). Check the product's documentation and its activation "
            "status first, and have the product's version, the exact error message and the "
            "steps that lead to it at hand: one incident then covers the whole problem.",
            "Antes de usar un incidente de soporte",
            "Cada solicitud de este tipo usa uno de los incidentes de soporte técnico de tu "
            "Action Pack (10 por plazo). Consulta antes la documentación del producto y su "
            "estado de activación, y ten a mano la versión del producto, el mensaje de error "
            "exacto y los pasos que llevan a él: así un incidente cubre todo el problema.",
        ),
    ],
    IssueType.TECHNICAL: [
        (
            "The portal doesn't load or looks wrong",
            "Reload the page, then try a private window to rule out an extension. If it still "
            "fails, tell us the page's address, the time, and attach a screenshot.",
            "El portal no carga o se ve mal",
            "Recarga la página y prueba en una ventana privada para descartar una extensión. Si "
            "sigue fallando, dinos la dirección de la página y la hora, y adjunta una captura.",
        ),
    ],
    IssueType.OTHER: [
        (
            "Before you write to us",
            "Most questions about membership, offers, invoices and users are answered by the "
            "articles of the other issue types. Pick the closest one to see them.",
            "Antes de escribirnos",
            "Los artículos de los demás tipos de problema responden a la mayoría de las "
            "preguntas sobre membresía, ofertas, facturas y usuarios. Elige el más parecido.",
        ),
    ],
}

CANNED_REPLIES: list[tuple[str, str]] = [
    (
        "Cancellation confirmed",
        "We have canceled your subscription as requested. You will receive a confirmation email "
        "with the details of any refund. Your organization keeps its Network membership.",
    ),
    (
        "Need more information",
        "Thank you for contacting Partner Center Support. To look into this, could you tell us "
        "the page's address, the time it happened, and attach a screenshot?",
    ),
    (
        "Resolved — reply to reopen",
        "We believe this is now solved. If anything is still wrong, reply to this request "
        "within 7 days and we'll pick it up again.",
    ),
]


@transaction.atomic
def support_demo_articles() -> int:
    """Recommended solutions for every issue type; returns how many there are."""
    count = 0
    for issue_type, articles in ARTICLES.items():
        for position, (title, body, title_es, body_es) in enumerate(articles):
            RecommendedSolution.objects.update_or_create(
                issue_type=issue_type,
                position=position,
                defaults={"title": title, "body": body, "title_es": title_es, "body_es": body_es},
            )
            count += 1
    return count


@transaction.atomic
def support_demo_canned_replies() -> int:
    for title, body in CANNED_REPLIES:
        CannedReply.objects.update_or_create(title=title, defaults={"body": body})
    return len(CANNED_REPLIES)


# (title, issue type, severity, description, staff reply or "", status it ends in, days ago)
REQUESTS: list[tuple[str, str, str, str, str, str, int]] = [
    (
        "Where do I change our billing address?",
        IssueType.PROFILE,
        Severity.C,
        "Our office moved. Which page changes the address printed on our invoices?",
        "",
        RequestStatus.NEW,
        0,
    ),
    (
        "The Offers page is blank in our browser",
        IssueType.TECHNICAL,
        Severity.B,
        "Since this morning Partnership > Offers shows an empty page for two of us.",
        "Thank you: we are looking into it. Does it also happen in a private window?",
        RequestStatus.IN_PROGRESS,
        1,
    ),
    (
        "A teammate cannot see the invoices",
        IssueType.USERS_PERMISSIONS,
        Severity.C,
        "Victor gets a message when he opens Billing > Invoices.",
        "Invoices need the Billing admin or MPN partner admin role. Could you tell us which "
        "roles Victor holds under Account settings > User management?",
        RequestStatus.WAITING_ON_PARTNER,
        3,
    ),
    (
        "Question about the Azure credit",
        IssueType.MEMBERSHIP_OFFERS,
        Severity.C,
        "Does the monthly Azure credit carry over when we do not use it?",
        "It does not: each month's US$100 of credit is for that month. This request is "
        "resolved; reply within 7 days if anything is still unclear.",
        RequestStatus.RESOLVED,
        2,
    ),
    (
        "Order confirmation email not received",
        IssueType.INVOICE_PAYMENT,
        Severity.B,
        "We paid, but nobody here got the confirmation email.",
        "The receipt went to the people who may buy; we have sent it again to your contact "
        "address. Closing this request.",
        RequestStatus.CLOSED,
        12,
    ),
]


def _at(days_ago: int, hour: int) -> dt.datetime:
    day = clock.today() - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def support_demo_requests(*, organization: Organization, requester: User, agent: User) -> int:
    """One request of ``organization`` in each status, with the agent's reply; how many exist."""
    for title, issue_type, severity, description, reply, status, days_ago in REQUESTS:
        if ServiceRequest.objects.filter(organization=organization, title=title).exists():
            continue
        with clock.frozen_at(_at(days_ago, hour=9)):
            service_request = service_request_create(
                organization=organization,
                requester=requester,
                issue_type=issue_type,
                title=title,
                description=description,
                severity=severity,
                contact_email=requester.email,
            )
        if reply:
            with clock.frozen_at(_at(days_ago, hour=11)):
                service_request_staff_message(
                    service_request=service_request, author=agent, body=reply, is_internal=False
                )
        if status not in (RequestStatus.NEW, RequestStatus.IN_PROGRESS):
            with clock.frozen_at(_at(days_ago, hour=12)):
                if status == RequestStatus.CLOSED:
                    service_request_set_status(
                        service_request=service_request,
                        status=RequestStatus.RESOLVED,
                        actor=agent,
                    )
                service_request_set_status(
                    service_request=service_request, status=status, actor=agent
                )
    return ServiceRequest.objects.filter(organization=organization).count()
