"""Facts the engine reports while it works: immutable events, one producer, many consumers.

Each progress event carries the whole current state (bytes done, total, rate), so a
dropped or late event never leaves a view wrong. Consumers (the window's bridge, the
CLI's JSON and terminal views, the log) receive them through an `EventSink`.
`to_json(event)` gives the CLI.md JSON Lines form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "RestartPending",
    "RunFinished",
    "RunRefused",
    "RunStarted",
    "StepFinished",
    "StepProgressed",
    "StepSkipped",
    "StepStarted",
    "DownloadFailed",
    "DownloadFinished",
    "DownloadProgressed",
    "DownloadRetrying",
    "DownloadStarted",
    "Event",
    "EventSink",
    "to_json",
]


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every engine event. `event` is its CLI.md name."""

    event = "event"


@dataclass(frozen=True, slots=True)
class DownloadStarted(Event):
    """A package's download began at `location` (query string already removed)."""

    event = "download_started"
    package: str
    total_bytes: int
    cached_bytes: int
    location: str


@dataclass(frozen=True, slots=True)
class DownloadProgressed(Event):
    """Bytes of the package present so far (cached + transferred); rate in bytes/s, None if unknown."""

    event = "download_progress"
    package: str
    bytes: int
    total_bytes: int
    rate_bps: float | None
    eta_s: float | None = None


@dataclass(frozen=True, slots=True)
class DownloadRetrying(Event):
    """A file of the package failed (`reason`); it is tried again at `location` after `delay_s`.

    `attempt` counts tries at that location (1: the first try at a new location).
    """

    event = "download_retrying"
    package: str
    path: str
    location: str
    attempt: int
    delay_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class DownloadFinished(Event):
    """Every file of the package is present and matched its SHA-256."""

    event = "download_finished"
    package: str
    bytes_transferred: int
    verified: bool = True


@dataclass(frozen=True, slots=True)
class DownloadFailed(Event):
    """The package could not be downloaded from any location; `error` says why (for logs)."""

    event = "download_failed"
    package: str
    error: str


@dataclass(frozen=True, slots=True)
class RunRefused(Event):
    """The deployment may not run here; nothing was started. `reason` is a CLI.md refusal code."""

    event = "refused"
    deployment: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class RunStarted(Event):
    """A task sequence began (or resumed: `resumed` true). `total_steps`: executable steps expected."""

    event = "ts_started"
    deployment: str
    task_sequence: str
    name: str
    total_steps: int
    connection: str
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class StepStarted(Event):
    """Executable step `index` of `total` (1-based; groups, disabled and skipped steps not counted)."""

    event = "step_started"
    index: int
    total: int
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class StepSkipped(Event):
    """A step or group did not run: `why` is `condition` or `disabled`. `total` is the new count."""

    event = "step_skipped"
    name: str
    why: str
    total: int


@dataclass(frozen=True, slots=True)
class StepProgressed(Event):
    """The running step's own progress (a program's PROGRESS line, or its download)."""

    event = "step_progress"
    index: int
    percent: float
    text: str


@dataclass(frozen=True, slots=True)
class StepFinished(Event):
    """Step `index` ended. `exit_code` is the program's (0 for steps without one)."""

    event = "step_finished"
    index: int
    name: str
    status: str  # succeeded | failed
    exit_code: int | None
    error: str | None = None  # for logs: why it failed


@dataclass(frozen=True, slots=True)
class RestartPending(Event):
    """The run stopped for a restart after step `after_step` (its name); `resume` continues."""

    event = "restart_pending"
    after_step: str
    countdown_s: int = 0
    message: str | None = None


@dataclass(frozen=True, slots=True)
class RunFinished(Event):
    """The run ended: succeeded, failed, cancelled or restart_pending."""

    event = "ts_finished"
    status: str
    error: str | None
    error_code: int | None


EventSink = Callable[[Event], None]


def to_json(event: Event) -> dict[str, Any]:
    """The event as a CLI.md JSON object: `{"event": name, **fields}`."""
    out: dict[str, Any] = {"event": event.event}
    out.update({f.name: getattr(event, f.name) for f in fields(event)})
    return out


