"""What the agent does by the clock: the policy refresh (the catalog read again every
`poll_minutes`, with a conditional GET).

Time is wall-clock time, checked on a short periodic tick instead of one long sleep: a
laptop that was suspended past the moment, or whose clock was set forward, acts at the
next tick; a clock set back does not postpone the work by the jump. The clock is
injectable (`Clock`), so the rules are tested without waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

__all__ = ["Clock", "PolicyPoller", "SystemClock", "jittered"]

log = logging.getLogger("software_center.agent")

JITTER = 0.10  # each interval is drawn in ±10 % of the setting, so clients spread out
MAX_TICK_S = 30.0  # the wall clock is looked at least this often


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock time, seconds since the epoch."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def jittered(interval_s: float, rng: random.Random) -> float:
    """`interval_s` give or take 10 %."""
    return interval_s * rng.uniform(1 - JITTER, 1 + JITTER)


class PolicyPoller:
    """Calls `refresh()` at once, then every `interval_s()` seconds (read again for each
    interval, so a changed setting applies from the next one), measured on `clock`.

    `refresh` reports its own failures; an exception it lets out is logged and the poll
    goes on.
    """

    def __init__(self, refresh: Callable[[], Awaitable[object]], interval_s: Callable[[], float],
                 clock: Clock | None = None, rng: random.Random | None = None) -> None:
        self.refresh = refresh
        self.interval_s = interval_s
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.due: float = 0.0  # wall-clock time of the next refresh
        self._nap: asyncio.Future[None] | None = None

    def _schedule(self, now: float) -> None:
        self.due = now + jittered(self.interval_s(), self.rng)

    async def _refresh(self) -> None:
        try:
            await self.refresh()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("The policy refresh failed")

    def reschedule(self) -> None:
        """The interval setting changed: the next refresh is one new interval from now."""
        self._schedule(self.clock.now())
        if self._nap is not None:
            self._nap.cancel()  # wake the loop: its tick was measured for the old interval

    async def _sleep(self, seconds: float) -> None:
        """Sleep on the clock; `reschedule()` ends it early."""
        self._nap = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait({self._nap})  # returns when the nap ends or is cut short
        finally:
            self._nap.cancel()
            self._nap = None

    async def run(self, *, at_once: bool = True) -> None:
        """Refresh (at once, unless told the caller just did) and then every interval, until
        cancelled."""
        if at_once:
            await self._refresh()
        last = self.clock.now()
        self._schedule(last)
        while True:
            tick = min(MAX_TICK_S, max(self.interval_s() / 4, 0.05))
            await self._sleep(min(tick, max(self.due - last, 0.05)))
            now = self.clock.now()
            if now < last:  # the clock was set back: keep the time that was left
                self.due -= last - now
            last = now
            if now >= self.due:
                await self._refresh()
                last = self.clock.now()
                self._schedule(last)
