"""Run callables at the same moment in threads, each on its own database connection.

On PostgreSQL the threads really contend for row locks. The SQLite test database is in memory
with a shared cache, which answers "database table is locked" at once instead of waiting for the
busy timeout; the retry stands in for that timeout (each SQLite write transaction starts with
BEGIN IMMEDIATE, so they run one after another, as on a file database). Like the timeout it is
bounded by time, not by a count of attempts: on a busy machine the other thread can hold the lock
for longer than any fixed number of quick retries takes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import OperationalError, connection

from tests.plugins.services import wait_until

# As long as the portal's own SQLite busy timeout (settings.DATABASES OPTIONS "timeout").
BUSY_TIMEOUT_SECONDS = 20.0


def _retrying(function: Callable[[], Any]) -> Any:
    outcome: dict[str, Any] = {}

    def ran() -> bool:
        try:
            outcome["value"] = function()
        except OperationalError as error:
            if connection.vendor != "sqlite" or "locked" not in str(error):
                raise
            return False
        return True

    # A short interval lets the thread holding the lock run between tries.
    wait_until(ran, timeout=BUSY_TIMEOUT_SECONDS, what="SQLite's table lock", interval=0.002)
    return outcome["value"]


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
