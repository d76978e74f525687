"""Clean-up that a cancel cannot cut short: one helper for every "stop it, then re-raise".

When a run, a download or a step's program is cancelled, what it leaves behind must be
put in order first: the program tree stopped, the state saved, a worker thread out of
its file. `shielded(aw)` runs that clean-up to its end even when the awaiting task is
cancelled again meanwhile (a second Ctrl-C, a window closing), keeps the clean-up task
referenced while it runs, and then re-raises the cancellation it swallowed, so
cancellation is never lost (anyio's shielded cancel scope, in asyncio terms).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

__all__ = ["shielded"]

T = TypeVar("T")

log = logging.getLogger("software_center.cleanup")

# Clean-up tasks in flight: the event loop keeps only weak references to tasks.
_running: set[asyncio.Future[Any]] = set()


async def shielded(aw: Awaitable[T]) -> T:
    """Await `aw` to completion whatever cancels arrive meanwhile; return its result, or
    raise CancelledError afterwards if a cancel arrived while it ran.

    An exception of `aw` propagates as usual (after the wait).
    """
    task: asyncio.Future[T] = asyncio.ensure_future(aw)
    _running.add(task)
    task.add_done_callback(_running.discard)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():  # the clean-up itself was cancelled: nothing to wait for
                raise
            if not task.done():
                cancelled = True
                continue
            raise
        except Exception as exc:
            if cancelled:  # the cancel wins; the clean-up's failure is logged, not lost
                log.error("A clean-up after a cancel failed: %s", exc)
                raise asyncio.CancelledError from exc
            raise
        break
    if cancelled:
        raise asyncio.CancelledError
    return result
