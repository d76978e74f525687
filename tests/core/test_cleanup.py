"""core.cleanup.shielded: clean-up that a cancel cannot cut short, and a cancel never lost."""

from __future__ import annotations

import asyncio

import pytest

from core.cleanup import shielded


@pytest.mark.asyncio
async def test_the_clean_up_runs_to_its_end_through_two_cancels_then_the_cancel_is_raised() -> None:
    steps: list[str] = []
    started = asyncio.Event()

    async def clean_up() -> None:
        started.set()
        await asyncio.sleep(0.2)
        steps.append("done")

    async def cancelled_caller() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await shielded(clean_up())
            steps.append("not reached")
            raise

    task = asyncio.create_task(cancelled_caller())
    await asyncio.sleep(0.01)
    task.cancel()
    await started.wait()
    task.cancel()  # a second Ctrl-C
    with pytest.raises(asyncio.CancelledError):
        await task
    assert steps == ["done"]


@pytest.mark.asyncio
async def test_a_failing_clean_up_after_a_cancel_still_raises_the_cancel() -> None:
    started = asyncio.Event()

    async def clean_up() -> None:
        started.set()
        await asyncio.sleep(0.05)
        raise OSError("taskkill is missing")

    task = asyncio.create_task(shielded(clean_up()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.asyncio
async def test_without_a_cancel_it_returns_the_result_or_raises_the_failure() -> None:
    async def value() -> int:
        return 7

    async def broken() -> None:
        raise OSError("no")

    assert await shielded(value()) == 7
    with pytest.raises(OSError):
        await shielded(broken())
