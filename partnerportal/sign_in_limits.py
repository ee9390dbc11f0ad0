"""Sign-in lockout with one limit per kind of pressure, on top of django-axes.

``settings.SIGN_IN_LOCKOUT`` lists (parameters, limit): an account from one address (someone
mistyping, or guessing from one machine), an account from anywhere (a distributed guess), an
address against any account (password spraying). Axes compares a single failure count with a
single limit (``AXES_FAILURE_LIMIT``); this handler scales each parameter's count so that reaching
*its own* limit reads as reaching ``AXES_FAILURE_LIMIT``. A lockout lasts ``AXES_COOLOFF_TIME``.
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


def normalized_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """Emails are case-insensitive: ``Alice@…`` and ``alice@…`` count against one account."""
    field = settings.AXES_USERNAME_FORM_FIELD
    source = credentials if credentials is not None else getattr(request, "POST", {})
    value = source.get(field) if source else None
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower()[:254]


class TieredLockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        base = settings.AXES_FAILURE_LIMIT
        limits = [limit for _parameters, limit in settings.SIGN_IN_LOCKOUT]
        # Same order as AXES_LOCKOUT_PARAMETERS, which is built from SIGN_IN_LOCKOUT.
        attempts_per_parameter = self.get_user_attempts(request, credentials)
        worst = 0
        for attempts, limit in zip(attempts_per_parameter, limits, strict=True):
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            worst = max(worst, failures * base // limit)
        return worst
