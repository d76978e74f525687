"""Step-program attempts: the files by which a step's program outlives the engine.

A step's program runs under a host process (core/stephost.py). Each try of a step is an
*attempt*, named by a random token, with three files in `<data>/state/steps/`:

    TOKEN.ticket   created by the engine before the host starts; the host runs the program
                   only while it can hold it (the engine removes it to fence a host that
                   has not started its program yet)
    TOKEN.lock     locked by the host for its whole life; holds the host's pid
    TOKEN.json     the host's record of how the program ended (return code, whether it
                   was terminated, the output tail, or why it could not be started)

After a crash, `resume` waits for a host that still holds its lock (up to the step's
timeout) and uses its record, so a program that finished while no engine ran is never
started again. This module owns those files; the engine decides what they mean.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .cleanup import shielded
from .fsutil import try_lock, unlock
from .process import kill_process_group
from .runstate import steps_dir

__all__ = ["STEP_HOST", "AttemptRecord", "Attempts"]

log = logging.getLogger("software_center.engine")

# Every step's program runs under this host, which records how it ended even when this
# process dies meanwhile (see core/stephost.py for why and how).
STEP_HOST = Path(__file__).with_name("stephost.py")
POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """How a host saw its program end."""

    returncode: int  # the OS exit code; negative: killed by that signal
    terminated: bool  # the host stopped it (cancel or timeout)
    output: bytes  # the output's tail, raw
    spawn_error: str | None  # the program could not be started: why


class Attempts:
    """The attempts of one data folder's run."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = steps_dir(data_dir)

    def _file(self, token: str, suffix: str) -> Path:
        return self.folder / (token + suffix)

    def new_ticket(self, token: str) -> None:
        """Create the ticket of a new attempt (before its host exists)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self._file(token, ".ticket"), os.O_WRONLY | os.O_CREAT, 0o600))

    def host_command(self, token: str, argv: list[str]) -> list[str]:
        """The command line that runs `argv` under a host for this attempt."""
        return [sys.executable, "-I", str(STEP_HOST), str(self.folder / token), "--", *argv]

    def record(self, token: str) -> AttemptRecord | None:
        """The host's record, or None (none yet, or not understood: logged)."""
        try:
            raw = json.loads(self._file(token, ".json").read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("The result of a step's program is unreadable (%s); ignored", exc)
            return None
        if (
            not isinstance(raw, dict)
            or not isinstance(raw.get("returncode"), int)
            or not isinstance(raw.get("terminated"), bool)
            or not isinstance(raw.get("tail"), str)
            or not isinstance(raw.get("spawn_error"), (str, type(None)))
        ):
            log.warning("The result of a step's program is not understood; ignored")
            return None
        try:
            output = base64.b64decode(raw["tail"], validate=True)
        except ValueError:
            log.warning("The result of a step's program is not understood; ignored")
            return None
        return AttemptRecord(raw["returncode"], raw["terminated"], output, raw["spawn_error"])

    def host_pid(self, token: str) -> int | None:
        """The pid a host wrote into its lock file (its process group: it leads it)."""
        try:
            text = self._file(token, ".lock").read_text("ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isdigit() and int(text) > 1 else None

    async def stop(self, token: str, pgid: int | None) -> None:
        """Stop the attempt's program tree (by the saved group, else the host's own)."""
        pgid = pgid or self.host_pid(token)
        if pgid is not None:
            await kill_process_group(pgid)

    async def wait(
        self, token: str, *, deadline: float | None, pgid: int | None, on_wait: Callable[[], None],
    ) -> tuple[AttemptRecord | None, bool]:
        """Wait until no host runs the attempt, stopping it at `deadline` (epoch s). Then
        fence it: a host that had not started its program never will. Returns its record
        (None: none) and whether it had to be stopped. `on_wait` is called once if a host
        was still running. A cancel stops the host first, then propagates."""
        stopped = waiting = False
        while True:
            fd = try_lock(self._file(token, ".lock"))
            if fd is not None:
                break
            if not waiting:
                waiting = True
                on_wait()
            if deadline is not None and time.time() >= deadline and not stopped:
                log.warning("The program ran past the step's timeout; stopping it and its child processes")
                stopped = True
                await shielded(self.stop(token, pgid))  # a cancel meanwhile: stopped, then raised
            try:
                await asyncio.sleep(POLL_S)
            except asyncio.CancelledError:
                # Cancelled while waiting: nothing of the old program may outlive the cancel.
                await shielded(self.stop(token, pgid))
                raise
        try:
            record = self.record(token)
            if record is None:
                self._unlink(self._file(token, ".ticket"))
        finally:
            unlock(fd)
        return record, stopped

    async def gone(self, token: str, pgid: int | None) -> bool:
        """Whether no host runs the attempt's program any more (stopping it if one does)."""
        for _ in range(2):
            fd = try_lock(self._file(token, ".lock"))
            if fd is not None:
                unlock(fd)
                return True
            await self.stop(token, pgid)
        return False

    def forget(self, token: str | None) -> None:
        """Remove an attempt's files (once the run state no longer names it)."""
        if token is not None:
            for suffix in (".json", ".ticket", ".lock"):
                self._unlink(self._file(token, suffix))

    @staticmethod
    def _unlink(path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.debug("Could not remove %s: %s", path, exc)
