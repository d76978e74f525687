"""Facts the engine reports while it works: immutable events, one producer, many consumers.

Each progress event carries the whole current state (bytes done, total, rate), so a
dropped or late event never leaves a view wrong. Consumers (the window's bridge, the
CLI's JSON and terminal views, the log) receive them through an `EventSink`.
`to_json(event)` gives the JSON Lines form of the command line (docs/CLI.md).

Every event of a run carries the run's `run_id` (set by the engine as it emits); step
events carry `ip`, the instruction pointer of their step in the flattened tree (groups
included), so a view can find its row without matching names. Statuses are enums whose
values are the JSON strings.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from .errors import ErrorCode

if TYPE_CHECKING:
    from .eligibility import Refusal

__all__ = [
    "DownloadStatus",
    "RunOutcome",
    "RunResult",
    "SkipReason",
    "StepOutcome",
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


class RunOutcome(enum.StrEnum):
    """How a run (or a resume) ended."""

    SUCCEEDED = "succeeded"  # every step that ran succeeded (or failed with continue-on-error)
    FAILED = "failed"  # a step failed and nothing continued on error, or the run could not go on
    CANCELLED = "cancelled"  # stopped by the user; `resume` continues it
    RESTART_PENDING = "restart_pending"  # stopped for a restart; `resume` continues it after
    REFUSED = "refused"  # never started: the deployment may not run here (RunResult only)


class StepOutcome(enum.StrEnum):
    """How a step that ran ended."""

    SUCCEEDED = "succeeded"  # a success code (or the step has no program and did its work)
    FAILED = "failed"  # any other code, a timeout, or content that could not be made available


class DownloadStatus(enum.StrEnum):
    """Where a package's download stands, as a view that follows the events keeps it."""

    ACTIVE = "active"  # bytes are arriving (download_started / download_progress)
    RETRYING = "retrying"  # an attempt failed; the next one waits (download_retrying)
    FINISHED = "finished"  # every file verified (download_finished)
    FAILED = "failed"  # every location failed (download_failed)


class SkipReason(enum.StrEnum):
    """Why a step or group did not run."""

    CONDITION = "condition"  # its condition evaluated to false
    DISABLED = "disabled"  # the admin disabled it


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every engine event. `event` is its JSON name; `run_id` names the run (None
    only for a refusal, which starts no run)."""

    event = "event"
    run_id: str | None = field(default=None, kw_only=True)


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
    """The deployment may not run here; nothing was started. `reason` is a docs/CLI.md refusal code."""

    event = "refused"
    deployment: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class RunStarted(Event):
    """A task sequence began (or resumed: `resumed` true). `name` is the deployment's name;
    `total_steps`: the run's enabled non-group steps, fixed when it started."""

    event = "ts_started"
    deployment: str
    task_sequence: str
    name: str
    total_steps: int
    connection: str
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class StepStarted(Event):
    """Step `index` of `total` began: its 1-based position among the run's enabled non-group
    steps. `total` never changes during a run; a skipped step's position is passed over."""

    event = "step_started"
    index: int
    total: int
    name: str
    type: str
    ip: int = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class StepSkipped(Event):
    """A step or group did not run (`why`). `total` is the run's fixed step count."""

    event = "step_skipped"
    name: str
    why: SkipReason
    total: int
    ip: int = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class StepProgressed(Event):
    """The running step's own progress (a program's PROGRESS line, or its download)."""

    event = "step_progress"
    index: int
    percent: float
    text: str
    ip: int = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class StepFinished(Event):
    """Step `index` ended. `exit_code` is the program's (0 for steps without one; None when
    it was stopped). On failure `reason` is the stable code and `error` the English detail."""

    event = "step_finished"
    index: int
    name: str
    status: StepOutcome
    exit_code: int | None
    error: str | None = None  # for logs: why it failed
    ip: int = field(kw_only=True)
    reason: ErrorCode | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class RestartPending(Event):
    """The run stopped for a restart after step `after_step` (its name); `resume` continues."""

    event = "restart_pending"
    after_step: str
    countdown_s: int = 0
    message: str | None = None


@dataclass(frozen=True, slots=True)
class RunFinished(Event):
    """The run ended. On failure or cancel, `reason` is the stable code, `error` the English
    detail (for logs) and `error_code` the number (hex for admins)."""

    event = "ts_finished"
    status: RunOutcome
    error: str | None
    error_code: int | None
    reason: ErrorCode | None = field(default=None, kw_only=True)


EventSink = Callable[[Event], None]


def to_json(event: Event) -> dict[str, Any]:
    """The event as a JSON object: `{"event": name, **fields}`; enums become their values."""
    out: dict[str, Any] = {"event": event.event}
    for f in fields(event):
        value = getattr(event, f.name)
        out[f.name] = value.value if isinstance(value, enum.Enum) else value
    return out


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run (or resume) ended; `reason` is the stable failure code (None on success)."""

    status: RunOutcome
    error: str | None = None
    error_code: int | None = None
    refusal: Refusal | None = None
    reason: ErrorCode | None = None

    @property
    def exit_code(self) -> int:
        """The command line's exit code for this result."""
        return {
            RunOutcome.SUCCEEDED: 0, RunOutcome.REFUSED: 3, RunOutcome.FAILED: 4,
            RunOutcome.RESTART_PENDING: 5, RunOutcome.CANCELLED: 130,
        }[self.status]
