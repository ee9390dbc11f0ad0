"""Finding English left in a Spanish page or email.

The English sentences we know of are the catalog's msgids. A msgid is cut at its placeholders and
tags into fragments; every fragment of three words or more that the Spanish translation does not
itself contain (product names stay English) must not appear in Spanish output.
"""

from __future__ import annotations

import gettext
import html
import re
from functools import cache
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[2] / "locale" / "es" / "LC_MESSAGES" / "django.mo"
_CUT = re.compile(r"%\(\w+\)[sdf]|%[sd]|\{[^}]*\}|<[^>]+>|\n|&\w+;|[«»\"“”()]")
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.DOTALL | re.IGNORECASE)
_SPACE = re.compile(r"\s+")


@cache
def english_fragments() -> frozenset[str]:
    with CATALOG.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    fragments = set()
    for key, translation in catalog.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if not msgid or msgid == translation:
            continue
        for fragment in _CUT.split(msgid):
            fragment = _SPACE.sub(" ", fragment).strip(" .,:;·—–-")
            if (
                len(fragment.split(" ")) >= 3
                and len(fragment) >= 15
                and fragment not in translation
            ):
                fragments.add(fragment)
    return frozenset(fragments)


# A part marked as English on purpose (WCAG's "language of parts"): an invoice is printed in
# its buyer's invoice language, whoever reads the page around it.
# (A part: never the whole page, whose own lang is the page's language.)
_ENGLISH_PART = re.compile(
    r'<(?!html\b)(\w+)\b[^>]*\blang="en"[^>]*>.*?</\1>', re.DOTALL | re.IGNORECASE
)


def visible_text(markup: str) -> str:
    markup = _ENGLISH_PART.sub(" ", markup)
    return _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", markup)))


def english_in(text: str) -> list[str]:
    text = _SPACE.sub(" ", text)
    return sorted(fragment for fragment in english_fragments() if fragment in text)
