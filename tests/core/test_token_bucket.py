"""The token bucket the billing jobs pace Stripe calls with (``core.token_bucket``)."""

from __future__ import annotations

import time
import uuid

import pytest

from core.token_bucket import LocalTokenBucket, RedisTokenBucket
from tests.plugins.services import redis_problem, service_missing


def test_a_full_bucket_lets_a_tenth_of_a_second_through_then_spaces_callers():
    bucket = LocalTokenBucket(rate=20)  # saves up 2 tokens at most

    started = time.monotonic()
    waits = [bucket.take() for _caller in range(5)]
    took = time.monotonic() - started

    # Two go now; the next ones are booked 1/20 s apart, in the order they asked. A caller that
    # asks later waits that much less: the calls' own time (a busy machine) is the tolerance.
    assert waits[:2] == [0.0, 0.0]
    assert all(
        expected - took - 0.005 <= wait <= expected + 0.005
        for wait, expected in zip(waits[2:], [0.05, 0.10, 0.15], strict=True)
    ), (waits, took)


@pytest.fixture
def redis_url(settings):
    problem = redis_problem()
    if problem:
        service_missing(f"the shared bucket needs Redis: {problem}")
    import os

    settings.REDIS_URL = os.environ["REDIS_URL"]
    return settings.REDIS_URL


def test_every_process_draws_from_the_same_bucket_in_redis(redis_url):
    name = f"test-{uuid.uuid4().hex}"
    one_worker, another_worker = RedisTokenBucket(name, rate=10), RedisTokenBucket(name, rate=10)

    started = time.monotonic()
    waits = [one_worker.take(), another_worker.take(), one_worker.take(), another_worker.take()]
    took = time.monotonic() - started

    # One token saved up (a tenth of a second at 10/s); then 1/10 s apart, across both workers
    # (less the time the calls themselves took, as above).
    assert waits[0] == pytest.approx(0.0, abs=0.005)
    assert all(
        expected - took - 0.005 <= wait <= expected + 0.005
        for wait, expected in zip(waits[1:], [0.1, 0.2, 0.3], strict=True)
    ), (waits, took)
