"""Support's Celery tasks (scheduled in ``partnerportal/celery.py``); each calls one service."""

from __future__ import annotations

from celery import shared_task

from support.services import service_requests_auto_close as auto_close


@shared_task(name="support.tasks.service_requests_auto_close")
def service_requests_auto_close() -> int:
    """Close resolved cases nobody replied to within ``SUPPORT_AUTO_CLOSE_DAYS``."""
    return auto_close()
