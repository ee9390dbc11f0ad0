"""Run a program as a process of the test run, with the test settings.

    python -m tests.plugins.in_test_run celery -A partnerportal worker …
    python -m tests.plugins.in_test_run manage.py migrate --noinput

The settings are the test settings only in a process that has loaded pytest
(``settings.TESTING`` is ``"pytest" in sys.modules``, never an environment variable: one variable
must not turn production settings into test settings). The Celery workers, beat and the
``manage.py`` commands the tests and benches start are part of the test run, so they load pytest
first, here, and then run the program as ``python -m <module>`` or ``python <file>`` would.
A bench that sets Django up in its own process imports this module for the same reason.
"""

from __future__ import annotations

import runpy
import sys

import pytest  # noqa: F401  (loaded: this process is part of the test run)


def command(*argv: str) -> list[str]:
    """The argv that runs ``argv`` (a module name or a ``.py`` file, and its arguments) here."""
    return [sys.executable, "-m", "tests.plugins.in_test_run", *argv]


def main() -> None:
    program, *arguments = sys.argv[1:]
    sys.argv = [program, *arguments]
    if program.endswith(".py"):
        runpy.run_path(program, run_name="__main__")
    else:
        runpy.run_module(program, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
