from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembershipConfig(AppConfig):
    name = "membership"
    verbose_name = _("Membership")

    def ready(self) -> None:
        # Receivers connect on import: the sign-in audit and the audit of staff's admin changes.
        from membership import admin_audit, signals  # noqa: F401

        admin_audit.register()
