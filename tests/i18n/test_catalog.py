"""The Spanish catalog is complete, and the compiled catalog committed with it is up to date."""

from __future__ import annotations

import gettext
import shutil
import subprocess

import pytest

from tests.i18n.english import CATALOG

SOURCE = CATALOG.with_suffix(".po")


def _msgfmt() -> str:
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.fail("msgfmt is missing: install Debian's gettext (.ci/run does)")
    return msgfmt


def test_the_spanish_catalog_has_nothing_untranslated_or_fuzzy():
    result = subprocess.run(
        [_msgfmt(), "--check", "--statistics", "-o", "/dev/null", str(SOURCE)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "untranslated" not in result.stderr
    assert "fuzzy" not in result.stderr
    assert "translated messages" in result.stderr


def test_the_committed_compiled_catalog_matches_the_source(tmp_path):
    fresh = tmp_path / "django.mo"
    subprocess.run([_msgfmt(), "-o", str(fresh), str(SOURCE)], check=True)
    with fresh.open("rb") as a, CATALOG.open("rb") as b:
        expected = gettext.GNUTranslations(a)._catalog
        committed = gettext.GNUTranslations(b)._catalog
    assert committed == expected, "Run `make messages` and commit locale/es/LC_MESSAGES/django.mo"
