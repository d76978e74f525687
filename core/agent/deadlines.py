"""Required deployments at their deadline: what the agent's schedule says about each one
now, decided by a pure function of the listings, what the agent remembers, and the time
(`plan`), so the rules are tested with any clock.

- A required deployment with a deadline that is eligible here gets a notice period of
  `notice_s` before it starts by itself: the countdown begins `notice_s` before the
  deadline, or when the agent first sees it inside that period if that is later (a
  laptop that was off at the deadline, or a deadline published at short notice, gets
  the full notice). It starts at `max(deadline, noticed + notice_s)`.
- One that already succeeded here never runs again.
- The agent starts it by itself at most once per deadline ("started"): if that run fails
  or is cancelled, it waits for the person (or a new deadline from the admin).
- One that is refused on this connection (intranet-only while on the internet, content
  only on the corporate network) waits, shown as waiting with the reason, and is looked
  at again on every tick, refresh and connection change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ..eligibility import Listing, Refusal
from ..fsutil import atomic_write_bytes
from .schedule import Clock, SystemClock

__all__ = ["DeadlineKeeper", "DeadlineMemory", "Due", "plan"]

log = logging.getLogger("software_center.agent")

# Refusals that pass with time or place: the deployment waits. Others (expired, media
# only...) take it out of the schedule.
WAITING_REFUSALS = frozenset({Refusal.INTRANET_ONLY, Refusal.CONTENT_NOT_ON_INTERNET,
                              Refusal.DIRECT_ACCESS_ON_INTERNET})

State = Literal["scheduled", "countdown", "due", "started", "waiting", "done"]


@dataclass(frozen=True)
class Due:
    """What the schedule says of one required deployment now."""

    deployment: str
    name: str
    deadline: float  # wall-clock seconds
    state: State
    starts_at: float | None = None  # countdown / due: when it starts (or started) by itself
    reason: str | None = None  # waiting: the refusal code (or why the start failed)
    message: str | None = None

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "deployment": self.deployment, "name": self.name, "state": self.state,
            "deadline": _iso(self.deadline),
            "starts_at": _iso(self.starts_at) if self.starts_at is not None else None,
            "seconds_left": max(0.0, round(self.starts_at - now, 1)) if self.starts_at is not None else None,
            "reason": self.reason, "message": self.message,
        }


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class DeadlineMemory:
    """What the agent keeps across restarts (`<data>/agent/schedule.json`): when it first
    gave notice of each deadline, which deployments succeeded, and which deadline it already
    started by itself. Keys are `ID@deadline`, so a new deadline from the admin starts over."""

    noticed: dict[str, float] = field(default_factory=dict)
    started: dict[str, float] = field(default_factory=dict)
    succeeded: dict[str, float] = field(default_factory=dict)  # by deployment ID

    @staticmethod
    def key(deployment: str, deadline: float) -> str:
        return f"{deployment}@{_iso(deadline)}"

    @classmethod
    def load(cls, path: Path) -> DeadlineMemory:
        try:
            raw = json.loads(path.read_bytes())
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("The schedule's memory %s cannot be read (%s); starting it over", path, exc)
            return cls()
        out = cls()
        for name in ("noticed", "started", "succeeded"):
            value = raw.get(name) if isinstance(raw, dict) else None
            if isinstance(value, dict):
                getattr(out, name).update({str(k): float(v) for k, v in value.items()
                                           if isinstance(v, int | float) and not isinstance(v, bool)})
        return out

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps({"noticed": self.noticed, "started": self.started,
                                             "succeeded": self.succeeded}, indent=1).encode())
        os.chmod(path, 0o600)


def plan(listings: Iterable[Listing], memory: DeadlineMemory, now: float, notice_s: float) -> list[Due]:
    """Every required deployment with a deadline, as the schedule sees it at `now`. Records
    in `memory.noticed` the countdowns that begin now (the caller saves it)."""
    out = []
    for item in listings:
        dep = item.deployment
        if dep.purpose != "required" or dep.deadline is None:
            continue
        deadline = dep.deadline.timestamp()
        key = DeadlineMemory.key(dep.id, deadline)
        base = Due(dep.id, dep.name, deadline, "scheduled")
        if dep.id in memory.succeeded:
            out.append(replace(base, state="done"))
            continue
        if key in memory.started:
            out.append(replace(base, state="started", starts_at=memory.started[key]))
            continue
        verdict = item.verdict
        if not verdict.eligible:
            if verdict.refusal in WAITING_REFUSALS and now >= deadline - notice_s:
                out.append(replace(base, state="waiting", reason=verdict.refusal.value if verdict.refusal else None,
                               message=verdict.message))
            elif verdict.refusal is Refusal.NOT_YET_AVAILABLE:
                out.append(replace(base, state="scheduled"))
            continue  # expired, or not for this client at all
        if now < deadline - notice_s:
            # Seen before its notice begins: the countdown will begin on time.
            memory.noticed.setdefault(key, deadline - notice_s)
            out.append(replace(base, state="scheduled"))
            continue
        noticed = memory.noticed.setdefault(key, now)
        starts_at = max(deadline, noticed + notice_s)
        out.append(replace(base, state="due" if now >= starts_at else "countdown", starts_at=starts_at))
    return out


def forget_gone(memory: DeadlineMemory, keys: Mapping[str, object]) -> bool:
    """Drop notices and starts of deadlines no longer in the catalog; True if it changed."""
    before = (len(memory.noticed), len(memory.started))
    memory.noticed = {k: v for k, v in memory.noticed.items() if k in keys}
    memory.started = {k: v for k, v in memory.started.items() if k in keys}
    return before != (len(memory.noticed), len(memory.started))


class DeadlineKeeper:
    """The agent's deadline loop: looks at the schedule on a short wall-clock tick (and
    when woken: a new catalog, a run ended, a connection change), keeps `self.schedule`
    for /v1/status, and starts the soonest due deployment when no run is under way.

    `listings(now)`: the agent's listings at that time (None: no site open). `busy()`: a
    run is under way. `start(id)`: start a run of it (raises when it cannot start; the
    exception's text is shown as the reason it waits). `notice_s()`: the notice period.
    """

    TICK_S = 15.0

    def __init__(self, memory_path: Path, listings: Callable[[datetime], list[Listing] | None],
                 busy: Callable[[], bool], start: Callable[[str], Awaitable[object]],
                 notice_s: Callable[[], float], clock: Clock | None = None) -> None:
        self.memory_path = memory_path
        self.memory = DeadlineMemory.load(memory_path)
        self.listings = listings
        self.busy = busy
        self.start = start
        self.notice_s = notice_s
        self.clock = clock or SystemClock()
        self.schedule: list[dict[str, Any]] = []
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def succeeded(self, deployment: str) -> None:
        """A run of `deployment` succeeded: a required one never runs again by itself."""
        if deployment:
            self.memory.succeeded[deployment] = self.clock.now()
            self._save()
            self.wake()

    def _save(self) -> None:
        try:
            self.memory.save(self.memory_path)
        except OSError as exc:
            log.warning("The schedule's memory could not be saved: %s", exc)

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("The deadline check failed")
            # Wall-clock time on a short tick, and on time for the next countdown's end.
            ends = [e["seconds_left"] for e in self.schedule if e["state"] == "countdown"]
            nap = min([self.TICK_S, *[max(0.05, float(x)) for x in ends]])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), nap)
            self._wake.clear()

    async def check(self) -> None:
        """Look at every deadline now; start the soonest due one if nothing runs."""
        now = self.clock.now()
        listed = self.listings(datetime.fromtimestamp(now, UTC))
        if listed is None:
            self.schedule = []
            return
        before = (dict(self.memory.noticed), dict(self.memory.started))
        dues = plan(listed, self.memory, now, self.notice_s())
        keys = {DeadlineMemory.key(d.deployment, d.deadline): None for d in dues}
        forget_gone(self.memory, keys)
        for d in dues:
            if d.state == "countdown" and before[0].get(DeadlineMemory.key(d.deployment, d.deadline)) is None:
                log.info("The required deployment %s (%s) has its deadline at %s: it starts by itself at %s",
                         d.deployment, d.name, _iso(d.deadline), _iso(d.starts_at or d.deadline))
        self.schedule = [d.as_json(now) for d in sorted(dues, key=lambda d: d.deadline)]
        due = sorted((d for d in dues if d.state == "due"), key=lambda d: d.deadline)
        if due and not self.busy():
            first = due[0]
            log.info("The required deployment %s (%s) reached its deadline: it starts now", first.deployment,
                     first.name)
            try:
                await self.start(first.deployment)
            except Exception as exc:  # it waits (another run is saved, the site is gone...)
                why = getattr(exc, "message", None) or str(exc)
                log.warning("The required deployment %s cannot start now: %s", first.deployment, why)
                for entry in self.schedule:
                    if entry["deployment"] == first.deployment:
                        entry.update(state="waiting", reason=getattr(exc, "code", None) or "cannot_start",
                                     message=why)
            else:
                self.memory.started[DeadlineMemory.key(first.deployment, first.deadline)] = now
                for entry in self.schedule:
                    if entry["deployment"] == first.deployment:
                        entry.update(state="started")
        if before != (self.memory.noticed, self.memory.started):
            self._save()
