import uuid

import pytest

# Fixtures live in plugins: services (localstripe, browser, Celery worker) and named people.
pytest_plugins = ["tests.plugins.services", "tests.plugins.people"]


@pytest.fixture(autouse=True)
def _a_cache_of_its_own(settings):
    """Each test gets a cache of its own (a key prefix): rate-limit counters and cached health
    answers in a shared Redis never carry over from one test, or one run, to the next."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        name: {**options, "KEY_PREFIX": prefix} for name, options in settings.CACHES.items()
    }
