"""Read what the portal's configured log handler writes (the JSON lines production gets)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from core.logging import JsonFormatter


class CapturedLog:
    def __init__(self, stream: io.StringIO):
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def of(self, logger: str) -> list[dict]:
        return [record for record in self.records if record["logger"] == logger]


@contextmanager
def captured_log() -> Iterator[CapturedLog]:
    """Point the root logger's JSON handler (from settings.LOGGING) at a buffer for a while."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers + logging.getLogger("django").handlers
        if isinstance(handler, logging.StreamHandler)
        and isinstance(handler.formatter, JsonFormatter)
    ]
    assert handlers, "settings.LOGGING no longer sends records to a JsonFormatter handler"
    stream = io.StringIO()
    previous = [handler.setStream(stream) for handler in handlers]
    try:
        yield CapturedLog(stream)
    finally:
        for handler, old in zip(handlers, previous, strict=True):
            handler.setStream(old)
