"""bandit finds no high-severity issue in the portal's code (the command docs/production.md gives)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
BANDIT = Path(sys.executable).with_name("bandit")


def test_bandit_reports_no_high_severity_issue() -> None:
    result = subprocess.run(
        [
            str(BANDIT),
            "-r",
            "core",
            "membership",
            "offers",
            "billing",
            "support",
            "partnerportal",
            "-lll",
            "-q",
        ],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No issues identified." in result.stdout or result.stdout.strip() == ""
