"""Open a request: the submission, the public timeline, the reply form."""

from __future__ import annotations

from support.services import service_request_set_status, service_request_staff_message
from tests.support.files import PNG, upload


def url(service_request) -> str:
    return f"/support/requests/{service_request.pk}/"


def test_the_requester_sees_public_replies_but_not_internal_notes(
    login, bob, contoso, support_agent, file_request
):
    service_request = file_request(bob, contoso, description="The page is blank.")
    service_request_staff_message(
        service_request=service_request,
        author=support_agent,
        body="Could you send a screenshot?",
        is_internal=False,
    )
    service_request_staff_message(
        service_request=service_request,
        author=support_agent,
        body="Probably the CDN again.",
        is_internal=True,
    )

    page = login(bob).get(url(service_request)).content.decode()

    assert "The page is blank." in page
    assert "Could you send a screenshot?" in page
    assert "Partner Center Support" in page
    assert "Probably the CDN again." not in page
    assert "Status changed from New to In progress" in page
    assert f'action="/support/requests/{service_request.pk}/reply/"' in page


def test_internal_attachments_are_not_listed(login, bob, contoso, support_agent, file_request):
    service_request = file_request(bob, contoso)
    service_request_staff_message(
        service_request=service_request,
        author=support_agent,
        body="Log from our side",
        is_internal=True,
        uploads=[upload("server-log.txt", b"stack trace", "text/plain")],
    )

    assert "server-log.txt" not in login(bob).get(url(service_request)).content.decode()


def test_submission_attachments_are_listed(login, bob, contoso, file_request):
    service_request = file_request(bob, contoso, uploads=[upload("shot.png", PNG)])
    attachment = service_request.attachments.get()

    page = login(bob).get(url(service_request)).content.decode()

    assert f"/support/requests/{service_request.pk}/files/{attachment.pk}/" in page


def test_a_global_admin_opens_a_colleagues_request(login, alice, bob, contoso, file_request):
    service_request = file_request(bob, contoso)

    assert login(alice).get(url(service_request)).status_code == 200


def test_a_colleague_without_global_admin_gets_404(login, bea, bob, contoso, file_request):
    service_request = file_request(bob, contoso)

    assert login(bea).get(url(service_request)).status_code == 404


def test_another_organizations_request_is_404(login, charlie, bob, contoso, file_request):
    service_request = file_request(bob, contoso)

    assert login(charlie).get(url(service_request)).status_code == 404


def test_a_closed_request_has_no_reply_form(login, bob, contoso, support_agent, file_request):
    service_request = file_request(bob, contoso)
    service_request_set_status(
        service_request=service_request, status="closed", actor=support_agent
    )

    page = login(bob).get(url(service_request)).content.decode()

    assert "This request is closed." in page
    assert "/reply/" not in page


def test_it_rejects_post(login, bob, contoso, file_request):
    service_request = file_request(bob, contoso)

    assert login(bob).post(url(service_request)).status_code == 405


def test_a_missing_request_is_404(login, bob):
    assert login(bob).get("/support/requests/999999/").status_code == 404
