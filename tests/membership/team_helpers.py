"""Shared by the team tests: read the one-time link out of an invitation email."""

from __future__ import annotations

import re

from django.core.mail import EmailMessage

LINK = re.compile(r"https?://[^\s\"<>]+/invitations/[^\s\"<>/]+/")


def invitation_link(message: EmailMessage) -> str:
    found = LINK.search(message.body)
    assert found, f"no invitation link in: {message.body}"
    return found.group(0)


def invitation_path(message: EmailMessage) -> str:
    """The link's path, to open it with the test client."""
    return "/" + invitation_link(message).split("/", 3)[3]


def invitation_token(message: EmailMessage) -> str:
    return invitation_path(message).rstrip("/").rsplit("/", 1)[1]
