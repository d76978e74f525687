"""A run's events on disk, as the agent keeps them: one JSON Lines file per run.

    <data>/agent/runs/<run_id>.jsonl    every event of the run, `to_json(event)` plus `seq`,
                                        appended (and flushed) as it comes
    <data>/agent/current.json           the agent's current (or last) run: its id,
                                        deployment, name, and the uid that started it

`seq` grows by one with every event the agent reports, across runs and restarts: a new
agent continues after the highest `seq` it finds on disk. A line cut short by a crash
is skipped when read, and the next append starts on a fresh line.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..fsutil import atomic_write_bytes

__all__ = [
    "EventLog",
    "RunPointer",
    "is_run_id",
    "last_seq_on_disk",
    "load_pointer",
    "prune",
    "read_events",
    "runs_dir",
    "save_pointer",
]

KEEP_RUNS = 50  # event logs kept; older ones are removed when a run starts
_RUN_ID = re.compile(r"^[0-9a-f]{8,64}\Z")


def is_run_id(text: str) -> bool:
    """A run id as the engine makes them (hex), so it is safe as a file name."""
    return bool(_RUN_ID.match(text))


def runs_dir(data_dir: Path) -> Path:
    return data_dir / "agent" / "runs"


def _pointer_path(data_dir: Path) -> Path:
    return data_dir / "agent" / "current.json"


RunPointer = dict[str, Any]  # {"run_id", "deployment", "name", "started_by"}


def load_pointer(data_dir: Path) -> RunPointer | None:
    """The current (or last) run the agent knows of; None when none or unreadable."""
    try:
        raw = json.loads(_pointer_path(data_dir).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("run_id"), str) or not is_run_id(raw["run_id"]):
        return None
    started_by = raw.get("started_by")
    raw["started_by"] = started_by if isinstance(started_by, int) and not isinstance(started_by, bool) else None
    raw["deployment"] = str(raw.get("deployment", ""))
    raw["name"] = str(raw.get("name", ""))
    return raw


def save_pointer(data_dir: Path, pointer: RunPointer) -> None:
    """Kept for the agent alone (atomic_write_bytes makes it mode 0600): a run's profile
    may hold a token."""
    atomic_write_bytes(_pointer_path(data_dir), json.dumps(pointer).encode())


def _parsed(line: bytes) -> dict[str, Any] | None:
    if not line.endswith(b"\n"):
        return None  # cut short by a crash
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("seq"), int):
        return None
    return obj


def read_events(path: Path) -> Iterator[tuple[int, bytes, dict[str, Any]]]:
    """(seq, line, event) for every complete line of a run's log, in order."""
    try:
        with open(path, "rb") as f:
            for line in f:
                obj = _parsed(line)
                if obj is not None:
                    yield obj["seq"], line, obj
    except FileNotFoundError:
        return


def last_seq_on_disk(data_dir: Path) -> int:
    """The highest `seq` of every kept run log (0: none)."""
    best = 0
    folder = runs_dir(data_dir)
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    for name in names:
        if name.endswith(".jsonl"):
            for seq, _line, _obj in read_events(folder / name):
                best = max(best, seq)
    return best


class EventLog:
    """The events of one run: its file, and the live followers' queues.

    Followers get `(seq, line)` items, then None when the agent stops executing the run.
    """

    def __init__(self, data_dir: Path, run_id: str) -> None:
        self.run_id = run_id
        self.path = runs_dir(data_dir) / f"{run_id}.jsonl"
        self.last_seq = 0
        self.last_event: dict[str, Any] | None = None
        for seq, _line, obj in read_events(self.path):
            self.last_seq, self.last_event = seq, obj
        self._file: IO[bytes] | None = None
        self.followers: set[asyncio.Queue[tuple[int, bytes] | None]] = set()

    def append(self, seq: int, event: dict[str, Any]) -> bytes:
        """Write the event (with its seq) at the end of the file, then hand it to the followers."""
        event["seq"] = seq
        line = (json.dumps(event, ensure_ascii=False) + "\n").encode()
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the run
            if self._file.tell() > 0 and not _ends_with_newline(self.path):
                self._file.write(b"\n")  # the last line was cut short by a crash
        self._file.write(line)
        self._file.flush()
        self.last_seq, self.last_event = seq, event
        for queue in self.followers:
            queue.put_nowait((seq, line))
        return line

    def close(self) -> None:
        """The agent stopped executing the run: followers end after what they have."""
        for queue in self.followers:
            queue.put_nowait(None)
        if self._file is not None:
            self._file.close()
            self._file = None


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def prune(data_dir: Path, keep: int = KEEP_RUNS) -> None:
    """Remove the oldest run logs beyond `keep`."""
    folder = runs_dir(data_dir)
    try:
        logs = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    except OSError:
        return
    for path in logs[:-keep] if len(logs) > keep else []:
        try:
            path.unlink()
        except OSError:
            pass
