"""Support and cancellation emails, in the recipient's language, with plain text unescaped."""

from __future__ import annotations

from django.core import mail

from support import emails
from support.services import service_request_staff_message


def test_the_confirmation_keeps_apostrophes_in_plain_text(bob, contoso, file_request):
    service_request = file_request(bob, contoso, title="Can't manage my profile")

    emails.email_request_received(service_request=service_request)

    assert "Can't manage my profile" in mail.outbox[0].subject
    assert "&#x27;" not in mail.outbox[0].body


def test_the_staff_alert_links_the_case_in_the_admin(bob, contoso, file_request, settings):
    settings.SITE_URL = "https://portal.example"
    service_request = file_request(bob, contoso, severity="A")

    emails.email_staff_request_filed(service_request=service_request)

    message = mail.outbox[0]
    assert message.to == ["support@partnerportal.example"]
    assert message.subject.startswith(f"[A] {service_request.number} from Contoso Ltd")
    assert (
        f"https://portal.example/admin/support/servicerequest/{service_request.pk}/change/"
        in message.body
    )


def test_a_reply_goes_out_in_the_requesters_language(bob, contoso, support_agent, file_request):
    bob.language = "es"
    bob.save()
    service_request = file_request(bob, contoso)
    message = service_request_staff_message(
        service_request=service_request, author=support_agent, body="Hola", is_internal=False
    )

    emails.email_request_replied(message=message)

    html = mail.outbox[0].alternatives[0][0]
    assert "Hola" in mail.outbox[0].body
    assert f"/support/requests/{service_request.pk}/" in html
