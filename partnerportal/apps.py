from __future__ import annotations

from django.apps import AppConfig


class PartnerPortalConfig(AppConfig):
    name = "partnerportal"
    verbose_name = "Partner Portal"

    def ready(self) -> None:
        # Deployment checks of our own settings register on import.
        from partnerportal import checks  # noqa: F401
