"""The stack the job benches run: a fresh PostgreSQL database, a Redis database of their own for
the broker, localstripe with ``scripts/stripe_proxy.py`` in front of it, Celery workers and beat.
Used by ``bench/recovery.py`` and ``bench/renewal_burst.py``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent


def database_url_for(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def broker_url() -> str:
    parts = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    return urlunsplit(parts._replace(path="/15"))


def psql(sql: str) -> None:
    parts = urlsplit(os.environ["DATABASE_URL"])
    subprocess.run(
        [
            "psql",
            "-h",
            parts.hostname or "127.0.0.1",
            "-p",
            str(parts.port or 5432),
            "-U",
            parts.username or "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            sql,
        ],
        check=True,
        env={**os.environ, "PGOPTIONS": "--client-min-messages=warning"},
    )


def database_exists(name: str) -> bool:
    parts = urlsplit(os.environ["DATABASE_URL"])
    found = subprocess.run(
        [
            "psql",
            "-h",
            parts.hostname or "127.0.0.1",
            "-p",
            str(parts.port or 5432),
            "-U",
            parts.username or "postgres",
            "-d",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{name}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip() == "1"


def bench_django(suffix: str, *, reuse: bool = False) -> str:
    """Set Django up on a fresh database ``<DATABASE_URL's name>_<suffix>`` (kept as it is when
    ``reuse`` and it exists), migrated, with the test settings (no production secrets; the
    payment timings are production's), email to memory and the bench's own Redis database for
    the broker. Returns the database's name (``psql(f"DROP DATABASE {name}")`` when done)."""
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server (a database of its own is used).")
    # A stopped bench still drops its database and stops what it started (``finally``).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    name = f"{urlsplit(os.environ['DATABASE_URL']).path.lstrip('/') or 'partnerportal'}_{suffix}"
    if not (reuse and database_exists(name)):
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        psql(f"CREATE DATABASE {name}")
    os.environ.update(
        {
            "DATABASE_URL": database_url_for(name),
            "DJANGO_SETTINGS_MODULE": "partnerportal.settings",
            "CELERY_BROKER_URL": broker_url(),
            "EMAIL_URL": "memorymail://",
            "LOG_LEVEL": "WARNING",
        }
    )
    # The test settings, in this process and the migrate command: tests/plugins/in_test_run.py.
    from tests.plugins import in_test_run

    subprocess.run(
        in_test_run.command("manage.py", "migrate", "--noinput", "-v", "0"),
        cwd=BASE_DIR,
        check=True,
    )
    import django

    django.setup()
    return name


def bench_database_drop(name: str) -> None:
    from django.db import connections

    connections.close_all()
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Stack:
    """localstripe, the proxy, workers and beat, started and stopped together.

    ``environment`` is given to every worker and to beat on top of the broker, Stripe's address
    (the proxy's) and the queue renewal batches go to; ``proxy`` are ``stripe_proxy_start``'s
    options (latency, rate).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        environment: dict[str, str] | None = None,
        renewals_queue: str = "celery",
        **proxy,
    ) -> None:
        from tests.plugins.services import localstripe_start, stripe_proxy_start

        self.workdir = workdir
        self.localstripe = localstripe_start(workdir, log_path=workdir / "localstripe.log")
        self.proxy = stripe_proxy_start(
            self.localstripe.url, workdir, log_path=workdir / "proxy.log", **proxy
        )
        self.extra = {"CELERY_RENEWALS_QUEUE": renewals_queue, **(environment or {})}
        self.workers: list = []
        self.beat: subprocess.Popen | None = None

    def environment(self) -> dict[str, str]:
        # The workers queue their emails and receipts as production's do (not in-process at once,
        # as in tests): PDFs are laid out on the default queue, not by the renewals worker.
        return {
            "STRIPE_API_BASE": self.proxy.url,
            "CELERY_BROKER_URL": broker_url(),
            "EMAIL_TASKS_EAGER": "0",
            **self.extra,
        }

    def workers_start(
        self, *, count: int = 1, queues: str = "celery", pool: str = "prefork", concurrency: int = 2
    ) -> None:
        """``count`` workers consuming ``queues`` (comma-separated)."""
        from django.conf import settings

        from tests.plugins.services import celery_worker_start

        settings.STRIPE_API_BASE = self.proxy.url
        for _worker in range(count):
            self.workers.append(
                celery_worker_start(
                    log_path=self.workdir / f"worker-{len(self.workers) + 1}.log",
                    queue=queues,
                    pool=pool,
                    concurrency=concurrency,
                    env_overrides=self.environment(),
                )
            )

    def workers_kill(self) -> None:
        for worker in self.workers:
            os.killpg(worker.process.pid, signal.SIGKILL)
            worker.process.wait()
        self.workers.clear()

    def beat_start(self) -> None:
        env = {
            **os.environ,
            **self.environment(),
            "PYTHONUNBUFFERED": "1",
        }
        from tests.plugins import in_test_run

        with (self.workdir / "beat.log").open("wb") as log:
            self.beat = subprocess.Popen(
                in_test_run.command(
                    "celery",
                    "-A",
                    "partnerportal",
                    "beat",
                    "--schedule",
                    str(self.workdir / "beat-schedule"),
                    "--loglevel",
                    "info",
                ),
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
            )

    def stop(self) -> None:
        from tests.plugins.services import process_stop

        for worker in self.workers:
            worker.stop()
        if self.beat is not None:
            process_stop(self.beat)
        self.proxy.stop()
        self.localstripe.stop()
