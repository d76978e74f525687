"""Running the real `software-center` command in tests: as a subprocess, with its JSON
events parsed, and never a traceback (every run is checked).

    result = await cli("run", "DEP1", "--site", str(site), "--data-dir", str(data), "--json", "--yes")
    assert result.rc == 0 and result.names()[-1] == "ts_finished"

`Running` gives line-by-line access to a command that is still running, to kill or
interrupt it at a chosen moment.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CliResult", "Running", "cli", "cli_tty", "command", "plain", "start", "state_file"]

_SCRIPT = Path(sys.executable).with_name("software-center")

# docs/CLI.md: the keys each event must carry (extra keys are allowed).
EVENT_KEYS: dict[str, set[str]] = {
    "refused": {"deployment", "reason", "message"},
    "ts_started": {"deployment", "task_sequence", "name", "total_steps", "connection"},
    "step_started": {"index", "total", "name", "type"},
    "step_skipped": {"name", "why"},
    "download_started": {"package", "total_bytes", "cached_bytes", "location"},
    "download_progress": {"package", "bytes", "total_bytes", "rate_bps"},
    "download_finished": {"package", "bytes_transferred", "verified"},
    "download_failed": {"package", "error"},
    "step_progress": {"index", "percent", "text"},
    "step_finished": {"index", "name", "status", "exit_code"},
    "restart_pending": {"after_step"},
    "ts_finished": {"status", "error", "error_code"},
}


def command(*args: str) -> list[str]:
    """The console script the project installs (or the module, if it is not installed)."""
    if _SCRIPT.exists():
        return [str(_SCRIPT), *args]
    return [sys.executable, "-m", "cli.main", *args]


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOFTWARE_CENTER_")}
    env["COLUMNS"] = "200"
    env.update(extra or {})
    return env


def assert_no_traceback(stdout: str, stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "Traceback" not in stdout, stdout


def parse_events(stdout: str) -> list[dict[str, Any]]:
    """JSON Lines, one object per line, each with an "event" key (docs/CLI.md)."""
    events = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        assert isinstance(obj, dict) and "event" in obj, line
        events.append(obj)
    return events


@dataclass
class CliResult:
    args: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [e["event"] for e in self.events]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == name]

    @property
    def finished(self) -> dict[str, Any] | None:
        found = self.of("ts_finished")
        return found[-1] if found else None


async def cli(*args: str, timeout: float = 90.0, env: dict[str, str] | None = None,
              stdin: bytes | None = None, cwd: Path | None = None) -> CliResult:
    """Run the command to its end; fails the test on a traceback or on bad JSON with --json."""
    proc = await asyncio.create_subprocess_exec(
        *command(*args),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(env),
        cwd=cwd,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    assert_no_traceback(stdout, stderr)
    assert proc.returncode is not None
    events = parse_events(stdout) if "--json" in args else []
    return CliResult(args, proc.returncode, stdout, stderr, events)


async def cli_tty(*args: str, timeout: float = 90.0) -> tuple[int, str]:
    """Run the command with a pseudo-terminal as its standard output and error (the live view).

    Returns the exit code and everything it wrote; fails the test on a traceback."""
    import pty

    master, slave = pty.openpty()
    env = _env({"COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color"})
    proc = await asyncio.create_subprocess_exec(
        *command(*args), stdin=asyncio.subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks: list[bytes] = []

    def read_all() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed
                return
            if not data:
                return
            chunks.append(data)

    try:
        await asyncio.wait_for(asyncio.gather(asyncio.to_thread(read_all), proc.wait()), timeout)
    finally:
        os.close(master)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = b"".join(chunks).decode("utf-8", "replace")
    assert "Traceback" not in text, text
    assert proc.returncode is not None
    return proc.returncode, text


def plain(terminal_text: str) -> str:
    """Terminal output without colours and cursor movements."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", terminal_text)


class Running:
    """A `software-center` process whose JSON events are read as they come."""

    def __init__(self, proc: asyncio.subprocess.Process, args: tuple[str, ...]) -> None:
        self.proc = proc
        self.args = args
        self.events: list[dict[str, Any]] = []
        self.raw = b""

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def next_event(self, timeout: float = 60.0) -> dict[str, Any] | None:
        """The next event, or None at the end of the output."""
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            return None
        self.raw += line
        if not line.endswith(b"\n"):  # cut by a kill in the middle of a write: not an event
            return None
        obj = json.loads(line)
        assert isinstance(obj, dict) and "event" in obj
        self.events.append(obj)
        return obj

    async def until(self, predicate: Any, timeout: float = 60.0) -> dict[str, Any] | None:
        """Read events until one satisfies `predicate`; None if the output ended first."""
        while True:
            event = await self.next_event(timeout)
            if event is None or predicate(event):
                return event

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.returncode is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    async def finish(self, timeout: float = 90.0) -> CliResult:
        """Read the rest, wait for the exit; checks there was no traceback."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out, err = await asyncio.wait_for(
            asyncio.gather(self.proc.stdout.read(), self.proc.stderr.read()), timeout
        )
        await asyncio.wait_for(self.proc.wait(), timeout)
        self.raw += out
        stdout, stderr = self.raw.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        assert_no_traceback(stdout, stderr)
        lines = stdout.splitlines(keepends=True)
        complete = "".join(line for line in lines if line.endswith("\n"))
        events = parse_events(complete)
        self.events = events
        assert self.proc.returncode is not None
        return CliResult(self.args, self.proc.returncode, stdout, stderr, events)


async def start(*args: str, env: dict[str, str] | None = None) -> Running:
    proc = await asyncio.create_subprocess_exec(
        *command(*args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(env),
    )
    return Running(proc, args)


def state_file(data_dir: Path) -> Path:
    return data_dir / "state" / "run.json"
