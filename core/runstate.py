"""A task-sequence run's persisted state, the data folder's run lock, and the run history.

    <data>/state/run.json        the current run (absent when none); atomic writes only
    <data>/state/catalog.json    the catalog the run started with (resume uses this copy)
    <data>/state/run.lock        held (flock / msvcrt) while a process runs or resumes
    <data>/state/history.json    finished runs, newest last
    <data>/state/steps/          one attempt of a step's program: ticket, lock, result
                                 (core/stephost.py); removed with the run

The state is saved after every step and before a restart, so a crash at any moment
loses at most the step that was running; `in_progress` says which one that was, and
`attempt` names its program's host, whose recorded result `resume` uses instead of
running a program that had in fact finished.
"""

from __future__ import annotations

import enum
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import ErrorCode, RunError
from .fsutil import atomic_write_bytes, try_lock, unlock

__all__ = [
    "HistoryEntry",
    "RunLock",
    "RunState",
    "RunStatus",
    "append_history",
    "clear_state",
    "load_history",
    "load_state",
    "save_state",
    "state_dir",
    "steps_dir",
]

STATE_VERSION = 1
MAX_HISTORY = 200


class RunStatus(enum.StrEnum):
    """Where a run stands."""

    RUNNING = "running"  # a process is executing it (or was, until it crashed)
    RESTART_PENDING = "restart_pending"  # stopped for a restart; `resume` continues it
    CANCELLED = "cancelled"  # stopped by the user; `resume` continues it
    SUCCEEDED = "succeeded"  # finished; kept only in the history
    FAILED = "failed"  # finished; kept only in the history


@dataclass
class RunState:
    """Everything `resume` needs. Mutable: the engine updates it, then saves it whole."""

    run_id: str
    deployment: str
    task_sequence: str
    name: str
    site: str | None  # the site setting (None: embedded demo site)
    connection_setting: str
    launch_mode: str
    started_at: str
    ip: int = 0  # next instruction to execute (index into the flattened step list)
    in_progress: int | None = None  # instruction started but not finished (crash → run it again)
    child_pgid: int | None = None  # process group of the running step's program, to clean up
    attempt: str | None = None  # token of the running step's program host (state/steps/<token>.*)
    step_started_at: float | None = None  # when the running step started (epoch s): its timeout after a crash
    executed: int = 0  # counted steps before the pointer (before the running step): "Step executed+1 of total"
    total: int = 0  # the run's enabled non-group steps, fixed when it starts
    variables: dict[str, Any] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)  # one per finished step
    failed: bool = False  # a failure is propagating (sequence fails unless a group continues)
    status: RunStatus = RunStatus.RUNNING
    prepared: bool = False  # pre-flight passed and, for all_before_start, every package is verified
    error: str | None = None  # once finished (SUCCEEDED/FAILED): the result, reported again by resume
    error_code: int | None = None
    error_reason: str | None = None  # its stable code (core/errors.ErrorCode)
    bytes_transferred: int = 0
    version: int = STATE_VERSION


def state_dir(data_dir: Path) -> Path:
    return data_dir / "state"


def save_state(data_dir: Path, state: RunState) -> None:
    """Atomic (temp file, fsync, rename). Raises OSError if the folder cannot be written."""
    data = asdict(state)
    data["status"] = state.status.value
    atomic_write_bytes(state_dir(data_dir) / "run.json", json.dumps(data, indent=1).encode())
    try:
        os.chmod(state_dir(data_dir) / "run.json", 0o600)  # may hold secret variable values
    except OSError:
        pass


_DISCARD = "delete it to discard that run"


def load_state(data_dir: Path) -> RunState | None:
    """The current run, or None. A damaged file raises RunError (never a traceback)."""
    path = state_dir(data_dir) / "run.json"
    try:
        raw = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise RunError(
            f"the saved run state {path} is unreadable ({exc}); {_DISCARD}", ErrorCode.RUN_STATE_DAMAGED
        ) from None
    try:
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        if raw.get("version") != STATE_VERSION:
            raise ValueError(f"version {raw.get('version')!r}")
        raw["status"] = RunStatus(raw["status"])
        state = RunState(**raw)
        _check_types(state)
        return state
    except (TypeError, ValueError, KeyError) as exc:
        raise RunError(f"the saved run state {path} is not understood ({exc}); {_DISCARD}",
                       ErrorCode.RUN_STATE_DAMAGED) from None


_STATE_TYPES: dict[str, tuple[type, ...]] = {
    "run_id": (str,), "deployment": (str,), "task_sequence": (str,), "name": (str,),
    "site": (str, type(None)), "connection_setting": (str,), "launch_mode": (str,), "started_at": (str,),
    "ip": (int,), "in_progress": (int, type(None)), "child_pgid": (int, type(None)),
    "attempt": (str, type(None)), "step_started_at": (int, float, type(None)),
    "executed": (int,), "total": (int,), "variables": (dict,), "results": (list,), "failed": (bool,),
    "prepared": (bool,), "error": (str, type(None)), "error_code": (int, type(None)),
    "error_reason": (str, type(None)),
    "bytes_transferred": (int,),
}


def _check_types(state: RunState) -> None:
    """A hand-edited or damaged state fails here, in words, not later in the engine."""
    for name, types in _STATE_TYPES.items():
        value = getattr(state, name)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ValueError(f"{name}: unexpected value {value!r}")
    if state.ip < 0 or (state.in_progress is not None and state.in_progress < 0):
        raise ValueError("the instruction pointer is negative")
    values = state.variables.get("values", {})
    if not isinstance(values, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        raise ValueError("variables: expected names and text values")
    if not all(isinstance(r, dict) for r in state.results):
        raise ValueError("results: expected objects")
    if state.attempt is not None and not state.attempt.isalnum():
        raise ValueError(f"attempt: unexpected value {state.attempt!r}")


def steps_dir(data_dir: Path) -> Path:
    """Where step program hosts keep their tickets, locks and results (core/stephost.py)."""
    return state_dir(data_dir) / "steps"


def clear_state(data_dir: Path) -> None:
    """Forget the current run (its history entry stays)."""
    for name in ("run.json", "catalog.json"):
        try:
            (state_dir(data_dir) / name).unlink()
        except FileNotFoundError:
            pass
    shutil.rmtree(steps_dir(data_dir), ignore_errors=True)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One finished (or stopped) run, for Installation status."""

    run_id: str
    deployment: str
    name: str
    started_at: str
    finished_at: str
    status: str
    error: str | None
    error_code: int | None
    bytes_transferred: int
    reason: str | None = None  # the stable failure code (core/errors.ErrorCode), if it failed
    total_steps: int = 0  # the run's counted steps (0: not recorded, an entry of an older version)
    steps: list[dict[str, Any]] = field(default_factory=list)  # each finished step: index, name, status, exit_code


def append_history(data_dir: Path, entry: HistoryEntry) -> None:
    """Add or replace (same run_id) an entry; keeps the newest MAX_HISTORY."""
    entries = [e for e in load_history(data_dir) if e.run_id != entry.run_id]
    entries.append(entry)
    data = [asdict(e) for e in entries[-MAX_HISTORY:]]
    atomic_write_bytes(state_dir(data_dir) / "history.json", json.dumps(data, indent=1).encode())


def load_history(data_dir: Path) -> list[HistoryEntry]:
    """Past runs, oldest first; an unreadable history is empty (it is informational)."""
    try:
        raw = json.loads((state_dir(data_dir) / "history.json").read_bytes())
        return [HistoryEntry(**e) for e in raw]
    except (OSError, ValueError, TypeError):
        return []


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunLock:
    """An exclusive, non-blocking lock on the data folder's run. Released on close or process death."""

    def __init__(self, data_dir: Path) -> None:
        self.path = state_dir(data_dir) / "run.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Raises RunError when another process holds it."""
        fd = try_lock(self.path)
        if fd is None:
            raise RunError("another Software Center process is running a task sequence with this data folder",
                           ErrorCode.RUN_LOCKED)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            unlock(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
