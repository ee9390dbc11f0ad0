"""The audit trail of signing in and out (who, when, from which address).

Connected in ``MembershipConfig.ready``. Other audited actions (roles, purchases, renewals,
auto-renew, cancellations, refunds) are recorded by the services that perform them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from core.middleware import client_ip
from membership.models import AuditEvent, User
from membership.services import audit_record

_LABEL_MAX = 200


def _address(request: HttpRequest | None) -> str | None:
    return client_ip(request) if request is not None else None


def _browser(request: HttpRequest | None) -> dict[str, str]:
    agent = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
    return {"user_agent": agent[:200]} if agent else {}


@receiver(user_logged_in, dispatch_uid="membership.audit_sign_in")
def audit_sign_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    audit_record(
        action=AuditEvent.Action.SIGN_IN,
        actor=user,
        target=user.email,
        detail=_browser(request),
        ip_address=_address(request),
    )


@receiver(user_login_failed, dispatch_uid="membership.audit_sign_in_failed")
def audit_sign_in_failed(
    sender: Any, credentials: dict, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django has already replaced the password in ``credentials``; only the email is kept.
    attempted = str(credentials.get("username") or credentials.get("email") or "")[:_LABEL_MAX]
    account = User.objects.filter(email__iexact=attempted).first() if attempted else None
    detail = _browser(request)
    if getattr(request, "axes_locked_out", False):
        detail["locked_out"] = True
    audit_record(
        action=AuditEvent.Action.SIGN_IN_FAILED,
        actor=account,
        actor_label=attempted or "?",
        target=attempted,
        detail=detail,
        ip_address=_address(request),
    )


@receiver(user_logged_out, dispatch_uid="membership.audit_sign_out")
def audit_sign_out(
    sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    if user is None:  # signing out without being signed in changes nothing
        return
    audit_record(
        action=AuditEvent.Action.SIGN_OUT,
        actor=user,
        target=user.email,
        ip_address=_address(request),
    )
