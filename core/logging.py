"""One JSON line per log record, tagged with the current request or task id.

Every string that reaches a line is redacted first: card numbers, Stripe secrets, one-time tokens
in paths (invitation and password-reset links), query strings, and the values of
password/secret/token/card fields never reach the logs, even when a library logs a request.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from typing import Any

# The id of the request or Celery task being handled ("-" outside both).
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# The address of the person behind the current request (None in jobs), for audit records made
# deep inside services without every signature carrying it.
client_ip_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "client_ip", default=None
)

_SENSITIVE_NAMES = r"(?:password\d?|passwd|new_password\d|old_password|secret|token|cvc|cvv|card_number|number|authorization|api_key|client_secret)"

_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    # Card numbers (13 to 19 digits, with or without spaces or dashes). Not the digits of a
    # decimal ("took 0.12345678901234s") or of an identifier such as a task's UUID
    # ("renewals_charge[12345678-1234-5678-9e9c-…]"); a card number that ends a sentence is
    # still one.
    (re.compile(r"(?<![\w.-])(?:\d[ -]?){12,18}\d(?!\w|[.-]\w)"), "[card]"),
    # Stripe secret and restricted keys, webhook secrets, client secrets of intents.
    (re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]+"), "[secret]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9]+"), "[secret]"),
    (re.compile(r"\b(?:pi|seti)_[A-Za-z0-9]+_secret_[A-Za-z0-9]+"), "[secret]"),
    (re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), "Bearer [secret]"),
    # One-time tokens in paths: an invitation link, Django's password reset link (and the
    # set-password page it leads to), allauth's reset and email-confirmation links. Whatever logs
    # the path — the request line, Django's "Not Found: …" — the token stays out.
    (re.compile(r"(/invitations/)[^/\s?#\"'<>]+"), r"\1[token]"),
    (
        re.compile(r"(/accounts/reset/)[^/\s?#\"'<>]+/[^/\s?#\"'<>]+"),
        r"\1[token]/[token]",
    ),
    (
        re.compile(r"(/accounts/(?:password/reset/key|confirm-email)/)[^/\s?#\"'<>]+"),
        r"\1[token]",
    ),
    # Query strings of paths and URLs (?next=/invitations/…, ?key=…): never worth their risk.
    (
        re.compile(r"((?:https?://[^\s/?#\"'<>]+)?/[^\s?#\"'<>]*)\?[^\s#\"'<>]+"),
        r"\1?[redacted]",
    ),
    # name=value (query strings, form bodies) and 'name': 'value' / "name": ["value"] (reprs, JSON).
    (
        re.compile(rf"(\b{_SENSITIVE_NAMES}=)[^&\s]*", re.IGNORECASE),
        r"\1[redacted]",
    ),
    (
        re.compile(
            rf"""(['"]{_SENSITIVE_NAMES}['"]\s*:\s*\[?\s*)(['"])(?:\\.|(?!\2).)*\2""", re.IGNORECASE
        ),
        r"\1\2[redacted]\2",
    ),
]

# Extra fields a log call may pass (``logger.info("request", extra={...})``), in output order.
EXTRA_FIELDS = (
    "method",
    "path",
    "status",
    "duration_ms",
    "user_id",
    "ip",
    "task",
    "task_id",
    "state",
)


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", request_id_var.get()),
            "message": redact(record.getMessage()),
        }
        for key in EXTRA_FIELDS:
            if hasattr(record, key):
                payload[key] = _clean(getattr(record, key))
        if record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            payload["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(payload, default=lambda value: redact(str(value)))
