from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The kernel below the apps: the clock, money, emails, log context. It imports no app."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # One log line per Celery task: receivers connect on import. The worker sets Django up
        # too, so this runs there as well.
        from core import celery_signals  # noqa: F401
