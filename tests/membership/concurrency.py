"""Run callables at the same moment in threads, each on its own database connection.

On PostgreSQL the threads really contend for row locks. The SQLite test database is in memory
with a shared cache, which answers "database table is locked" at once instead of waiting for the
busy timeout; the retry stands in for that timeout (each SQLite write transaction starts with
BEGIN IMMEDIATE, so they run one after another, as on a file database).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import OperationalError, connection

ATTEMPTS = 2000


def _retrying(function: Callable[[], Any]) -> Any:
    for _attempt in range(ATTEMPTS - 1):
        try:
            return function()
        except OperationalError as error:
            if connection.vendor != "sqlite" or "locked" not in str(error):
                raise
    return function()


def run_at_once(*functions: Callable[[], Any]) -> list[Any]:
    """Start every function together; return what each returned or raised, in order."""
    start = threading.Barrier(len(functions))
    outcomes: list[Any] = [None] * len(functions)

    def run(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = _retrying(functions[index])
        except Exception as error:  # the caller asserts on it
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(functions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
