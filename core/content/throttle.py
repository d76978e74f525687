"""A rate limit shared by every download that uses it (the background pre-cache): one
token bucket, thread-safe, whose rate is read on each use so a changed setting applies
at once. Downloads a person is waiting for are never throttled."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..http import Abort

__all__ = ["Throttle"]

BURST_S = 0.25  # at most this many seconds' worth of bytes go out at once


class Throttle:
    """`rate_bps()`: bytes per second now (0 or less: no limit)."""

    def __init__(self, rate_bps: Callable[[], float]) -> None:
        self.rate_bps = rate_bps
        self._lock = threading.Lock()
        self._next = time.monotonic()  # when the bucket is empty again: bytes owe time

    def take(self, n: int, abort: Abort) -> None:
        """Account for `n` bytes just received; sleep (on this worker thread) as long as
        the rate asks. Returns early when `abort` is set (the caller checks it)."""
        rate = self.rate_bps()
        if rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(self._next, now - BURST_S)
            self._next = start + n / rate
            wait = self._next - now - BURST_S
        if wait > 0:
            abort.wait(wait)
