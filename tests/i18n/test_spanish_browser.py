"""In Chromium: a partner switches to Spanish in the footer and subscribes with the seed's Spanish labels."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.billing.stripe_helpers import CARD_OK, succeeded_charges
from tests.billing.test_subscribe_browser import base_url, enter_card, shot  # noqa: F401
from tests.plugins.people import browser_sign_in


def test_a_partner_subscribes_in_spanish(page: Page, base_url, localstripe, contoso, bob, offer):  # noqa: F811
    browser_sign_in(page, base_url, bob.email)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # The footer's switcher saves the preference on the account.
    page.get_by_label("Language").select_option(label="Español")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Panel")).to_be_visible()

    page.get_by_role("button", name="Asociación").hover()
    page.get_by_role("link", name="Ofertas", exact=True).click()
    expect(page.get_by_role("heading", name="Ofertas disponibles")).to_be_visible()
    expect(page.get_by_role("heading", name="Ofertas adquiridas")).to_be_visible()
    expect(page.get_by_text("475,00\u00a0US$").first).to_be_visible()
    page.get_by_role("link", name="Suscríbete ahora").click()

    expect(page.get_by_role("heading", name="Términos y condiciones")).to_be_visible()
    page.get_by_label(re.compile("Acepto los términos y condiciones")).check()
    page.get_by_role("button", name="Siguiente").click()

    expect(page.get_by_role("heading", name="Datos de pago")).to_be_visible()
    if page.locator("details.add-card[open]").count() == 0:
        page.get_by_text("Agregar una forma de pago", exact=True).click()
    form = page.locator("form[data-card-entry]")
    expect(form.get_by_role("button", name="Siguiente")).to_be_enabled()
    enter_card(page, CARD_OK)
    form.get_by_role("button", name="Siguiente").click()

    expect(page.get_by_role("heading", name="Revisa tu pedido")).to_be_visible()
    expect(page.get_by_test_id("order-price")).to_contain_text("475,00\u00a0US$")
    shot(page, "es-05-review.png")
    page.get_by_role("button", name="Comprar").click()

    expect(page.get_by_role("heading", name="Tu pedido está confirmado.")).to_be_visible()
    page.get_by_role("link", name="Cerrar").click()
    purchased = page.get_by_test_id("purchased-offers")
    expect(purchased).to_contain_text("Suscripción a Microsoft Action Pack")
    expect(purchased).to_contain_text("Activa")

    bob.refresh_from_db()
    assert bob.language == "es"
    contoso.refresh_from_db()
    assert succeeded_charges(localstripe, contoso.stripe_customer_id) == [(47500, "usd")]
