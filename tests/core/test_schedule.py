"""The agent's clock-driven work, with an injected clock: the policy refresh happens at
start (when asked), then once per interval ±10 %, on a short wall-clock tick — at once
after a suspend or a clock set forward, not later after a clock set back."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from core.agent.schedule import MAX_TICK_S, PolicyPoller


class FakeClock:
    """Wall-clock time that moves only when slept on; `jumps[n]` is added after the n-th
    sleep (a suspend, or the clock set forward / back)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self.sleeps: list[float] = []
        self.jumps: dict[int, float] = {}

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds + self.jumps.get(len(self.sleeps), 0.0)
        await asyncio.sleep(0)


async def refreshes(poller: PolicyPoller, clock: FakeClock, *, until: float, at_once: bool = True) -> list[float]:
    """Run the poller until the fake clock passes `until` (seconds from its start); the
    times (from the start) at which it refreshed."""
    start = clock.t
    seen: list[float] = []

    async def refresh() -> None:
        seen.append(clock.t - start)

    poller.refresh = refresh
    task = asyncio.ensure_future(poller.run(at_once=at_once))
    try:
        while clock.t - start < until:
            await asyncio.sleep(0)
            assert not task.done(), task
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    return seen


def poller(clock: FakeClock, minutes: float = 60.0, seed: int = 1) -> PolicyPoller:
    async def nothing() -> None:
        return None

    return PolicyPoller(nothing, lambda: minutes * 60.0, clock, random.Random(seed))


@pytest.mark.asyncio
async def test_refresh_at_start_then_every_interval_within_ten_percent_never_one_long_sleep() -> None:
    clock = FakeClock()
    seen = await refreshes(poller(clock), clock, until=12 * 3600)
    assert seen[0] == 0
    gaps = [b - a for a, b in zip(seen, seen[1:], strict=False)]
    assert len(gaps) >= 10
    assert all(0.9 * 3600 <= g <= 1.1 * 3600 + 0.1 for g in gaps), gaps
    assert len({round(g) for g in gaps}) > 1  # jittered, so clients spread out
    assert max(clock.sleeps) <= MAX_TICK_S


@pytest.mark.asyncio
async def test_without_at_once_the_first_refresh_is_one_interval_later() -> None:
    clock = FakeClock()
    seen = await refreshes(poller(clock, minutes=10), clock, until=700, at_once=False)
    assert len(seen) == 1 and 540 <= seen[0] <= 660.1


@pytest.mark.asyncio
async def test_after_a_suspend_past_the_moment_it_refreshes_at_once_and_only_once() -> None:
    clock = FakeClock()
    clock.jumps[3] = 5 * 3600.0  # the laptop slept five hours during the third tick
    seen = await refreshes(poller(clock), clock, until=5 * 3600 + 200)
    assert seen[0] == 0
    assert len(seen) == 2  # one refresh for the five missed hours, not five
    assert 5 * 3600 < seen[1] <= 5 * 3600 + 3 * MAX_TICK_S + 1


@pytest.mark.asyncio
async def test_a_clock_set_back_does_not_postpone_the_refresh_by_the_jump() -> None:
    clock = FakeClock()
    clock.jumps[2] = -86400.0  # set back a day
    start = clock.t
    seen: list[float] = []

    async def refresh() -> None:
        seen.append(clock.t)

    p = poller(clock, minutes=10)
    p.refresh = refresh
    task = asyncio.ensure_future(p.run())
    try:
        while len(seen) < 2:
            await asyncio.sleep(0)
            assert clock.t - start < 3600, "the refresh waited for the day the clock went back"
    finally:
        task.cancel()
    elapsed = sum(clock.sleeps)  # time that really passed, whatever the clock says
    assert 540 <= elapsed <= 660.1


@pytest.mark.asyncio
async def test_a_failing_refresh_is_logged_and_the_poll_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    calls = 0

    async def refresh() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("the site fell over")

    p = PolicyPoller(refresh, lambda: 60.0, clock, random.Random(2))
    task = asyncio.ensure_future(p.run())
    with caplog.at_level(logging.ERROR, logger="software_center.agent"):
        while calls < 3:
            await asyncio.sleep(0)
    task.cancel()
    assert "The policy refresh failed" in caplog.text and "the site fell over" in caplog.text


@pytest.mark.asyncio
async def test_a_changed_interval_applies_from_now_when_rescheduled() -> None:
    clock = FakeClock()
    minutes = [60.0]
    seen: list[float] = []
    start = clock.t

    async def refresh() -> None:
        seen.append(clock.t - start)

    p = PolicyPoller(refresh, lambda: minutes[0] * 60, clock, random.Random(3))
    task = asyncio.ensure_future(p.run())
    try:
        while clock.t - start < 100:
            await asyncio.sleep(0)
        minutes[0] = 1.0
        p.reschedule()
        while len(seen) < 2:
            await asyncio.sleep(0)
    finally:
        task.cancel()
    assert 100 + 54 <= seen[1] <= 100 + 66 + MAX_TICK_S
