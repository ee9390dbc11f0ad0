"""The partner closes their own request."""

from __future__ import annotations

from support.models import RequestChange


def url(service_request) -> str:
    return f"/support/requests/{service_request.pk}/close/"


def test_it_closes_the_request(login, bob, contoso, file_request):
    service_request = file_request(bob, contoso)

    client = login(bob)
    response = client.post(url(service_request))

    assert response.status_code == 302
    service_request.refresh_from_db()
    assert service_request.status == "closed"
    assert service_request.closed_at is not None
    change = RequestChange.objects.get(field="status")
    assert (change.actor, change.old_value, change.new_value) == (bob, "new", "closed")
    page = client.get(response.url).content.decode()
    assert f"Request {service_request.number} is closed." in page


def test_another_organizations_request_is_404(login, charlie, bob, contoso, file_request):
    service_request = file_request(bob, contoso)

    assert login(charlie).post(url(service_request)).status_code == 404
    service_request.refresh_from_db()
    assert service_request.status == "new"


def test_a_colleague_without_global_admin_gets_404(login, bea, bob, contoso, file_request):
    assert login(bea).post(url(file_request(bob, contoso))).status_code == 404


def test_a_member_without_a_role_is_refused(login, victor, contoso, file_request):
    assert login(victor).post(url(file_request(victor, contoso))).status_code == 403


def test_it_rejects_get(login, bob, contoso, file_request):
    assert login(bob).get(url(file_request(bob, contoso))).status_code == 405
