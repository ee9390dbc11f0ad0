"""Staff load product keys in the admin ("Load keys" on Billing > Product keys)."""

from __future__ import annotations

from billing.models import ProductKey

URL = "/admin/billing/productkey/load/"


def _windows(offer):
    return offer.benefits.get(code="windows-enterprise")


def test_the_page_shows_how_many_keys_are_left(login, offer, root):
    response = login(root).get(URL)

    assert response.status_code == 200
    assert b"Windows 10 Enterprise (upgrade) licenses" in response.content


def test_it_loads_keys_one_a_line(login, offer, root):
    response = login(root).post(
        URL,
        {"benefit": _windows(offer).pk, "keys": "aaaaa-11111\n\n BBBBB-22222 \naaaaa-11111\n"},
        follow=True,
    )

    assert "2 keys added" in response.content.decode()
    assert sorted(ProductKey.objects.values_list("key", flat=True)) == [
        "AAAAA-11111",
        "BBBBB-22222",
    ]


def test_loading_the_same_list_twice_adds_nothing(login, offer, root):
    client = login(root)
    client.post(URL, {"benefit": _windows(offer).pk, "keys": "AAAAA-11111"})

    response = client.post(URL, {"benefit": _windows(offer).pk, "keys": "AAAAA-11111"}, follow=True)

    assert "0 keys added" in response.content.decode()
    assert ProductKey.objects.count() == 1


def test_only_software_licenses_have_a_pool(login, offer, root):
    office = offer.benefits.get(code="office-365-e3")

    response = login(root).post(URL, {"benefit": office.pk, "keys": "AAAAA-11111"})

    assert response.status_code == 200
    assert not ProductKey.objects.exists()


def test_it_requires_the_permission_to_add_keys(login, offer, agent):
    response = login(agent).post(URL, {"benefit": _windows(offer).pk, "keys": "AAAAA-11111"})

    assert response.status_code == 403
    assert not ProductKey.objects.exists()


def test_partners_are_sent_to_the_admin_sign_in(login, offer, alice):
    response = login(alice).get(URL)

    assert response.status_code == 302
    assert "/admin/login/" in response.url
