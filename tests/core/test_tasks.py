"""Every email leaves from a Celery worker, after the commit (core/tasks.py; issue 13).

Most tests run the email tasks in-process at once (``EMAIL_TASKS_EAGER``); these turn that off
and look at the broker and at a real worker delivering to a real (local) mail server.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client

from core.emails import email_send
from core.tasks import email_message_from, email_message_payload
from membership.invitations import invitation_token_hash, user_invite
from membership.models import Invitation, Membership, Role
from partnerportal.celery import app
from tests.core.smtp_sink import smtp_sink
from tests.plugins.services import private_queue, wait_until


@pytest.fixture
def queue(settings) -> Iterator[str]:
    """Tasks go to the broker, on a queue of this test's own (emptied at the end)."""
    settings.EMAIL_TASKS_EAGER = False
    with private_queue() as name:
        try:
            yield name
        finally:
            with app.connection_for_write() as connection:
                connection.default_channel._purge(name)


def queued(name: str) -> int:
    """Messages waiting on queue ``name`` (Redis, or the in-memory broker without Redis)."""
    with app.connection_for_read() as connection:
        return connection.default_channel._size(name)


def _send_one() -> None:
    email_send(
        "membership_second_factor_reset",
        recipients=["dana@contoso.example"],
        context={"by_staff": False, "sign_in_url": "https://portal.example/accounts/login/"},
    )


def test_nothing_is_sent_in_process_and_the_task_is_queued_after_the_commit(
    queue, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        _send_one()
        assert queued(queue) == 0  # not before the commit

    assert mail.outbox == []
    assert len(callbacks) == 1
    callbacks[0]()  # the commit
    assert queued(queue) == 1
    assert mail.outbox == []  # still nothing: the worker sends it


def test_a_rolled_back_transaction_queues_nothing(queue, transactional_db):
    with pytest.raises(RuntimeError), transaction.atomic():
        _send_one()
        raise RuntimeError("the action failed")

    assert queued(queue) == 0
    assert mail.outbox == []


def test_a_message_survives_the_broker_as_it_was(db):
    message = mail.EmailMultiAlternatives("Subject ñ", "Body", "from@x.example", ["to@x.example"])
    message.attach_alternative("<p>Body</p>", "text/html")
    message.attach("invoice.pdf", b"%PDF-1.7\x00\xff", "application/pdf")

    copy = email_message_from(email_message_payload(message))

    assert (copy.subject, copy.body, copy.to) == (message.subject, message.body, message.to)
    assert copy.alternatives == message.alternatives
    assert copy.attachments == message.attachments


def test_a_worker_sends_the_reset_and_the_invitation_to_the_mail_server(
    celery_workers, settings, contoso, alice, charlie
):
    # The whole path: the page queues, a real worker decides, makes the token and sends it to a
    # mail server (a slow one: the pages never wait for it).
    settings.EMAIL_TASKS_EAGER = False
    with smtp_sink(delay=0.3) as sink:
        celery_workers(env_overrides={"EMAIL_URL": f"smtp://127.0.0.1:{sink.port}"})

        reset = Client().post("/accounts/password-reset/", {"email": charlie.email})
        Client().post("/accounts/password-reset/", {"email": "nobody@contoso.example"})
        invitation = user_invite(
            organization=contoso,
            email="dana@contoso.example",
            full_name="Dana",
            roles={Role.BILLING_ADMIN},
            actor=alice,
        )
        wait_until(lambda: len(sink.messages) >= 2, timeout=60, what="two emails at the server")

    assert reset.status_code == 302
    assert mail.outbox == []  # nothing was sent by the web process
    texts = [message.decode(errors="replace") for message in sink.messages]
    assert len(texts) == 2  # the unknown address got nothing
    reset_text = next(text for text in texts if charlie.email in text)
    assert "/accounts/reset/" in reset_text
    invitation_text = next(text for text in texts if "dana@contoso.example" in text)
    token = invitation_text.split("/invitations/", 1)[1].split("/", 1)[0]
    invitation.refresh_from_db()
    assert invitation.token_hash == invitation_token_hash(token)
    assert not Membership.objects.filter(user=invitation.user).exists()
    assert Invitation.objects.count() == 1
