"""A loopback proxy in front of localstripe that behaves like a slow, limited, faulty Stripe.

    python scripts/stripe_proxy.py --upstream http://127.0.0.1:8420 [--port 0] [--port-file F]
        [--latency-ms 200 --jitter-ms 50] [--rate 0] [--faults RULES.json] [--seed 1]

For benches and tests only. What it adds to every request it forwards:

- **latency**: ``--latency-ms`` ± ``--jitter-ms`` before the request is forwarded;
- **a rate limit**: a token bucket of ``--rate`` requests per second (burst: one second's worth);
  beyond it, HTTP 429 with Stripe's ``rate_limit_error`` body, as Stripe answers in live (100/s)
  and test mode (25/s). 0 means no limit;
- **faults**, chosen by rules (a JSON list, from ``--faults`` or ``POST /_proxy/faults``):

  ``{"action": "hold", "method": "POST", "path": "/v1/payment_intents/*/confirm",
  "fraction": 0.1, "seconds": 25, "times": 1}`` holds the request for ``seconds`` and then
  forwards it *even if the client gave up meanwhile* (Stripe finishes a confirm it received);
  ``"action": "not_found"`` answers 404 (``resource_missing``) without forwarding;
  ``"action": "rate_limit"`` answers 429 as if the bucket were empty;
  ``"action": "drop"`` closes the connection without an answer, ``"when": "before"`` forwarding
  (Stripe never saw it) or ``"after"`` (Stripe did it; the answer is lost).

  ``"until": <Unix time>`` holds until that moment instead (a stall with a known end).

  A rule applies to a request whose method and path match (``*`` is one path segment, a path of
  ``**`` matches every request) and whose
  object — the ``pi_…``/``ch_…`` id in its path, else the path — is *chosen*: a stable hash of
  (seed, object) below ``fraction`` (1 chooses every object), at most ``times`` times per object
  (0: always). So "hold 10 % of the PaymentIntents' first confirm" is one rule.

Control endpoints (not Stripe's): ``POST /_proxy/faults`` (replace the rules), ``GET
/_proxy/stats`` (what was done: forwarded, held, dropped, not_found, rate_limited, by object),
``POST /_proxy/reset`` (rules and counts cleared, the bucket full), ``POST /_proxy/release`` (every request held now
goes on at once: a test decides when a late confirm arrives).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fnmatch
import hashlib
import json
import logging
import random
import re
import socket
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

logger = logging.getLogger("stripe_proxy")

FORWARDED_HEADERS = ("Authorization", "Idempotency-Key", "Content-Type", "Stripe-Version")


@dataclass
class Rule:
    action: str  # hold, not_found, drop, rate_limit
    method: str = "*"
    path: str = "*"
    fraction: float = 1.0
    times: int = 0
    seconds: float = 0.0
    until: float = 0.0  # hold: until this Unix time instead (a stall that ends at a known moment)
    when: str = "before"  # drop: before or after forwarding

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method):
            return False
        if self.path == "**":
            return True
        pattern, parts = self.path.strip("/").split("/"), path.strip("/").split("/")
        return len(pattern) == len(parts) and all(
            fnmatch.fnmatchcase(part, want) for part, want in zip(parts, pattern, strict=True)
        )


@dataclass
class TokenBucket:
    """``rate`` tokens a second, at most ``rate`` saved up; 0 means unlimited."""

    rate: float
    tokens: float = 0.0
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.rate

    def take(self) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Proxy:
    upstream: str
    latency: float = 0.0
    jitter: float = 0.0
    bucket: TokenBucket = field(default_factory=lambda: TokenBucket(0))
    seed: int = 1
    rules: list[Rule] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    by_object: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    applied: Counter[tuple[int, str]] = field(default_factory=Counter)
    session: ClientSession | None = None
    # Set by POST /_proxy/release: every request held at that moment goes on at once.
    release: asyncio.Event | None = None

    def chosen(self, rule: Rule, index: int, key: str) -> bool:
        digest = hashlib.sha256(f"{self.seed}:{index}:{key}".encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 >= rule.fraction:
            return False
        if rule.times and self.applied[(index, key)] >= rule.times:
            return False
        self.applied[(index, key)] += 1
        return True

    def fault_for(self, method: str, path: str) -> Rule | None:
        key = object_key(path)
        for index, rule in enumerate(self.rules):
            if rule.matches(method, path) and self.chosen(rule, index, key):
                return rule
        return None

    def count(self, what: str, path: str) -> None:
        self.stats[what] += 1
        self.by_object[object_key(path)][what] += 1


STRIPE_ID = re.compile(r"[a-z]{2,6}_[A-Za-z0-9]{10,}")


def object_key(path: str) -> str:
    """The Stripe object a request is about: the first ``pi_…`` id in its path, else the path."""
    for part in path.strip("/").split("/"):
        if STRIPE_ID.fullmatch(part):
            return part
    return path


def stripe_error(status: int, error_type: str, code: str, message: str) -> web.Response:
    body = {"error": {"type": error_type, "code": code, "message": message}}
    return web.json_response(body, status=status)


def rate_limited() -> web.Response:
    """Stripe's answer beyond the rate limit."""
    response = stripe_error(
        429,
        "rate_limit_error",
        "rate_limit",
        "Too many requests hit the API too quickly. We recommend an exponential backoff of "
        "your requests.",
    )
    response.headers["Stripe-Should-Retry"] = "true"
    return response


async def forward(proxy: Proxy, request: web.Request, body: bytes) -> tuple[int, bytes, str]:
    assert proxy.session is not None
    headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
    async with proxy.session.request(
        request.method,
        f"{proxy.upstream}{request.rel_url}",
        data=body or None,
        headers=headers,
    ) as response:
        return response.status, await response.read(), response.content_type


def drop(request: web.Request) -> web.Response:
    """Close the client's connection without an answer."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError  # nothing more to write on a closed connection


async def handle(request: web.Request) -> web.StreamResponse:
    proxy: Proxy = request.app["proxy"]
    path = request.path
    body = await request.read()
    if proxy.latency or proxy.jitter:
        await asyncio.sleep(max(0.0, proxy.latency + random.uniform(-proxy.jitter, proxy.jitter)))
    if not proxy.bucket.take():
        proxy.count("rate_limited", path)
        return rate_limited()
    rule = proxy.fault_for(request.method, path)
    if rule is not None and rule.action == "rate_limit":
        proxy.count("rate_limited", path)
        return rate_limited()
    if rule is not None and rule.action == "not_found":
        proxy.count("not_found", path)
        return stripe_error(
            404,
            "invalid_request_error",
            "resource_missing",
            f"No such object: '{object_key(path)}'",
        )
    if rule is not None and rule.action == "drop" and rule.when == "before":
        proxy.count("dropped_before", path)
        return drop(request)
    if rule is not None and rule.action == "hold":
        proxy.count("held", path)
        await _hold(proxy, max(rule.seconds, rule.until - time.time()))
    # Shielded: a held request reaches localstripe even if its client gave up meanwhile.
    status, content, content_type = await asyncio.shield(forward(proxy, request, body))
    proxy.count("forwarded", path)
    if rule is not None and rule.action == "drop" and rule.when == "after":
        proxy.count("dropped_after", path)
        return drop(request)
    return web.Response(status=status, body=content, content_type=content_type)


async def _hold(proxy: Proxy, seconds: float) -> None:
    if proxy.release is None:
        proxy.release = asyncio.Event()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proxy.release.wait(), timeout=max(seconds, 0.0))


async def release(request: web.Request) -> web.Response:
    """End every hold now (a test decides when the late confirm arrives)."""
    proxy: Proxy = request.app["proxy"]
    if proxy.release is not None:
        proxy.release.set()
    proxy.release = asyncio.Event()
    return web.json_response({})


async def faults_set(request: web.Request) -> web.Response:
    proxy: Proxy = request.app["proxy"]
    proxy.rules = [Rule(**rule) for rule in await request.json()]
    return web.json_response({"rules": len(proxy.rules)})


async def stats_get(request: web.Request) -> web.Response:
    proxy: Proxy = request.app["proxy"]
    return web.json_response(
        {"totals": dict(proxy.stats), "by_object": {k: dict(v) for k, v in proxy.by_object.items()}}
    )


async def reset(request: web.Request) -> web.Response:
    proxy: Proxy = request.app["proxy"]
    proxy.rules.clear()
    proxy.bucket = TokenBucket(proxy.bucket.rate)  # full again
    proxy.stats.clear()
    proxy.by_object.clear()
    proxy.applied.clear()
    return web.json_response({})


def app_build(proxy: Proxy) -> web.Application:
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app["proxy"] = proxy

    async def session_open(app: web.Application) -> Any:
        # Generous: a held confirm must still reach localstripe however long the hold.
        proxy.session = ClientSession(timeout=ClientTimeout(total=None, sock_connect=10))
        yield
        await proxy.session.close()

    app.cleanup_ctx.append(session_open)
    app.router.add_post("/_proxy/faults", faults_set)
    app.router.add_get("/_proxy/stats", stats_get)
    app.router.add_post("/_proxy/reset", reset)
    app.router.add_post("/_proxy/release", release)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="localstripe's URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", type=Path, help="write the bound port here when ready")
    parser.add_argument("--latency-ms", type=float, default=200.0, help="Stripe answers in ~200 ms")
    parser.add_argument("--jitter-ms", type=float, default=50.0)
    parser.add_argument("--rate", type=float, default=0.0, help="requests/s; 0: no limit")
    parser.add_argument("--faults", type=Path, help="a JSON list of fault rules")
    parser.add_argument("--seed", type=int, default=1, help="which objects the rules choose")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s stripe-proxy %(message)s")

    proxy = Proxy(
        upstream=args.upstream.rstrip("/"),
        latency=args.latency_ms / 1000,
        jitter=args.jitter_ms / 1000,
        bucket=TokenBucket(args.rate),
        seed=args.seed,
        rules=[Rule(**rule) for rule in json.loads(args.faults.read_text())] if args.faults else [],
    )
    sock = socket.create_server((args.host, args.port), reuse_port=False)
    port = sock.getsockname()[1]
    if args.port_file:
        args.port_file.write_text(f"{port}\n")
    logger.info(
        "listening on http://%s:%d → %s (latency %.0f±%.0f ms, rate %s/s, %d fault rules)",
        args.host,
        port,
        proxy.upstream,
        args.latency_ms,
        args.jitter_ms,
        args.rate or "∞",
        len(proxy.rules),
    )
    web.run_app(app_build(proxy), sock=sock, access_log=None, print=None, shutdown_timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
