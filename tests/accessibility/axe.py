"""Running axe-core (tests/accessibility/vendor/axe.min.js) in a Playwright page.

The vendored file is evaluated in the page with ``page.evaluate``: that goes through the
DevTools protocol, so the portal's Content-Security-Policy (no inline script) stays on and is
not weakened for the test. ``axe_check(page)`` runs the WCAG 2.0/2.1/2.2 A and AA rules plus
axe's best practices and returns what a failing test must report.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE_VERSION = "4.14.1"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
AXE_PATH = Path(__file__).resolve().parent / "vendor" / "axe.min.js"

RUN_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    # Off by default in axe; the issue found it, so it is checked too (WCAG 2.5.3).
    "rules": {"label-content-name-mismatch": {"enabled": True}},
    "resultTypes": ["violations"],
}

# A test fails on every critical or serious violation, and on these rules whatever their impact:
# axe rates them moderate or minor, but each was a finding of issue 15 and must stay fixed.
FAILING_IMPACTS = frozenset({"critical", "serious"})
ALSO_FAILING_RULES = frozenset(
    {"heading-order", "empty-table-header", "landmark-unique", "page-has-heading-one"}
)

_RUN = """options => axe.run(document, options).then(results => results.violations.map(v => ({
  rule: v.id,
  impact: v.impact,
  help: v.help,
  targets: v.nodes.slice(0, 4).map(node => node.target.join(" ") + " — " + (node.failureSummary || "")
    .replace(/\\s+/g, " ").slice(0, 160)),
})))"""


@dataclass(frozen=True)
class Violation:
    where: str  # "billing:offers /partnership/offers/ (375 px)"
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        nodes = "\n      ".join(self.targets)
        return f"{self.where}: {self.rule} ({self.impact}) {self.help}\n      {nodes}"


@cache
def axe_source() -> str:
    data = AXE_PATH.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert digest == AXE_SHA256, (
        f"{AXE_PATH} is not the vendored axe-core {AXE_VERSION} (sha256 {digest}); "
        "see tests/accessibility/vendor/README.md"
    )
    return data.decode()


def axe_check(page: Page, where: str) -> list[Violation]:
    """The failing violations axe finds in the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    found = page.evaluate(_RUN, RUN_OPTIONS)
    return [
        Violation(where, v["rule"], v["impact"] or "", v["help"], tuple(v["targets"]))
        for v in found
        if v["impact"] in FAILING_IMPACTS or v["rule"] in ALSO_FAILING_RULES
    ]


def report(violations: list[Violation]) -> str:
    return f"{len(violations)} accessibility violations:\n  " + "\n  ".join(map(str, violations))
