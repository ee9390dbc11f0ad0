"""Account settings > Organization profile: name, invoice address, VAT ID, contact; Partner ID fixed."""

from __future__ import annotations

import html

import pytest

from membership.models import AuditEvent, Organization

FORM = {
    "name": "Contoso Corporation",
    "address_line1": "2 Microsoft Way",
    "address_line2": "",
    "postal_code": "98052",
    "city": "Redmond",
    "region": "WA",
    "vat_id": "us 12.345.678",
    "invoice_language": "en",
    "contact_email": "Billing@Contoso.example",
    "contact_phone": "+1 425 555 0100",
}


def test_it_shows_the_profile_with_the_partner_id_read_only(login, contoso, alice):
    response = login(alice).get("/account/profile/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "1000001" in page
    assert 'name="partner_id"' not in page


def test_it_saves_the_profile(login, contoso, alice):
    response = login(alice).post(
        "/account/profile/", {**FORM, "partner_id": "9999999"}, follow=True
    )

    assert "Organization profile saved." in response.content.decode()
    contoso.refresh_from_db()
    assert contoso.name == "Contoso Corporation"
    assert contoso.billing_address_lines[0] == "2 Microsoft Way"
    assert contoso.vat_id == "US12345678"
    assert contoso.contact_email == "billing@contoso.example"
    assert contoso.partner_id == "1000001"


def test_a_name_holding_a_web_address_is_refused(login, contoso, alice):
    # Issue 13: the name went into invitation emails from our sender, as a link.
    response = login(alice).post(
        "/account/profile/", {**FORM, "name": "URGENT verify at https://evil.example/login"}
    )

    assert response.status_code == 200
    assert "A name cannot contain a web address or a link" in response.content.decode()
    contoso.refresh_from_db()
    assert contoso.name == "Contoso Ltd"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PROFILE_CHANGED).exists()


def test_it_records_what_changed(login, contoso, alice):
    login(alice).post("/account/profile/", FORM)

    event = AuditEvent.objects.get(action=AuditEvent.Action.PROFILE_CHANGED)
    assert event.actor == alice
    assert event.detail["changed"]["name"] == {
        "before": "Contoso Ltd",
        "after": "Contoso Corporation",
    }
    assert "city" not in event.detail["changed"]  # unchanged fields are not recorded


def test_an_account_admin_may_edit_it(login, contoso, axel):
    assert login(axel).post("/account/profile/", FORM).status_code == 302
    assert Organization.objects.get(pk=contoso.pk).name == "Contoso Corporation"


def test_it_validates_the_contact_email(login, contoso, alice):
    response = login(alice).post("/account/profile/", {**FORM, "contact_email": "nope"})

    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert Organization.objects.get(pk=contoso.pk).name == "Contoso Ltd"


def test_it_requires_the_profile_role(login, contoso, bob, bea, victor):
    for person in (bob, bea, victor):
        assert login(person).post("/account/profile/", FORM).status_code == 403
    assert Organization.objects.get(pk=contoso.pk).name == "Contoso Ltd"


def test_it_changes_only_the_signed_in_organization(login, contoso, fabrikam, alice, charlie):
    # Fabrikam is Spanish: a United States tax id is no VAT ID of Spain.
    login(charlie).post("/account/profile/", {**FORM, "vat_id": "ESA12345674"})

    assert Organization.objects.get(pk=contoso.pk).name == "Contoso Ltd"
    assert Organization.objects.get(pk=fabrikam.pk).name == "Contoso Corporation"


def test_it_saves_a_vat_id_checked_for_the_organizations_country(login, fabrikam, charlie):
    response = login(charlie).post(
        "/account/profile/", {**FORM, "vat_id": "a-1234567-4"}, follow=True
    )

    assert "Organization profile saved." in response.content.decode()
    # Compact, with Spain's prefix: the form it has on invoices.
    assert Organization.objects.get(pk=fabrikam.pk).vat_id == "ESA12345674"


@pytest.mark.parametrize(
    ("vat_id", "message"),
    [
        (
            "ESA12345678",
            "ESA12345678 is not a valid VAT ID for Spain: check its letters and digits.",
        ),
        (
            "IE9876543H",
            "This is a VAT ID of another EU country (IE). Enter the VAT ID of Spain (ES…).",
        ),
    ],
)
def test_a_bad_vat_id_gets_a_clear_message_and_changes_nothing(
    login, fabrikam, charlie, vat_id, message
):
    response = login(charlie).post("/account/profile/", {**FORM, "vat_id": vat_id})

    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    fabrikam.refresh_from_db()
    assert (fabrikam.name, fabrikam.vat_id) == ("Fabrikam SA", "")
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PROFILE_CHANGED).exists()


def test_it_saves_the_invoice_language(login, fabrikam, charlie):
    login(charlie).post("/account/profile/", {**FORM, "vat_id": "", "invoice_language": "es"})

    assert Organization.objects.get(pk=fabrikam.pk).invoice_language == "es"
