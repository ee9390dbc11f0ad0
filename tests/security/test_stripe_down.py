"""With Stripe unreachable, every page still answers (a message, never a server error)."""

from __future__ import annotations

import socket

import pytest

from tests.security.test_boundaries import ROUTES, _request
from tests.security.world import World

PAGES = sorted(name for name, route in ROUTES.items() if route.method == "GET")


@pytest.fixture
def stripe_down(settings) -> None:
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("name", PAGES)
def test_the_page_answers_without_stripe(name: str, world: World, login, stripe_down) -> None:
    response = _request(login(world.alice), ROUTES[name], world)

    assert response.status_code < 500, f"{name}: {response.status_code} while Stripe is down"
