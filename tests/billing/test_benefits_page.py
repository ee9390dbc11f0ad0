"""Partnership > Benefits: the page and its actions (get keys, activate, assign, reassign, remove)."""

from __future__ import annotations

import datetime as dt

import pytest

from billing.models import SeatAssignment
from billing.services.benefits import benefit_activate, seat_assign
from tests.billing.benefits_setup import grant_of, load_keys
from tests.billing.factories import make_subscription


@pytest.fixture
def subscription(contoso, offer):
    return make_subscription(contoso, offer, benefits=True)


@pytest.fixture
def outsider_subscription(fabrikam, offer):
    return make_subscription(fabrikam, offer, benefits=True)


def _messages(response) -> str:
    return response.content.decode()


# --- the page -----------------------------------------------------------------------------------


def test_it_lists_the_benefits_with_quantities(login, bob, subscription):
    response = login(bob).get("/partnership/benefits/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Windows 10 Enterprise (upgrade) licenses" in page
    assert "0 of 10 keys given out" in page
    assert "0 of 3 assigned" in page  # Visual Studio
    assert "$100.00 a month" in page
    assert "10 of 10 remaining" in page  # support incidents


def test_usage_is_a_labelled_bar_with_its_numbers_written(login, offer, bob, subscription):
    load_keys(offer, 3)
    client = login(bob)
    grant = grant_of(subscription, "windows-enterprise")
    client.post(f"/partnership/benefits/{grant.pk}/get-key/")

    page = client.get("/partnership/benefits/").content.decode()

    # The label names the bar and says the numbers: never a bar alone.
    assert (
        f'<label class="usage-text" for="usage-{grant.pk}" data-testid="usage">'
        "1 of 10 keys given out</label>"
    ) in page
    assert f'<meter class="usage-bar" id="usage-{grant.pk}" min="0" max="10" value="1">' in page
    incidents = grant_of(subscription, "support-incidents")
    assert f'id="usage-{incidents.pk}" min="0" max="10" value="0"' in page
    assert "0 of 10 used" in page
    assert page.count("<meter") == 6  # keys, Visual Studio, three online services, incidents


def test_the_azure_credit_says_which_month_is_current(login, bob, frozen_clock, contoso, offer):
    from core import clock

    clock.set_now(dt.datetime(2027, 1, 31, 9, tzinfo=dt.UTC))
    subscription = make_subscription(contoso, offer, benefits=True)  # bought today
    benefit_activate(grant=grant_of(subscription, "azure-credit"), actor=bob)
    clock.set_now(dt.datetime(2027, 3, 2, 9, tzinfo=dt.UTC))

    page = login(bob).get("/partnership/benefits/").content.decode()

    # Monthly from the 31st: 31 Jan – 27 Feb, 28 Feb – 30 Mar, 31 Mar – …
    assert "Credit month 2 of 12: Feb. 28, 2027 – March 30, 2027." in page
    assert "The credit renews on March 31, 2027." in page


def test_an_azure_credit_not_activated_names_the_month_it_would_cover(login, bob, subscription):
    page = login(bob).get("/partnership/benefits/").content.decode()

    assert "This month's credit (" in page
    assert "is yours once you activate it." in page


def test_without_an_action_pack_it_says_how_to_get_one(login, bob, offer):
    response = login(bob).get("/partnership/benefits/")

    assert response.status_code == 200
    assert b"no active Microsoft Action Pack subscription" in response.content


def test_it_never_shows_another_organizations_benefits(
    login, offer, bob, charlie, outsider_subscription
):
    load_keys(offer, 1)
    login(charlie).post(
        f"/partnership/benefits/{grant_of(outsider_subscription, 'windows-enterprise').pk}/get-key/"
    )

    page = login(bob).get("/partnership/benefits/").content.decode()

    assert "KEY01" not in page
    assert "no active Microsoft Action Pack subscription" in page


@pytest.mark.parametrize("person", ["bea", "axel", "victor"])
def test_it_requires_the_benefits_role(login, request, subscription, person):
    assert login(request.getfixturevalue(person)).get("/partnership/benefits/").status_code == 403


# --- Get keys -----------------------------------------------------------------------------------


def test_get_keys_shows_a_product_key(login, offer, bob, subscription):
    load_keys(offer, 2)
    url = f"/partnership/benefits/{grant_of(subscription, 'windows-enterprise').pk}/get-key/"

    response = login(bob).post(url, follow=True)

    page = _messages(response)
    assert "Your product key: KEY01-AAAAA-BBBBB-CCCCC-DDDDD" in page
    assert "1 of 10 keys given out" in page


def test_get_keys_says_when_the_pool_is_empty(login, bob, subscription, mailoutbox):
    url = f"/partnership/benefits/{grant_of(subscription, 'windows-enterprise').pk}/get-key/"

    response = login(bob).post(url, follow=True)

    assert "No product keys are available right now" in _messages(response)


def test_get_keys_rejects_get(login, offer, bob, subscription):
    load_keys(offer, 1)
    url = f"/partnership/benefits/{grant_of(subscription, 'windows-enterprise').pk}/get-key/"

    assert login(bob).get(url).status_code == 405
    assert grant_of(subscription, "windows-enterprise").used_quantity == 0


def test_get_keys_for_another_organizations_grant_is_not_found(
    login, offer, bob, outsider_subscription
):
    load_keys(offer, 1)
    url = (
        f"/partnership/benefits/{grant_of(outsider_subscription, 'windows-enterprise').pk}/get-key/"
    )

    assert login(bob).post(url).status_code == 404
    assert grant_of(outsider_subscription, "windows-enterprise").used_quantity == 0


def test_get_keys_requires_the_benefits_role(login, offer, bea, subscription):
    load_keys(offer, 1)
    url = f"/partnership/benefits/{grant_of(subscription, 'windows-enterprise').pk}/get-key/"

    assert login(bea).post(url).status_code == 403


# --- Activate -----------------------------------------------------------------------------------


def test_activate_switches_a_service_on(login, bob, subscription):
    url = f"/partnership/benefits/{grant_of(subscription, 'azure-credit').pk}/activate/"

    response = login(bob).post(url, follow=True)

    assert "Activated: Azure credit every month." in _messages(response)
    assert "The credit renews on" in _messages(response)
    assert grant_of(subscription, "azure-credit").activated_by == bob


def test_activate_refuses_a_software_benefit(login, bob, subscription):
    url = f"/partnership/benefits/{grant_of(subscription, 'windows-enterprise').pk}/activate/"

    response = login(bob).post(url, follow=True)

    assert "does not apply" in _messages(response)
    assert grant_of(subscription, "windows-enterprise").activated_at is None


def test_activate_rejects_get(login, bob, subscription):
    url = f"/partnership/benefits/{grant_of(subscription, 'ems').pk}/activate/"

    assert login(bob).get(url).status_code == 405


def test_activate_for_another_organization_is_not_found(login, bob, outsider_subscription):
    url = f"/partnership/benefits/{grant_of(outsider_subscription, 'ems').pk}/activate/"

    assert login(bob).post(url).status_code == 404
    assert grant_of(outsider_subscription, "ems").activated_at is None


def test_activate_requires_the_benefits_role(login, victor, subscription):
    url = f"/partnership/benefits/{grant_of(subscription, 'ems').pk}/activate/"

    assert login(victor).post(url).status_code == 403


# --- Assign, reassign, remove -------------------------------------------------------------------


def test_assign_gives_a_seat_to_a_person(login, bob, subscription):
    office = benefit_activate(grant=grant_of(subscription, "office-365-e3"), actor=bob)

    response = login(bob).post(
        f"/partnership/benefits/{office.pk}/assign/", {"email": "Eve@Contoso.example"}, follow=True
    )

    assert "assigned to eve@contoso.example" in _messages(response)
    assert "1 of 10 assigned" in _messages(response)


def test_assign_needs_the_service_activated_first(login, bob, subscription):
    office = grant_of(subscription, "office-365-e3")

    response = login(bob).post(
        f"/partnership/benefits/{office.pk}/assign/", {"email": "eve@contoso.example"}, follow=True
    )

    assert "Activate this service before assigning seats." in _messages(response)


def test_assign_stops_at_the_quantity(login, bob, subscription):
    ems = benefit_activate(grant=grant_of(subscription, "ems"), actor=bob)
    for number in range(5):
        seat_assign(grant=ems, email=f"person{number}@contoso.example", actor=bob)

    response = login(bob).post(
        f"/partnership/benefits/{ems.pk}/assign/", {"email": "sixth@contoso.example"}, follow=True
    )

    assert "All 5 are assigned" in _messages(response)
    assert SeatAssignment.objects.filter(grant=ems).count() == 5


def test_assign_refuses_the_same_person_twice(login, bob, subscription):
    vs = grant_of(subscription, "visual-studio-pro")
    seat_assign(grant=vs, email="dev@contoso.example", actor=bob)

    response = login(bob).post(
        f"/partnership/benefits/{vs.pk}/assign/", {"email": "dev@contoso.example"}, follow=True
    )

    assert "dev@contoso.example already has one." in _messages(response)


def test_assign_validates_the_email(login, bob, subscription):
    vs = grant_of(subscription, "visual-studio-pro")

    response = login(bob).post(
        f"/partnership/benefits/{vs.pk}/assign/", {"email": "nope"}, follow=True
    )

    assert "Enter a valid email address." in _messages(response)
    assert not SeatAssignment.objects.exists()


def test_assign_rejects_get(login, bob, subscription):
    vs = grant_of(subscription, "visual-studio-pro")

    assert login(bob).get(f"/partnership/benefits/{vs.pk}/assign/").status_code == 405


def test_assign_for_another_organization_is_not_found(login, bob, outsider_subscription):
    vs = grant_of(outsider_subscription, "visual-studio-pro")

    response = login(bob).post(
        f"/partnership/benefits/{vs.pk}/assign/", {"email": "x@contoso.example"}
    )

    assert response.status_code == 404
    assert not SeatAssignment.objects.exists()


def test_assign_requires_the_benefits_role(login, axel, subscription):
    vs = grant_of(subscription, "visual-studio-pro")

    assert (
        login(axel)
        .post(f"/partnership/benefits/{vs.pk}/assign/", {"email": "x@contoso.example"})
        .status_code
        == 403
    )


def test_reassign_moves_a_visual_studio_license(login, bob, subscription):
    seat = seat_assign(
        grant=grant_of(subscription, "visual-studio-pro"), email="dev@contoso.example", actor=bob
    )

    response = login(bob).post(
        f"/partnership/benefits/assignments/{seat.pk}/reassign/",
        {"email": "newdev@contoso.example"},
        follow=True,
    )

    assert "Reassigned from dev@contoso.example to newdev@contoso.example." in _messages(response)
    seat.refresh_from_db()
    assert seat.email == "newdev@contoso.example"


def test_reassign_rejects_get(login, bob, subscription):
    seat = seat_assign(
        grant=grant_of(subscription, "visual-studio-pro"), email="dev@contoso.example", actor=bob
    )

    assert (
        login(bob).get(f"/partnership/benefits/assignments/{seat.pk}/reassign/").status_code == 405
    )


def test_reassign_for_another_organization_is_not_found(login, bob, charlie, outsider_subscription):
    seat = seat_assign(
        grant=grant_of(outsider_subscription, "visual-studio-pro"),
        email="dev@fabrikam.example",
        actor=charlie,
    )

    response = login(bob).post(
        f"/partnership/benefits/assignments/{seat.pk}/reassign/", {"email": "bob@contoso.example"}
    )

    assert response.status_code == 404
    seat.refresh_from_db()
    assert seat.email == "dev@fabrikam.example"


def test_reassign_requires_the_benefits_role(login, bob, bea, subscription):
    seat = seat_assign(
        grant=grant_of(subscription, "visual-studio-pro"), email="dev@contoso.example", actor=bob
    )

    response = login(bea).post(
        f"/partnership/benefits/assignments/{seat.pk}/reassign/", {"email": "bea@contoso.example"}
    )

    assert response.status_code == 403


def test_remove_frees_the_seat(login, bob, subscription):
    seat = seat_assign(
        grant=grant_of(subscription, "visual-studio-pro"), email="dev@contoso.example", actor=bob
    )

    response = login(bob).post(f"/partnership/benefits/assignments/{seat.pk}/remove/", follow=True)

    assert "dev@contoso.example no longer has it." in _messages(response)
    assert "0 of 3 assigned" in _messages(response)


def test_remove_rejects_get(login, bob, subscription):
    seat = seat_assign(
        grant=grant_of(subscription, "visual-studio-pro"), email="dev@contoso.example", actor=bob
    )

    assert login(bob).get(f"/partnership/benefits/assignments/{seat.pk}/remove/").status_code == 405
    assert SeatAssignment.objects.filter(pk=seat.pk).exists()


def test_remove_for_another_organization_is_not_found(login, bob, charlie, outsider_subscription):
    seat = seat_assign(
        grant=grant_of(outsider_subscription, "visual-studio-pro"),
        email="dev@fabrikam.example",
        actor=charlie,
    )

    assert (
        login(bob).post(f"/partnership/benefits/assignments/{seat.pk}/remove/").status_code == 404
    )
    assert SeatAssignment.objects.filter(pk=seat.pk).exists()


def test_remove_requires_the_benefits_role(login, bob, victor, subscription):
    seat = seat_assign(
        grant=grant_of(subscription, "visual-studio-pro"), email="dev@contoso.example", actor=bob
    )

    assert (
        login(victor).post(f"/partnership/benefits/assignments/{seat.pk}/remove/").status_code
        == 403
    )
    assert SeatAssignment.objects.filter(pk=seat.pk).exists()
