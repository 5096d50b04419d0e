"""Logging that a flood cannot turn into a disk-filling stream: at most ``burst`` records per logger and level
in each ``window`` seconds; the rest are counted and reported once, in the next record that passes.

``changebot serve`` and ``changebot worker`` install it on the root logger's handlers and uvicorn's, so a
thousand slow or refused clients produce a handful of lines, not one per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class RateLimit(logging.Filter):
    """A ``logging.Filter``: lets ``burst`` records per (logger, level) through per ``window`` seconds."""

    def __init__(self, burst: int = 20, window: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, int], tuple[float, int, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno)
        now = self.clock()
        with self._lock:
            start, passed, dropped = self._seen.get(key, (now, 0, 0))
            if now - start >= self.window:
                start, passed = now, 0
            if passed >= self.burst:
                self._seen[key] = (start, passed, dropped + 1)
                return False
            self._seen[key] = (start, passed + 1, 0)
        if dropped:
            record.msg = f"{record.msg} [{dropped} similar messages suppressed]"
        return True


def install(limit: RateLimit | None = None, loggers: tuple[str, ...] = ("", "uvicorn", "uvicorn.access")) -> RateLimit:
    """Put ``limit`` on every handler of ``loggers`` (the root and uvicorn's by default); returns it."""
    limit = limit or RateLimit()
    for name in loggers:
        for handler in logging.getLogger(name).handlers:
            if limit not in handler.filters:
                handler.addFilter(limit)
    return limit
