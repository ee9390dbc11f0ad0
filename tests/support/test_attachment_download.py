"""Attachments are served only through views that check who is asking, never from MEDIA_URL."""

from __future__ import annotations

from support.services import service_request_staff_message
from tests.support.files import PNG, upload


def url(attachment) -> str:
    return f"/support/requests/{attachment.request_id}/files/{attachment.pk}/"


def admin_url(attachment) -> str:
    return f"/admin/support/servicerequest/{attachment.request_id}/files/{attachment.pk}/"


def filed_with_file(file_request, person, organization):
    service_request = file_request(person, organization, uploads=[upload("shot.png", PNG)])
    return service_request.attachments.get()


def test_the_requester_downloads_it_as_a_file(login, bob, contoso, file_request):
    attachment = filed_with_file(file_request, bob, contoso)

    response = login(bob).get(url(attachment))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="shot.png"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_there_is_no_public_url(bob, contoso, file_request):
    attachment = filed_with_file(file_request, bob, contoso)

    assert "media" not in attachment.file.path.split("/")[-4:]


def test_a_global_admin_may_download_a_colleagues_file(login, alice, bob, contoso, file_request):
    assert login(alice).get(url(filed_with_file(file_request, bob, contoso))).status_code == 200


def test_a_colleague_without_global_admin_gets_404(login, bea, bob, contoso, file_request):
    assert login(bea).get(url(filed_with_file(file_request, bob, contoso))).status_code == 404


def test_another_organization_gets_404(login, charlie, bob, contoso, file_request):
    assert login(charlie).get(url(filed_with_file(file_request, bob, contoso))).status_code == 404


def test_an_internal_notes_file_is_404_for_the_partner(
    login, bob, contoso, support_agent, file_request
):
    service_request = file_request(bob, contoso)
    service_request_staff_message(
        service_request=service_request,
        author=support_agent,
        body="Our log",
        is_internal=True,
        uploads=[upload("log.txt", b"internal details", "text/plain")],
    )

    assert login(bob).get(url(service_request.attachments.get())).status_code == 404


def test_staff_download_it_from_the_admin(login, support_agent, bob, contoso, file_request):
    response = login(support_agent).get(admin_url(filed_with_file(file_request, bob, contoso)))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG


def test_partners_cannot_use_the_admin_door(login, bob, contoso, file_request):
    response = login(bob).get(admin_url(filed_with_file(file_request, bob, contoso)))

    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_staff_without_case_permissions_are_refused(login, agent, bob, contoso, file_request):
    # ``agent`` is staff but in no group: no view permission on cases.
    assert (
        login(agent).get(admin_url(filed_with_file(file_request, bob, contoso))).status_code == 403
    )


def test_it_rejects_post(login, bob, contoso, file_request):
    assert login(bob).post(url(filed_with_file(file_request, bob, contoso))).status_code == 405
