"""Settings for ``bench/offers_page.py``: the portal's own settings, plus one URL for the bench.

Only the bench's gunicorn loads this module (``DJANGO_SETTINGS_MODULE``); the product never
serves ``bench/minimal/``.
"""

from __future__ import annotations

from partnerportal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.offers_page_urls"
# No collectstatic for a throwaway run: the pages link static files by their plain names.
STORAGES = {  # noqa: F405
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
