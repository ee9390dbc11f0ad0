"""Run localstripe for development and tests, safely.

    python scripts/localstripe_server.py --port 8420 [--host 127.0.0.1] [--state FILE]
        [--webhook-url URL --webhook-secret SECRET] [--port-file FILE] [--verbose]

Why not localstripe's own entry point:
- it binds ``::`` (every interface, IPv4 and IPv6): a fake payment API open to the network;
- its ``Store`` pickles the whole store to the hard-coded ``/tmp/localstripe.pickle`` on every
  object creation and after every POST/DELETE: O(n) work per call, and two instances (parallel
  test runs, ``make run`` next to ``make test``) overwrite each other's state;
- its lists (``StripeObject._api_list_all``) scan the whole store for the objects of one type,
  and every Charge it returns lists its refunds that way: each PaymentIntent create or confirm
  costs O(every object ever created), so a long test session or ``make run`` slows down.

Here the store lives in memory, indexed by object type so that a list reads only its own type.
With ``--state FILE`` it is loaded from FILE at start and written once, atomically, when the
server stops cleanly (SIGINT or SIGTERM). ``--port 0`` picks a free port; ``--port-file`` tells the
caller which one, once the socket is bound.
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
from typing import Any

from aiohttp import web
from localstripe import resources
from localstripe import server as localstripe_server
from localstripe.webhooks import register_webhook

logger = logging.getLogger("localstripe.launcher")


def _skip_dump(self: resources.Store) -> None:
    """Replaces ``Store.dump_to_disk``, called on every write: state is saved once, at shutdown."""


def _skip_load(self: resources.Store) -> None:
    """Replaces ``Store.try_load_from_disk``: only ``--state`` decides what is loaded."""


# Patched on the class, before any object exists: localstripe's ``Store.__setitem__`` and
# ``__delitem__`` (both replaced below too) and its ``save_store_middleware`` all reach the disk
# through these two methods.
resources.Store.dump_to_disk = _skip_dump  # type: ignore[method-assign]
resources.Store.try_load_from_disk = _skip_load  # type: ignore[method-assign]


# The index: the store's objects by type, {"refund": {"refund:re_…": <Refund>, …}, …}, kept on
# the store object (state_dump pickles dict(store), so it is never saved). Each inner dict keeps
# the store's insertion order (an overwritten key keeps its place in both), so a list comes out in
# the order localstripe's full scan gave. localstripe 1.15 changes the store only through
# __setitem__, __delitem__ and clear, patched below, and try_load_from_disk, replaced above;
# state_load's dict.update bypasses them and rebuilds the index instead.
def _object_type(key: str) -> str | None:
    """``"charge:ch_…"`` → ``"charge"``; None for a key no list reads (``"balance"``)."""
    object_type, colon, _ = key.partition(":")
    return object_type if colon else None


def store_index_rebuild(store: resources.Store) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for key, value in dict.items(store):
        if (object_type := _object_type(key)) is not None:
            index.setdefault(object_type, {})[key] = value
    store.objects_by_type = index
    return index


def store_index(store: resources.Store) -> dict[str, dict[str, Any]]:
    """The index of ``store`` by object type, built on first use."""
    index = vars(store).get("objects_by_type")
    return index if index is not None else store_index_rebuild(store)


def _indexed_setitem(self: resources.Store, key: str, value: Any) -> None:
    # Store's own __setitem__ and __delitem__ add only dump_to_disk, a no-op here (see above).
    dict.__setitem__(self, key, value)
    if (object_type := _object_type(key)) is not None:
        store_index(self).setdefault(object_type, {})[key] = value


def _indexed_delitem(self: resources.Store, key: str) -> None:
    dict.__delitem__(self, key)  # a missing key raises KeyError here, before the index changes
    if (object_type := _object_type(key)) is not None:
        del store_index(self)[object_type][key]


def _indexed_clear(self: resources.Store) -> None:
    dict.clear(self)
    store_index(self).clear()


def _indexed_list_all(
    cls: type[resources.StripeObject],
    url: str | None,
    limit: int | str | None = None,
    starting_after: str | None = None,
    **kwargs: Any,
) -> resources.List:
    """``StripeObject._api_list_all`` reading one type's objects from the index, not the store."""
    if kwargs:
        raise resources.UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
    li = resources.List(url, limit=limit, starting_after=starting_after)
    li._list = list(store_index(resources.store).get(cls.object, {}).values())
    return li


resources.Store.__setitem__ = _indexed_setitem  # type: ignore[method-assign]
resources.Store.__delitem__ = _indexed_delitem  # type: ignore[method-assign]
resources.Store.clear = _indexed_clear  # type: ignore[method-assign]
# Subclasses that filter (Charge by customer, Refund by charge, …) call this through super().
resources.StripeObject._api_list_all = classmethod(_indexed_list_all)  # type: ignore[method-assign]


def state_load(path: Path) -> int:
    """Fill the store from ``path`` if it exists; return how many objects were loaded."""
    if not path.exists():
        return 0
    with path.open("rb") as state_file:
        # Our own file, written by state_dump below; never point --state at untrusted data.
        saved = pickle.load(state_file)
    resources.store.clear()
    # dict.update bypasses Store.__setitem__, so loading does not count as a write; it bypasses
    # the index too, so the index is rebuilt from what was loaded.
    dict.update(resources.store, saved)
    store_index_rebuild(resources.store)
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
