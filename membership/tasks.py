"""Account emails, decided and sent by a worker (queued by ``membership.services``).

The request that asks for a password reset or sends an invitation only queues one of these: the
worker finds out whether the address has an account, makes the one-time token and emails it. So
the page answers the same, in the same time, for every address, and the token never passes
through the broker or a log (docs/abuse.md). Each task takes plain values and calls one service.
"""

from __future__ import annotations

import smtplib

from celery import shared_task

from membership import invitations, services

# The mail server refused or could not be reached: tried again up to 8 times, with growing
# (jittered) delays at most 10 minutes apart.
# Each attempt makes a new token, so only the link of the email that arrives works.
_MAIL_RETRY = {
    "autoretry_for": (OSError, smtplib.SMTPException),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "max_retries": 8,
}


@shared_task(name="membership.tasks.password_reset_email_send", **_MAIL_RETRY)
def password_reset_email_send(*, email: str, language: str = "") -> int:
    return services.password_reset_email_send(email=email, language=language)


@shared_task(name="membership.tasks.invitation_email_send", **_MAIL_RETRY)
def invitation_email_send(*, invitation_id: int, language: str = "") -> bool:
    return invitations.invitation_email_send(invitation_id=invitation_id, language=language)
