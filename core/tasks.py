"""The kernel's Celery task: every email leaves from here, in a worker, after the commit.

A request never talks to the mail server: what it sends is rendered, then queued once the
request's transaction has committed (``task_queue_after_commit``), and a worker delivers it.
So a page answers in the same time whether or not it sent an email (the password reset, an
invitation: docs/abuse.md), a slow mail server never slows a page, and a failed delivery is tried
again. Inside a task (the billing cycle, the account emails of ``membership.tasks``) an email is
sent right there: that already is a worker.

Tests run these tasks in-process at once (``EMAIL_TASKS_EAGER``, on only in the test settings):
Celery's eager ``apply``, the task's own code, without a broker and without waiting for a commit
that a test's transaction never makes. Tests of the queueing itself turn it off.
"""

from __future__ import annotations

import base64
import logging
import smtplib
from functools import partial
from typing import Any

from celery import Task, current_task, shared_task
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def in_a_task() -> bool:
    """Is this code running inside a Celery task (a worker, or an eager ``apply``)?"""
    return bool(current_task) and getattr(current_task.request, "id", None) is not None


def task_queue_after_commit(task: str, **kwargs: Any) -> None:
    """Queue the task named ``task`` (its dotted path) with ``kwargs`` once the current
    transaction commits (at once outside one).

    By name, so that an app's services can queue its own tasks, which call those services,
    without the two modules importing each other. A broker that cannot be reached is logged, not
    raised: the person's action is committed, and their page must not turn into an error because
    an email could not be queued.
    """
    found: Task = import_string(task)
    if settings.EMAIL_TASKS_EAGER:
        found.apply(kwargs=kwargs, throw=True)
        return
    transaction.on_commit(partial(found.apply_async, kwargs=kwargs), robust=True)


def email_message_payload(message: EmailMessage) -> dict:
    """A rendered message as JSON for the broker (attachments in base64)."""
    alternatives = getattr(message, "alternatives", [])
    return {
        "subject": message.subject,
        "body": message.body,
        "from_email": message.from_email,
        "to": list(message.to),
        "html": next((content for content, kind in alternatives if kind == "text/html"), None),
        "attachments": [
            [name, base64.b64encode(content).decode(), mimetype]
            for name, content, mimetype in message.attachments
        ],
    }


def email_message_from(payload: dict) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        payload["subject"], payload["body"], payload["from_email"], payload["to"]
    )
    if payload.get("html"):
        message.attach_alternative(payload["html"], "text/html")
    for name, content, mimetype in payload.get("attachments", []):
        message.attach(name, base64.b64decode(content), mimetype)
    return message


# The mail server refused or could not be reached: tried again up to 8 times, with growing
# (jittered) delays at most 10 minutes apart.
@shared_task(
    name="core.tasks.email_message_deliver",
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=8,
)
def email_message_deliver(*, message: dict) -> int:
    """Send one rendered message (``email_message_payload``). Returns 1 once sent."""
    return email_message_from(message).send()


def email_message_send(message: EmailMessage) -> None:
    """Send ``message`` from a worker: right here inside a task, else queued after the commit."""
    if in_a_task():
        message.send()
        return
    task_queue_after_commit(
        "core.tasks.email_message_deliver", message=email_message_payload(message)
    )
