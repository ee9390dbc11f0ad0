"""Sending templated emails: subject/text/html trios, in each recipient's language.

Templates live in ``templates/emails/<name>_subject.txt``, ``<name>.txt`` and ``<name>.html``.
Every context gets ``site_url`` for absolute links (``SITE_URL``, never the request's host). Each
app keeps one function per email in its own ``emails.py``, named ``email_<what>``, that takes
plain values, builds the context and calls ``email_send``. Messages are rendered where they are
sent from and leave from a Celery worker after the commit (``core.tasks``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from core.tasks import email_message_send


class Person(Protocol):
    """Who an email can go to by name: a user of the portal (``membership.User``)."""

    email: str
    language: str


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def email_render(name: str, context: dict, *, language: str) -> tuple[str, str, str]:
    context = {"site_url": settings.SITE_URL, **context}
    with translation.override(language):
        subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
        text = render_to_string(f"emails/{name}.txt", context)
        html = render_to_string(f"emails/{name}.html", context)
    return subject, text, html


# A file sent with an email: (file name, content, MIME type).
Attachment = tuple[str, bytes, str]


def email_send(
    name: str,
    *,
    recipients: Iterable[Person | str],
    context: dict,
    attachments: Iterable[Attachment] = (),
    language: str | None = None,
) -> int:
    """Send email ``name`` to each recipient separately, in that person's language.

    A recipient is a person (their saved language; the templates get them as ``recipient``) or a
    bare address. Without a saved language, ``language`` (an invitation: the inviter's), else the
    site default. ``attachments`` go with every message as they are (an invoice's PDF is in the
    invoice's language, whoever reads the email). Each message leaves from a Celery worker after
    the commit (``core.tasks.email_message_send``). Returns how many messages went out.
    """
    attachments = list(attachments)
    fallback = language or settings.LANGUAGE_CODE
    sent = 0
    for recipient in recipients:
        if isinstance(recipient, str):
            address, chosen = recipient, fallback
            personal = {}
        else:
            address, chosen = recipient.email, recipient.language or fallback
            personal = {"recipient": recipient}
        subject, text, html = email_render(name, {**context, **personal}, language=chosen)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [address])
        message.attach_alternative(html, "text/html")
        for filename, content, mimetype in attachments:
            message.attach(filename, content, mimetype)
        email_message_send(message)
        sent += 1
    return sent


def email_send_text(*, subject: str, body: str, to: str) -> None:
    """A plain-text message to staff (an alert), sent the same way as every other email."""
    email_message_send(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [to]))
