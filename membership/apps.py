from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembershipConfig(AppConfig):
    name = "membership"
    verbose_name = _("Membership")

    def ready(self) -> None:
        # Receivers connect on import: the sign-in audit and one log line per Celery task (the
        # worker sets Django up too, so this runs there as well).
        from membership import admin_audit, signals  # noqa: F401
        from partnerportal import celery_signals  # noqa: F401

        admin_audit.register()
