"""Names people type that other people read: never a link.

An organization's or a person's name goes into emails from our own sender, to addresses someone
else typed (an invitation). A name holding a web address would turn our email into theirs
("URGENT: verify at evil.example/login"), and mail clients make links of anything that looks like
an address. So such a name is refused where it is typed (``no_links``), and every name an email
shows goes through ``unlinked`` (the ``unlinked`` template filter), which keeps it readable but
not clickable, for names stored before the rule.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# A scheme (https:, mailto:…), "://", "www.", or a host name: labels joined by dots ending in a
# top-level domain of letters ("evil.example", "booking.com"). "Contoso Ltd." or "Fabrikam S.A."
# are not host names (no letters after their last dot, or a one-letter "domain").
LINK = re.compile(
    r"(?:\b(?:https?|ftp|file|mailto|javascript|data|tel|sms)\s*:"
    r"|://|\bwww\."
    r"|\b[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,63}\b)",
    re.IGNORECASE,
)
# After these a mail client would continue an address; a zero-width space breaks it.
_JOINERS = re.compile(r"([.:/@])")
ZERO_WIDTH_SPACE = "\u200b"


def looks_like_a_link(text: str) -> bool:
    return bool(LINK.search(text or ""))


def no_links(value: str) -> None:
    """A validator for names: refuse one that holds a web address or a link."""
    if looks_like_a_link(value):
        raise ValidationError(
            _("A name cannot contain a web address or a link (such as example.com)."),
            code="link",
        )


def unlinked(text: object) -> str:
    """``text`` as mail clients show it without making a link of it (a zero-width space after
    every dot, colon, slash and @: invisible, and it still reads and copies as the name)."""
    return _JOINERS.sub(rf"\1{ZERO_WIDTH_SPACE}", str(text or ""))
