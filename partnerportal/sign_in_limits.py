"""Sign-in lockout with one limit per kind of pressure, on top of django-axes (docs/sign-in.md).

``settings.SIGN_IN_LOCKOUT`` lists (parameters, limit): an account from one address (someone
mistyping, or guessing from one machine), an account from anywhere (a distributed guess), an
address against any account (password spraying). Axes compares a single failure count with a
single limit (``AXES_FAILURE_LIMIT``); this handler scales each parameter's count so that reaching
*its own* limit reads as reaching ``AXES_FAILURE_LIMIT``. A lockout lasts ``AXES_COOLOFF_TIME``.

Two rules keep the lockout from being bypassed or turned on its owner:

- A successful sign-in (password *and* second factor) clears only that account's own failures
  from that address. Axes' ``AXES_RESET_ON_SUCCESS`` would clear every failure of the address,
  so an attacker could interleave sign-ins to their own account and guess forever.
- The account-wide limit does not apply at an address the account passed its second factor from
  before (``SIGN_IN_KNOWN_ADDRESS_DAYS``): failures sprayed from many addresses cannot lock the
  owner out of the office or home they sign in from. The per-account-and-address limit still
  applies there, and the second factor is still asked.

Wrong second-factor codes are failures too (``membership.second_factor``), and a completed
password reset clears the account's failures (``membership.services.sign_in_failures_clear``).
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest

from membership.selectors import sign_in_address_known

# The credential keys an email can come in: allauth's form posts ``login``, its backend call and
# the second-factor failures pass ``email`` or ``username``.
_USERNAME_KEYS = ("email", "login", "username")


def normalized_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """Emails are case-insensitive: ``Alice@…`` and ``alice@…`` count against one account."""
    sources = [credentials] if credentials else []
    sources.append(getattr(request, "POST", {}))
    for source in sources:
        for key in _USERNAME_KEYS:
            value = source.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip().lower()[:254]
    return None


class TieredLockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        base = settings.AXES_FAILURE_LIMIT
        # Same order as AXES_LOCKOUT_PARAMETERS, which is built from SIGN_IN_LOCKOUT.
        attempts_per_parameter = self.get_user_attempts(request, credentials)
        username = normalized_username(request, credentials)
        worst = 0
        for (parameters, limit), attempts in zip(
            settings.SIGN_IN_LOCKOUT, attempts_per_parameter, strict=True
        ):
            if parameters == ("username",) and self._known_address(request, username):
                continue
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            worst = max(worst, failures * base // limit)
        return worst

    def _known_address(self, request: HttpRequest, username: str | None) -> bool:
        address = getattr(request, "axes_ip_address", None)
        if not username or not address:
            return False
        return sign_in_address_known(email=username, ip_address=address)

    def user_logged_in(self, sender, request, user, **kwargs) -> None:
        super().user_logged_in(sender, request, user, **kwargs)
        # Only this account's failures, and only from this address (see the module docstring).
        AccessAttempt.objects.filter(
            username=user.get_username().lower(), ip_address=request.axes_ip_address
        ).delete()
