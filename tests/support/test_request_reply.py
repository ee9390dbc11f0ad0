"""Reply to a request: the partner's answer puts the case back in our hands."""

from __future__ import annotations

import pytest
from django.core import mail

from support.models import Message
from support.services import service_request_assign, service_request_set_status
from tests.support.files import EXE, PNG, upload


def url(service_request) -> str:
    return f"/support/requests/{service_request.pk}/reply/"


@pytest.mark.parametrize("status", ["waiting_on_partner", "resolved"])
def test_a_reply_moves_the_case_back_to_in_progress(
    login, bob, contoso, support_agent, file_request, status
):
    service_request = file_request(bob, contoso)
    service_request_set_status(service_request=service_request, status=status, actor=support_agent)

    response = login(bob).post(url(service_request), {"body": "Here is the screenshot."})

    assert response.status_code == 302
    assert response.url == f"/support/requests/{service_request.pk}/"
    service_request.refresh_from_db()
    assert (service_request.status, service_request.resolved_at) == ("in_progress", None)
    message = Message.objects.get()
    assert (message.author, message.is_from_staff, message.is_internal) == (bob, False, False)


def test_a_reply_to_a_new_case_leaves_it_new(login, bob, contoso, file_request):
    service_request = file_request(bob, contoso)

    login(bob).post(url(service_request), {"body": "One more detail."})

    service_request.refresh_from_db()
    assert service_request.status == "new"


def test_the_assignee_is_told(
    login, bob, contoso, support_agent, file_request, django_capture_on_commit_callbacks
):
    service_request = file_request(bob, contoso)
    service_request_assign(
        service_request=service_request, assignee=support_agent, actor=support_agent
    )

    with django_capture_on_commit_callbacks(execute=True):
        login(bob).post(url(service_request), {"body": "Any news?"})

    assert [m.to for m in mail.outbox] == [["agent@partnerportal.example"]]
    assert "Any news?" in mail.outbox[0].body


def test_it_keeps_attachments_on_the_reply(login, bob, contoso, file_request):
    service_request = file_request(bob, contoso)

    login(bob).post(
        url(service_request), {"body": "Attached.", "attachments": [upload("s.png", PNG)]}
    )

    attachment = service_request.attachments.get()
    assert attachment.message == Message.objects.get()


def test_a_refused_file_sends_nothing(login, bob, contoso, file_request):
    service_request = file_request(bob, contoso)

    response = login(bob).post(
        url(service_request), {"body": "Attached.", "attachments": [upload("a.pdf", EXE)]}
    )

    assert response.status_code == 400
    assert "“a.pdf” is not a file type we accept" in response.content.decode()
    assert not Message.objects.exists()


def test_a_closed_request_takes_no_reply(login, bob, contoso, support_agent, file_request):
    service_request = file_request(bob, contoso)
    service_request_set_status(
        service_request=service_request, status="closed", actor=support_agent
    )

    response = login(bob).post(url(service_request), {"body": "Hello?"})

    assert response.status_code == 400
    assert not Message.objects.exists()


def test_a_global_admin_may_reply_on_a_colleagues_request(login, alice, bob, contoso, file_request):
    service_request = file_request(bob, contoso)

    assert login(alice).post(url(service_request), {"body": "Adding context."}).status_code == 302


def test_a_colleague_without_global_admin_gets_404(login, bea, bob, contoso, file_request):
    service_request = file_request(bob, contoso)

    assert login(bea).post(url(service_request), {"body": "x"}).status_code == 404


def test_another_organizations_request_is_404(login, charlie, bob, contoso, file_request):
    service_request = file_request(bob, contoso)

    assert login(charlie).post(url(service_request), {"body": "x"}).status_code == 404
    assert not Message.objects.exists()


def test_a_member_without_a_role_is_refused(login, victor, contoso, file_request):
    service_request = file_request(victor, contoso)  # filed before their role was taken away

    assert login(victor).post(url(service_request), {"body": "x"}).status_code == 403


def test_it_rejects_get(login, bob, contoso, file_request):
    assert login(bob).get(url(file_request(bob, contoso))).status_code == 405
