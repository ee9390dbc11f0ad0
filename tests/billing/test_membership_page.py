"""Partnership > Membership: the tier held, competencies, and the three options compared."""

from __future__ import annotations

import datetime as dt

from membership.models import Competency, CompetencyArea, CompetencyLevel
from tests.billing.factories import make_subscription


def _page(client) -> str:
    response = client.get("/partnership/membership/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_network_member_is_offered_the_action_pack(login, offer, bob):
    page = _page(login(bob))

    assert 'data-testid="tier">Network membership<' in page
    assert "Subscribe to Microsoft Action Pack" in page
    assert 'href="/partnership/offers/"' in page
    assert "$475.00 a year" in page


def test_someone_who_may_not_buy_is_told_whom_to_ask(login, offer, victor):
    page = _page(login(victor))

    assert "Ask someone with the Global admin or MPN partner admin role" in page


def test_an_action_pack_holder_sees_it_and_the_next_level(login, contoso, offer, victor):
    make_subscription(contoso, offer, started_on=dt.date(2026, 3, 10), benefits=True)

    page = _page(login(victor))

    assert 'data-testid="tier">Microsoft Action Pack subscription<' in page
    assert "anniversary March 10, 2027" in page
    assert "Earn a Silver competency" in page


def test_competencies_show_area_level_and_anniversary(login, contoso, offer, victor):
    Competency.objects.create(
        organization=contoso,
        area=CompetencyArea.CLOUD_PLATFORM,
        level=CompetencyLevel.SILVER,
        anniversary=dt.date(2026, 9, 1),
    )

    page = _page(login(victor))

    assert 'data-testid="tier">Silver competency<' in page
    assert "Cloud Platform" in page
    assert "Sept. 1, 2026" in page
    assert "Earn a Gold competency" in page
    assert "You hold Silver in: Cloud Platform" in page


def test_the_comparison_names_the_three_options(login, offer, victor):
    page = _page(login(victor))

    comparison = page[page.index('data-testid="comparison"') :]
    for option in (
        "Network membership",
        "Microsoft Action Pack subscription",
        "Microsoft competencies",
    ):
        assert option in comparison
    assert "US$100 every month" in comparison
    assert "Gold: best-in-class capability" in comparison


def test_it_shows_only_the_signed_in_organization(login, fabrikam, offer, victor, charlie):
    Competency.objects.create(
        organization=fabrikam,
        area=CompetencyArea.SECURITY,
        level=CompetencyLevel.GOLD,
        anniversary=dt.date(2026, 9, 1),
    )

    page = _page(login(victor))

    assert "Security" not in page
    assert 'data-testid="tier">Network membership<' in page


def test_it_sends_anonymous_visitors_to_sign_in(client, offer):
    response = client.get("/partnership/membership/")

    assert response.status_code == 302
