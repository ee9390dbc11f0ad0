"""Service requests > Partner Center requests: their own for members, all for a Global admin."""

from __future__ import annotations

from support.services import service_request_partner_close

URL = "/support/requests/"


def test_a_member_sees_the_requests_they_filed(login, bob, bea, contoso, file_request):
    file_request(bob, contoso, title="Bob's invoice question")
    file_request(bea, contoso, title="Bea's payment question")

    page = login(bob).get(URL).content.decode()

    assert "Bob&#x27;s invoice question" in page
    assert "Bea&#x27;s payment question" not in page


def test_a_global_admin_sees_all_of_the_organizations(
    login, alice, bob, bea, contoso, file_request
):
    file_request(bob, contoso, title="Bob's invoice question")
    file_request(bea, contoso, title="Bea's payment question")

    page = login(alice).get(URL).content.decode()

    assert "Bob&#x27;s invoice question" in page
    assert "Bea&#x27;s payment question" in page
    assert "Bob Buyer" in page  # who filed it


def test_another_organizations_requests_never_show(login, alice, charlie, fabrikam, file_request):
    file_request(charlie, fabrikam, title="Fabrikam's question")

    assert "Fabrikam" not in login(alice).get(URL).content.decode()


def test_it_lists_number_title_type_status_and_last_update(login, bob, contoso, file_request):
    service_request = file_request(bob, contoso)

    page = login(bob).get(URL).content.decode()

    assert service_request.number in page
    assert "Technical problem with the portal" in page
    assert "New" in page
    assert f'href="/support/requests/{service_request.pk}/"' in page


def test_it_filters_open_closed_and_all(login, bob, contoso, file_request):
    file_request(bob, contoso, title="Still open")
    closed = file_request(bob, contoso, title="Done already")
    service_request_partner_close(service_request=closed, actor=bob)
    client = login(bob)

    open_page = client.get(URL).content.decode()
    closed_page = client.get(URL, {"status": "closed"}).content.decode()
    all_page = client.get(URL, {"status": "all"}).content.decode()

    assert "Still open" in open_page and "Done already" not in open_page
    assert "Done already" in closed_page and "Still open" not in closed_page
    assert "Still open" in all_page and "Done already" in all_page


def test_a_member_without_a_role_may_look_but_not_file(login, victor):
    response = login(victor).get(URL)

    assert response.status_code == 200
    assert 'href="/support/new/"' not in response.content.decode().split("<main")[1]


def test_it_rejects_post(login, bob):
    assert login(bob).post(URL).status_code == 405


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    assert client.get(URL).url.startswith("/accounts/login/")
