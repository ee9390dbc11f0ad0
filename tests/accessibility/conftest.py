from __future__ import annotations

import pytest

# The security walkers' test world (Contoso with every kind of object, Fabrikam outside).
from tests.security.conftest import world  # noqa: F401


@pytest.fixture
def base_url(localstripe, live_server, transactional_db) -> str:
    """The live server, with the portal's Stripe settings pointing at the session's localstripe."""
    return live_server.url
