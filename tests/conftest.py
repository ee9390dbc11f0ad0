# Fixtures live in plugins: services (localstripe, browser, Celery worker) and named people.
pytest_plugins = ["tests.plugins.services", "tests.plugins.people"]
