"""Partnership > Offers: Available offers (price, term, benefits, or why not) and Purchased offers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from billing.models import SubscriptionStatus
from billing.selectors.subscriptions import purchase_blocker, purchase_blockers
from core import clock
from offers.models import Offer, OfferPrice
from tests.billing.factories import make_card, make_subscription

URL = reverse("billing:offers")


@pytest.fixture(autouse=True)
def today():
    with clock.frozen_at(dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)):
        yield


def test_it_shows_the_offer_with_price_term_and_benefits(login, bob, offer):
    response = login(bob).get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Available offers" in page
    assert "Microsoft Action Pack subscription" in page
    assert "$475.00" in page
    assert "1 year" in page
    assert "Windows 10 Enterprise (upgrade) licenses" in page
    assert "Visual Studio Professional licenses" in page
    assert "$100.00 Azure credit every month" in page
    assert "Subscribe now" in page
    assert reverse("billing:subscribe_terms", args=[offer.pk]) in page


def test_it_shows_the_price_in_the_organizations_currency(login, charlie, offer):
    response = login(charlie).get(URL)

    page = response.content.decode()
    assert "€440.00" in page
    assert "$475.00" not in page


@pytest.mark.parametrize("person", ["victor", "bea", "axel"])
def test_it_says_why_people_without_the_purchase_role_cannot_subscribe(
    request, login, offer, person
):
    user = request.getfixturevalue(person)

    response = login(user).get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Only a Global admin or an MPN partner admin" in page
    assert reverse("billing:subscribe_terms", args=[offer.pk]) not in page
    assert "$475.00" in page  # still read-only visible


def test_it_lets_the_global_admin_subscribe(login, alice, offer):
    page = login(alice).get(URL).content.decode()

    assert reverse("billing:subscribe_terms", args=[offer.pk]) in page


def test_it_says_why_an_organization_that_holds_the_offer_cannot_buy_it_again(
    login, bob, contoso, offer
):
    card = make_card(contoso)
    subscription = make_subscription(
        contoso, offer, started_on=dt.date(2026, 3, 10), payment_method=card
    )

    page = login(bob).get(URL).content.decode()

    assert "Your organization already has this subscription." in page
    assert reverse("billing:subscribe_terms", args=[offer.pk]) not in page
    assert "Purchased offers" in page
    assert reverse("billing:subscription", args=[subscription.pk]) in page
    assert "Renews automatically each year on March 10, 2027" in page


def test_it_shows_expires_on_when_auto_renew_is_off(login, bob, contoso, offer):
    make_subscription(contoso, offer, started_on=dt.date(2026, 3, 10), auto_renew=False)

    page = login(bob).get(URL).content.decode()

    assert "Expires on March 10, 2027" in page


def test_it_says_why_a_non_member_cannot_subscribe(login, bob, contoso, offer):
    contoso.network_member_since = None
    contoso.save()

    page = login(bob).get(URL).content.decode()

    assert "You must be a Microsoft Partner Network member" in page
    assert reverse("billing:subscribe_terms", args=[offer.pk]) not in page


def test_it_lists_only_the_organizations_own_purchases(login, bob, fabrikam, offer):
    theirs = make_subscription(fabrikam, offer, started_on=dt.date(2026, 3, 10))

    page = login(bob).get(URL).content.decode()

    assert reverse("billing:subscription", args=[theirs.pk]) not in page
    assert "has not purchased any offer yet" in page


def test_it_rejects_post(login, bob, offer):
    response = login(bob).post(URL)

    assert response.status_code == 405


def test_it_requires_a_membership(login, agent, offer):
    # Staff without an organization have no partner role at all.
    response = login(agent).get(URL)

    assert response.status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(client, offer):
    response = client.get(URL)

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_batch_blockers_agree_with_purchase_blocker(contoso, fabrikam, offer):
    no_euro = Offer.objects.create(code="usd-only", name="USD only", position=2)
    OfferPrice.objects.create(offer=no_euro, currency="USD", amount=1000)
    retired = Offer.objects.create(code="retired", name="Retired", is_active=False, position=3)
    OfferPrice.objects.create(offer=retired, currency="USD", amount=1000)
    make_subscription(fabrikam, offer, started_on=dt.date(2026, 3, 10))
    make_subscription(
        contoso,
        offer,
        started_on=dt.date(2024, 3, 10),
        status=SubscriptionStatus.EXPIRED,
    )
    offers = list(Offer.objects.prefetch_related("prices"))

    for organization in (contoso, fabrikam):
        batch = purchase_blockers(organization=organization, offers=offers)
        assert batch == {o.pk: purchase_blocker(organization=organization, offer=o) for o in offers}
    assert purchase_blockers(organization=fabrikam, offers=offers)[no_euro.pk]


def test_cards_kept_by_the_process_still_show_each_reader_their_own_case(
    settings, login, bob, charlie, victor, contoso, offer
):
    """With the catalog kept (as in production), the rendered cards are kept too: each reader
    still gets the price in their currency, their own buttons, their own reason and language."""
    settings.CATALOG_CACHE_SECONDS = 300
    subscribe = reverse("billing:subscribe_terms", args=[offer.pk])

    first = login(bob).get(URL).content.decode()
    assert "$475.00" in first and subscribe in first

    euros = login(charlie).get(URL).content.decode()
    assert "€440.00" in euros and "$475.00" not in euros

    no_role = login(victor).get(URL).content.decode()
    assert subscribe not in no_role and "$475.00" in no_role

    bob.language = "es"
    bob.save(update_fields=["language"])
    spanish = login(bob).get(URL).content.decode()
    assert "Suscríbete ahora" in spanish

    make_subscription(organization=contoso, offer=offer)
    held = login(bob).get(URL).content.decode()
    assert "ya tiene esta suscripción" in held and subscribe not in held
