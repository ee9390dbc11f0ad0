from __future__ import annotations

import pytest
from django.utils import translation

# The security walkers' test world (Contoso with every kind of object, Fabrikam outside).
from tests.security.conftest import world  # noqa: F401


@pytest.fixture
def base_url(localstripe, live_server, transactional_db) -> str:
    """The live server, with the portal's Stripe settings pointing at the session's localstripe."""
    return live_server.url


@pytest.fixture(autouse=True)
def _language_reset():
    """Views run in the test's thread with the test client and activate the reader's language
    (Spanish here, often); the tests that run next in this thread must find English again."""
    yield
    translation.deactivate()
