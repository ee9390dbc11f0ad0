"""Deployment checks of our own settings (``manage.py check --deploy``), next to Django's.

docs/production.md runs ``check --deploy --fail-level WARNING`` before every deploy: a setting
that one environment variable can turn off in production — the second factor, real Stripe, https
links — is reported there instead of weakening production silently.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def production_protections(app_configs=None, **kwargs) -> list[Warning]:
    warnings = []
    if not settings.MFA_REQUIRED:
        warnings.append(
            Warning(
                "MFA_REQUIRED is off: accounts may sign in with a password alone.",
                hint="Unset MFA_REQUIRED (it is on by default).",
                id="partnerportal.W001",
            )
        )
    if settings.STRIPE_API_BASE:
        warnings.append(
            Warning(
                f"STRIPE_API_BASE is {settings.STRIPE_API_BASE!r}: payments do not go to Stripe.",
                hint="Leave STRIPE_API_BASE empty in production.",
                id="partnerportal.W002",
            )
        )
    if not settings.SITE_URL.startswith("https://"):
        warnings.append(
            Warning(
                f"SITE_URL is {settings.SITE_URL!r}: links in emails would not use https.",
                hint="Set SITE_URL to the portal's https origin, e.g. https://portal.example.com.",
                id="partnerportal.W003",
            )
        )
    if settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN:
        warnings.append(
            Warning(
                "Passkeys are accepted from http origins (development and test settings).",
                id="partnerportal.W004",
            )
        )
    return warnings
