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
    "DownloadFailed",
    "DownloadFinished",
    "DownloadProgressed",
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


EventSink = Callable[[Event], None]


def to_json(event: Event) -> dict[str, Any]:
    """The event as a CLI.md JSON object: `{"event": name, **fields}`."""
    out: dict[str, Any] = {"event": event.event}
    out.update({f.name: getattr(event, f.name) for f in fields(event)})
    return out


