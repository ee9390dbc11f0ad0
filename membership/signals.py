"""The audit trail of signing in and out (who, when, from which address), and the second factor.

Connected in ``MembershipConfig.ready``. allauth's ``mfa`` signals mark the session as having
passed the second factor (``membership.second_factor``), audit factors added and removed, and
count a wrong code as a failed sign-in (so django-axes locks it out like a wrong password).
Other audited actions (roles, purchases, renewals, auto-renew, cancellations, refunds) are
recorded by the services that perform them.
"""

from __future__ import annotations

from typing import Any

from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from core.middleware import client_ip
from membership.models import AuditEvent, User
from membership.second_factor import second_factor_mark_checked, second_factor_method
from membership.services import audit_record

_LABEL_MAX = 200


def _address(request: HttpRequest | None) -> str | None:
    return client_ip(request) if request is not None else None


def _browser(request: HttpRequest | None) -> dict[str, str]:
    agent = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
    return {"user_agent": agent[:200]} if agent else {}


@receiver(user_logged_in, dispatch_uid="membership.audit_sign_in")
def audit_sign_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    detail = _browser(request)
    method = second_factor_method(request) if request is not None else None
    if method:
        # Read by the lockout: an address the account passed its second factor from.
        detail["second_factor"] = method
    audit_record(
        action=AuditEvent.Action.SIGN_IN,
        actor=user,
        target=user.email,
        detail=detail,
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
    if credentials.get("second_factor"):
        detail["second_factor"] = str(credentials["second_factor"])
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


# --- the second factor (allauth.mfa) ------------------------------------------------------------


@receiver(mfa_signals.authenticator_used, dispatch_uid="membership.second_factor_used")
def second_factor_used(
    sender: Any, request: HttpRequest, user: User, authenticator: Authenticator, **kwargs: Any
) -> None:
    """Signing in, or the check again before money or people change."""
    second_factor_mark_checked(request, user, method=authenticator.type)


@receiver(mfa_signals.authenticator_added, dispatch_uid="membership.second_factor_added")
def second_factor_added(
    sender: Any, request: HttpRequest, user: User, authenticator: Authenticator, **kwargs: Any
) -> None:
    # Setting a factor up proves it works (a code was entered, a key answered): checked now.
    second_factor_mark_checked(request, user, method=authenticator.type)
    audit_record(
        action=AuditEvent.Action.SECOND_FACTOR_ADDED,
        actor=user,
        target=user.email,
        detail={"type": authenticator.type},
        ip_address=_address(request),
    )


@receiver(mfa_signals.authenticator_reset, dispatch_uid="membership.second_factor_regenerated")
def second_factor_regenerated(
    sender: Any, request: HttpRequest, user: User, authenticator: Authenticator, **kwargs: Any
) -> None:
    audit_record(
        action=AuditEvent.Action.SECOND_FACTOR_ADDED,
        actor=user,
        target=user.email,
        detail={"type": authenticator.type, "regenerated": True},
        ip_address=_address(request),
    )


@receiver(mfa_signals.authenticator_removed, dispatch_uid="membership.second_factor_removed")
def second_factor_removed(
    sender: Any, request: HttpRequest, user: User, authenticator: Authenticator, **kwargs: Any
) -> None:
    audit_record(
        action=AuditEvent.Action.SECOND_FACTOR_REMOVED,
        actor=user,
        target=user.email,
        detail={"type": authenticator.type},
        ip_address=_address(request),
    )


@receiver(mfa_signals.authentication_failed, dispatch_uid="membership.second_factor_failed")
def second_factor_failed(
    sender: Any, request: HttpRequest, user: User, authenticator: Authenticator, **kwargs: Any
) -> None:
    """A wrong code is a failed sign-in: django-axes counts it against the account and address
    (and our receiver above audits it)."""
    user_login_failed.send(
        sender=__name__,
        credentials={"username": user.email, "second_factor": authenticator.type},
        request=request,
    )
