"""Run localstripe for development and tests, safely.

    python scripts/localstripe_server.py --port 8420 [--host 127.0.0.1] [--state FILE]
        [--webhook-url URL --webhook-secret SECRET] [--port-file FILE] [--verbose]

Why not localstripe's own entry point:
- it binds ``::`` (every interface, IPv4 and IPv6): a fake payment API open to the network;
- its ``Store`` pickles the whole store to the hard-coded ``/tmp/localstripe.pickle`` on every
  object creation and after every POST/DELETE: O(n) work per call, and two instances (parallel
  test runs, ``make run`` next to ``make test``) overwrite each other's state.

Here the store lives in memory. With ``--state FILE`` it is loaded from FILE at start and written
once, atomically, when the server stops cleanly (SIGINT or SIGTERM). ``--port 0`` picks a free port;
``--port-file`` tells the caller which one, once the socket is bound.
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import socket
import sys
import tempfile
from pathlib import Path

from aiohttp import web
from localstripe import resources
from localstripe import server as localstripe_server
from localstripe.webhooks import register_webhook

logger = logging.getLogger("localstripe.launcher")


def _skip_dump(self: resources.Store) -> None:
    """Replaces ``Store.dump_to_disk``, called on every write: state is saved once, at shutdown."""


def _skip_load(self: resources.Store) -> None:
    """Replaces ``Store.try_load_from_disk``: only ``--state`` decides what is loaded."""


# Patched on the class, before any object exists: ``Store.__setitem__``, ``__delitem__`` and
# localstripe's ``save_store_middleware`` all reach the disk through these two methods.
resources.Store.dump_to_disk = _skip_dump  # type: ignore[method-assign]
resources.Store.try_load_from_disk = _skip_load  # type: ignore[method-assign]


def state_load(path: Path) -> int:
    """Fill the store from ``path`` if it exists; return how many objects were loaded."""
    if not path.exists():
        return 0
    with path.open("rb") as state_file:
        # Our own file, written by state_dump below; never point --state at untrusted data.
        saved = pickle.load(state_file)
    resources.store.clear()
    # dict.update bypasses Store.__setitem__, so loading does not count as a write.
    dict.update(resources.store, saved)
    return len(resources.store)


def state_dump(path: Path) -> None:
    """Write the store to ``path`` atomically (a crash mid-write never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=path.name, delete=False) as tmp:
        pickle.dump(dict(resources.store), tmp, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp.name, path)


def socket_bind(host: str, port: int) -> socket.socket:
    """Bind one listening socket on ``host`` only (IPv4 or IPv6 literal, or a name)."""
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Restarting right after a stop must not fail on the previous socket's TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    return sock


class _WebhookOutcomeFilter(logging.Filter):
    """Quiet mode: keep only webhook deliveries that failed.

    localstripe logs webhook outcomes through the ``aiohttp.access`` logger, the same one aiohttp
    uses for its per-request access log, so the access log is switched off at ``run_app`` and
    this filter decides what is left.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "failed" in record.getMessage()


def logging_configure(*, verbose: bool) -> logging.Logger | None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s localstripe %(message)s"))
    access_logger = logging.getLogger("aiohttp.access")
    access_logger.setLevel(logging.INFO)
    access_logger.addHandler(handler)
    access_logger.propagate = False
    if not verbose:
        handler.addFilter(_WebhookOutcomeFilter())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s localstripe %(message)s")
    return access_logger if verbose else None


def arguments_parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8420, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--state", type=Path, help="load at start, save on clean shutdown")
    parser.add_argument("--port-file", type=Path, help="write the bound port here when ready")
    parser.add_argument("--webhook-url", help="deliver signed events here")
    parser.add_argument("--webhook-secret", help="signing secret for --webhook-url")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if bool(args.webhook_url) != bool(args.webhook_secret):
        parser.error("--webhook-url and --webhook-secret go together")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments_parse(argv)
    access_log = logging_configure(verbose=args.verbose)

    loaded = state_load(args.state) if args.state else 0
    if args.webhook_url:
        # In-process, so the webhook exists before the first request (POST /_config/webhooks/…
        # would race with the portal's first call); None means every event type.
        register_webhook("portal", args.webhook_url, args.webhook_secret, None)

    sock = socket_bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    if args.port_file:
        # Written after bind: connections are queued from here on, so a caller that reads the
        # port can start polling straight away.
        args.port_file.write_text(f"{port}\n")

    where = f"[{host}]" if ":" in host else host
    state = f"state {args.state} ({loaded} objects loaded)" if args.state else "state in memory"
    webhook = f", webhook {args.webhook_url}" if args.webhook_url else ""
    logger.info("listening on http://%s:%d (%s%s)", where, port, state, webhook)

    # run_app turns SIGINT and SIGTERM into a graceful exit and returns; shutdown_timeout bounds
    # how long open keep-alive connections may delay that.
    web.run_app(
        localstripe_server.app,
        sock=sock,
        access_log=access_log,
        print=None,
        shutdown_timeout=5,
    )

    if args.state:
        state_dump(args.state)
        logger.info("saved %d objects to %s", len(resources.store), args.state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
