"""Fixtures every billing test may use without importing them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core import clock


@pytest.fixture
def frozen_clock() -> Iterator[None]:
    """Tests move the clock with ``clock.set_now``; it is unfrozen afterwards whatever happens."""
    try:
        yield
    finally:
        clock.set_now(None)
