"""Every email, sent to a person whose language is Spanish, is in Spanish.

Each email function is called the way the portal calls it; subject, text and HTML bodies are
checked for our English sentences. Staff alerts go to a bare address, which gets the site's
default language, so they are checked with Spanish as the site default.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import transaction

from billing import emails as billing_emails
from billing.models import Refund
from billing.services.invoices import credit_note_issue
from billing.tax import tax_quote
from core import clock
from membership import emails as membership_emails
from membership.models import Invitation, User
from support import emails as support_emails
from support.models import Message
from tests.i18n.english import english_in, visible_text


@pytest.fixture
def reader(world):
    """Bob, who reads Spanish, receives the billing emails."""
    world.bob.language = "es"
    world.bob.save(update_fields=["language"])
    world.alice.language = "es"
    world.alice.save(update_fields=["language"])
    return world.bob


def _send_billing(world, reader):
    subscription, order = world.subscription, world.paid_order
    subscription.payment_method = world.card
    subscription.save()
    order.failure_code, order.failure_message = "card_declined", "Your card was declined."
    order.next_retry_on = clock.today() + dt.timedelta(days=3)
    recipients = [reader]
    price = world.offer.prices.get(currency="USD")
    billing_emails.email_renewal_upcoming(
        subscription=subscription,
        price=price,
        # With VAT on top, as a buyer in the EU without a VAT id gets it.
        tax=tax_quote(net=price.amount, buyer_country="DE", buyer_vat_id=""),
        recipients=recipients,
    )
    invoice = world.invoice
    order.tax_amount = 9025
    billing_emails.email_purchase_receipt(
        order=order,
        subscription=subscription,
        invoice=invoice,
        attachments=[(invoice.filename, b"%PDF-", "application/pdf")],
        recipients=recipients,
    )
    billing_emails.email_card_expiring(
        subscription=subscription, card_expires_on=dt.date(2027, 1, 31), recipients=recipients
    )
    billing_emails.email_expiry_reminder(
        subscription=subscription, today=clock.today(), recipients=recipients
    )
    billing_emails.email_grace_started(subscription=subscription, recipients=recipients)
    billing_emails.email_grace_ending(
        subscription=subscription, today=clock.today(), recipients=recipients
    )
    billing_emails.email_renewal_receipt(
        order=order, subscription=subscription, invoice=invoice, recipients=recipients
    )
    billing_emails.email_renewal_failed(
        order=order, subscription=subscription, recipients=recipients
    )
    billing_emails.email_subscription_expired(subscription=subscription, recipients=recipients)
    refund = Refund.objects.create(order=order, amount=order.amount, currency=order.currency)
    with transaction.atomic():
        credit_note = credit_note_issue(refund=refund, issued_at=clock.now())
    billing_emails.email_subscription_canceled(
        subscription=subscription,
        at_term_end=False,
        ends_on=clock.today(),
        refund=refund,
        recipients=recipients,
        credit_note=credit_note,
    )


def _send_membership(world):
    world.victor.language = "es"
    world.victor.save(update_fields=["language"])
    newcomer = User.objects.create_user(email="nuevo@contoso.example", language="es")
    for person, roles in ((world.victor, ["billing_admin"]), (newcomer, [])):
        invitation = Invitation.objects.create(
            organization=world.fabrikam,
            user=person,
            roles=roles,
            invited_by=world.alice,
            expires_at=clock.now() + dt.timedelta(days=7),
        )
        # Someone with an account (sign in and accept), and a newcomer (choose a password).
        membership_emails.email_invitation(invitation=invitation, token="a-token")
    membership_emails.email_password_reset(user=world.victor, uid="MQ", token="a-token")
    membership_emails.email_second_factor_reset(user=world.victor, by_staff=False)
    membership_emails.email_second_factor_reset(user=world.victor, by_staff=True)


def _send_support(world, settings):
    service_request = world.service_request
    service_request.contact_email = service_request.requester.email
    service_request.save()
    staff_reply = Message.objects.create(
        request=service_request, author=world.agent, body="Hola", is_from_staff=True
    )
    partner_reply = Message.objects.create(
        request=service_request, author=world.alice, body="Gracias"
    )
    support_emails.email_request_received(service_request=service_request)
    support_emails.email_request_replied(message=staff_reply)
    support_emails.email_request_resolved(service_request=service_request)
    settings.LANGUAGE_CODE = "es"  # staff alerts go to a bare address: the site's language
    support_emails.email_staff_request_filed(service_request=service_request)
    support_emails.email_staff_partner_replied(message=partner_reply)


def test_every_email_goes_out_in_spanish(world, reader, settings):
    mail.outbox = []
    _send_billing(world, reader)
    _send_membership(world)
    _send_support(world, settings)

    assert len(mail.outbox) >= 18, [m.subject for m in mail.outbox]
    leftovers = {}
    for message in mail.outbox:
        html_body = next(body for body, kind in message.alternatives if kind == "text/html")
        text = " ".join([message.subject, message.body, visible_text(html_body)])
        english = english_in(text)
        if english:
            leftovers[message.subject] = english
    assert not leftovers, f"English left in Spanish emails: {leftovers}"


def test_the_same_email_in_english_is_caught(world):
    # Proves the check can fail: Alice reads English, and her receipt is full of our sentences.
    mail.outbox = []
    billing_emails.email_renewal_receipt(
        order=world.paid_order, subscription=world.subscription, recipients=[world.alice]
    )

    assert english_in(mail.outbox[0].subject + " " + mail.outbox[0].body)
