"""The step-up: money and people ask for the second factor again after MFA_STEP_UP_MINUTES.

One test per protected action (``PROTECTED``, the views and admin pages of docs/sign-in.md): with
the last check 16 minutes ago, the request goes to the check and changes nothing; with the last
check 14 minutes ago, it goes through. Pages that only look are never asked.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Subscription
from tests.plugins.people import second_factor_checked, totp_code
from tests.security.conftest import database_snapshot, snapshot_difference
from tests.security.url_rules import RULES, ruled_routes
from tests.security.world import World
from tests.support.staff import billing_specialist_create

CHECK = "/account/security/reauthenticate/"

# Purchase and Renew (the payment and review steps and the Purchase button), payment methods
# (add, remove, choose), user management and roles, the organization's billing profile, and
# changing one's own second factors (setting up the first one asks nothing: there is none yet).
PROTECTED = [
    "billing:subscribe_payment",
    "billing:subscribe_review",
    "billing:order_add_card",
    "billing:order_purchase",
    "billing:renew_payment",
    "billing:renew_review",
    "billing:subscription_payment_method",
    "billing:subscription_add_card",
    "billing:payment_method_add",
    "billing:payment_method_make_default",
    "billing:payment_method_remove",
    "membership:user_add",
    "membership:user_edit",
    "membership:user_remove",
    "membership:invitation_resend",
    "membership:invitation_cancel",
    "membership:user_reset_second_factor",
    "membership:profile",
    "mfa_activate_totp",
    "mfa_deactivate_totp",
    "mfa_generate_recovery_codes",
    "mfa_view_recovery_codes",
    "mfa_download_recovery_codes",
    "mfa_add_webauthn",
    "mfa_remove_webauthn",
    "mfa_edit_webauthn",
]
ROUTES = {route.name: route for route in ruled_routes()}


def _alice(world: World, *, minutes_ago: float) -> Client:
    client = Client()
    client.force_login(world.alice)
    second_factor_checked(client, world.alice, minutes_ago=minutes_ago)
    return client


def _request(client: Client, name: str, world: World):
    route = ROUTES[name]
    rule = RULES[name]
    url = reverse(name, kwargs=rule.url_kwargs(world))
    data = rule.form_data(world)
    referer = {"HTTP_REFERER": f"http://testserver{url}"}
    if route.method == "POST":
        return url, client.post(url, data, **referer)
    return url, client.get(url, data)


def _is_the_check(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(CHECK)


def test_every_protected_view_has_the_step_up() -> None:
    missing = [
        name
        for name in PROTECTED
        if not getattr(ROUTES[name].callback, "second_factor_required", False)
    ]

    assert missing == [], f"not behind membership.second_factor.second_factor_required: {missing}"


def test_only_the_protected_views_have_it() -> None:
    extra = sorted(
        name
        for name, route in ROUTES.items()
        if getattr(route.callback, "second_factor_required", False) and name not in PROTECTED
    )

    assert extra == [], f"add them to PROTECTED (and docs/sign-in.md): {extra}"


@pytest.mark.parametrize("name", PROTECTED)
def test_an_old_check_asks_for_the_second_factor_again(name: str, world: World) -> None:
    client = _alice(world, minutes_ago=16)
    RULES[name].url_kwargs(world), RULES[name].form_data(world)  # objects built before the snapshot
    before = database_snapshot()

    url, response = _request(client, name, world)

    assert _is_the_check(response), f"{name}: {response.status_code}"
    # Back to the page itself after the check; a form's action is not replayed: back to its page.
    back_to = url if ROUTES[name].method == "GET" else f"http://testserver{url}"
    (next_url,) = parse_qs(urlsplit(response["Location"]).query)["next"]
    assert next_url.split("?")[0] == back_to
    assert snapshot_difference(before, database_snapshot()) == []


@pytest.mark.parametrize("name", PROTECTED)
def test_a_recent_check_lets_the_action_through(name: str, world: World) -> None:
    client = _alice(world, minutes_ago=14)

    _url, response = _request(client, name, world)

    assert not _is_the_check(response), f"{name} asked again 14 minutes after the check"
    assert response.status_code < 500


def test_looking_is_never_asked_again(world: World) -> None:
    client = _alice(world, minutes_ago=60)

    for path in ("/", "/partnership/offers/", "/billing/orders/", "/account/users/"):
        assert client.get(path).status_code == 200, path


def test_after_the_check_the_page_opens_and_the_window_starts_again(world: World) -> None:
    client = _alice(world, minutes_ago=16)
    page = reverse("billing:payment_method_add")
    response = client.get(page)
    assert response["Location"] == f"{CHECK}?next={page}"

    done = client.post(response["Location"], {"code": totp_code(world.alice)})

    assert done["Location"] == page
    assert client.get(page).status_code == 200


def test_a_post_goes_back_to_its_page_without_acting(world: World) -> None:
    client = _alice(world, minutes_ago=16)
    card = world.card
    page = "http://testserver/billing/payment-methods/"

    response = client.post(
        reverse("billing:payment_method_remove", args=[card.pk]), HTTP_REFERER=page
    )

    assert parse_qs(urlsplit(response["Location"]).query)["next"] == [page]
    card.refresh_from_db()
    assert card.removed_at is None


def test_the_window_is_a_setting(world: World, settings) -> None:
    settings.MFA_STEP_UP_MINUTES = 5
    client = _alice(world, minutes_ago=6)

    assert _is_the_check(client.get(reverse("billing:payment_method_add")))


# --- the admin: cancel and refund, resetting a second factor ---------------------------------------


@pytest.fixture
def specialist(db):
    return billing_specialist_create()


def _staff(user, *, minutes_ago: float) -> Client:
    client = Client()
    client.force_login(user)
    second_factor_checked(client, user, minutes_ago=minutes_ago)
    return client


ADMIN_PAGES = {
    "cancel from the subscription": lambda w: reverse(
        "admin:billing_subscription_cancel", args=[w.subscription.pk]
    ),
    "cancel from the case": lambda w: reverse(
        "admin:support_servicerequest_cancel_subscription", args=[w.service_request.pk]
    ),
    "reset a second factor": lambda w: reverse(
        "admin:membership_user_reset_second_factor", args=[w.bob.pk]
    ),
}


@pytest.fixture
def case_with_subscription(world: World) -> World:
    world.service_request.subscription = world.subscription
    world.service_request.save(update_fields=["subscription"])
    return world


@pytest.mark.parametrize("page", sorted(ADMIN_PAGES))
def test_staff_pages_that_refund_or_reset_ask_again(
    page: str, case_with_subscription: World, specialist
) -> None:
    url = ADMIN_PAGES[page](case_with_subscription)

    stale = _staff(specialist, minutes_ago=16).get(url)
    recent = _staff(specialist, minutes_ago=14).get(url)

    assert stale["Location"] == f"{CHECK}?next={url}"
    assert recent.status_code == 200


def test_the_cancel_action_of_the_list_asks_again_and_cancels_nothing(
    world: World, specialist
) -> None:
    client = _staff(specialist, minutes_ago=16)
    listing = "http://testserver/admin/billing/subscription/"

    response = client.post(
        "/admin/billing/subscription/",
        {
            "action": "subscription_cancel_action",
            "_selected_action": [world.subscription.pk],
            "confirm": "yes",
            "when": "now",
            "refund": "none",
            "reason": "Asked by the partner",
        },
        HTTP_REFERER=listing,
    )

    assert _is_the_check(response)
    assert Subscription.objects.get(pk=world.subscription.pk).status == world.subscription.status
