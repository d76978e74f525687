"""The background pre-cache: the content of deployments marked `precache` (by default the
required ones) downloaded before anyone installs them, so the install starts with
everything verified in the cache.

- Only deployments that may run here now: the verdict on the current connection is
  "eligible" (so from `available_from` on, never once expired, never content the
  connection may not use), and not `direct` (that content is never cached).
- Soonest deadline first.
- One rate limit for all of it (`precache_rate_mbps`, megabits per second): a person's
  own downloads are never throttled, this one always is.
- Paused while a run is under way (the run's own downloads go first; the partial file
  is kept and the pre-cache resumes it after the run), and on a metered link unless
  `precache_on_metered` (NetworkManager's `Metered`, core/netstate.py; where nothing
  answers, the log says so and the link counts as unmetered).
- Every byte is verified as for a run (ContentStore.fetch); a package that fails is
  tried again after a back-off, the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..catalog import referenced_packages
from ..content import Throttle
from ..errors import SoftwareCenterError
from ..events import DownloadFinished, DownloadProgressed, DownloadStarted, Event
from ..netstate import LinkCost, read_link_cost

if TYPE_CHECKING:
    from ..center import SoftwareCenter

__all__ = ["Precacher"]

log = logging.getLogger("software_center.agent")

TICK_S = 30.0  # looked at again at least this often (new deployments, availability, metering)
RETRY_S = 300.0  # a package that failed is tried again after this long


class Precacher:
    """`center()`: the agent's open center (None: no site yet). `busy()`: a run is under
    way. `rate_bps()`: the limit in bytes per second. `on_metered()`: allowed on a
    metered link. `link_cost()`: NetworkManager's answer (blocking; run on a thread)."""

    def __init__(self, center: Callable[[], SoftwareCenter | None], busy: Callable[[], bool],
                 rate_bps: Callable[[], float], on_metered: Callable[[], bool],
                 link_cost: Callable[[], LinkCost] = read_link_cost, delay_s: float = 60.0) -> None:
        self.center = center
        self.delay_s = delay_s  # after start and after a new catalog: a command that only lists starts nothing
        self.busy = busy
        self.on_metered = on_metered
        self.link_cost = link_cost
        self.throttle = Throttle(rate_bps)
        self.state: dict[str, Any] = {"state": "idle", "deployment": None, "package": None,
                                      "bytes": 0, "total_bytes": 0, "reason": None}
        self._wake = asyncio.Event()
        self._fetch: asyncio.Task[Any] | None = None
        self._failed: dict[str, float] = {}  # package key -> when it may be tried again
        self._cost_said: str | None = None
        self._held = False  # a run is being launched or is under way
        self._not_before = time.monotonic() + delay_s

    def wake(self, *, settle: bool = False) -> None:
        """Look again now (a run ended, a setting changed), or after the delay (`settle`:
        a new catalog, the site opened)."""
        if settle:
            self._not_before = max(self._not_before, time.monotonic() + self.delay_s)
        self._wake.set()

    async def pause(self) -> None:
        """A run starts: stop the download under way and wait until it has stopped writing
        (its partial file is kept, and resumed after the run). Held until `release()`."""
        self._held = True
        fetch = self._fetch
        if fetch is not None and not fetch.done():
            log.info("Pre-cache paused: a run starts")
            fetch.cancel()
            await asyncio.wait({fetch})
        self._set("paused", reason="run_active")

    def release(self) -> None:
        """The run is over: carry on."""
        self._held = False
        self.wake()

    def _set(self, state: str, **more: Any) -> None:
        self.state = {"state": state, "deployment": None, "package": None, "bytes": 0, "total_bytes": 0,
                      "reason": None, **more}

    async def run(self) -> None:
        while True:
            try:
                await self._pass()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug: said, and the pre-cache goes on at the next tick
                log.exception("The pre-cache failed unexpectedly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_S)
            self._wake.clear()

    async def _pass(self) -> None:
        """Download what is due, one package at a time, until nothing is left or a reason
        to stop comes up."""
        wait = self._not_before - time.monotonic()
        if wait > 0:
            self._set("waiting", reason="starting")
            await asyncio.sleep(wait)
        while True:
            center = self.center()
            if center is None or center.catalog is None or center.connection is None:
                self._set("idle")
                return
            if self._held or self.busy():
                self._set("paused", reason="run_active")
                return
            work = self._next(center)
            if work is None:
                self._set("idle")
                return
            if not await self._link_allows():
                return
            dep_id, pid = work
            pkg = center.catalog.packages[pid]
            key = f"{pid}.{pkg.version}"
            self._set("downloading", deployment=dep_id, package=pid, total_bytes=pkg.total_bytes,
                      bytes=pkg.total_bytes - center.store.remaining_bytes(pid, pkg))
            log.info("Pre-cache: downloading %s for %s in the background", pid, dep_id)
            fetch = self._fetch = asyncio.ensure_future(center.store.fetch(
                pid, pkg, center.catalog.url, center.connection, on_event=self._event,
                allow_cloud=center.options.allow_cloud_content, throttle=self.throttle))
            try:
                await asyncio.wait({fetch})  # pause() cancels the fetch, not this loop
            except asyncio.CancelledError:  # the agent stops: the partial file stays
                fetch.cancel()
                await asyncio.wait({fetch})
                raise
            finally:
                self._fetch = None
            if fetch.cancelled():
                continue  # paused for a run: the next turn says so
            exc = fetch.exception()
            if isinstance(exc, SoftwareCenterError):
                log.warning("Pre-cache of %s failed (tried again in %g s): %s", pid, RETRY_S, exc)
                self._failed[key] = time.monotonic() + RETRY_S
            elif exc is not None:
                raise exc

    def _next(self, center: SoftwareCenter) -> tuple[str, str] | None:
        """(deployment, package) to download next: soonest deadline first."""
        catalog = center.catalog
        assert catalog is not None
        listings = [item for item in center.listings(where=lambda d: d.wants_precache and d.download != "direct")
                    if item.verdict.eligible and item.download_bytes > 0]
        far = float("inf")
        listings.sort(key=lambda item: (item.deployment.deadline.timestamp() if item.deployment.deadline else far,
                                        item.deployment.id))
        now = time.monotonic()
        for item in listings:
            for pid in referenced_packages(catalog.task_sequences[item.deployment.task_sequence]):
                pkg = catalog.packages[pid]
                if self._failed.get(f"{pid}.{pkg.version}", 0) > now:
                    continue
                if not center.store.is_complete(pid, pkg):
                    return item.deployment.id, pid
        return None

    async def _link_allows(self) -> bool:
        cost = await asyncio.to_thread(self.link_cost)
        if cost.why != self._cost_said:
            self._cost_said = cost.why
            if cost.metered is None:
                log.info("Pre-cache: %s; the link is treated as unmetered", cost.why)
            else:
                log.info("Pre-cache: %s", cost.why)
        if cost.treat_as_metered and not self.on_metered():
            self._set("paused", reason="metered")
            return False
        return True

    def _event(self, event: Event) -> None:
        if isinstance(event, DownloadStarted):
            self.state.update(bytes=min(event.cached_bytes, event.total_bytes), total_bytes=event.total_bytes)
        elif isinstance(event, DownloadProgressed):
            self.state.update(bytes=event.bytes, total_bytes=event.total_bytes)
        elif isinstance(event, DownloadFinished):
            self.state.update(bytes=self.state["total_bytes"])
            log.info("Pre-cache: %s is in the cache and verified", event.package)
