"""The token bucket the billing jobs pace Stripe calls with (``core.token_bucket``)."""

from __future__ import annotations

import uuid

import pytest

from core.token_bucket import LocalTokenBucket, RedisTokenBucket
from tests.plugins.services import redis_problem, service_missing


def test_a_full_bucket_lets_a_tenth_of_a_second_through_then_spaces_callers():
    bucket = LocalTokenBucket(rate=20)  # saves up 2 tokens at most

    waits = [bucket.take() for _caller in range(5)]

    # Two go now; the next ones are booked 1/20 s apart, in the order they asked.
    assert waits[:2] == [0.0, 0.0]
    assert waits[2:] == pytest.approx([0.05, 0.10, 0.15], abs=0.01)


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

    waits = [one_worker.take(), another_worker.take(), one_worker.take(), another_worker.take()]

    # One token saved up (a tenth of a second at 10/s); then 1/10 s apart, across both workers.
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3], abs=0.02)
