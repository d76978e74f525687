"""Running a step's program: one child process tree, its output protocol, its exit code, its end.

`run_program` starts a real child process from an argv list (never a shell) in its own
process group and session, reads its standard output (standard error merged in) line by
line, and returns a `ProgramResult` when it exits, or kills it with all its descendants
at the timeout or when the awaiting task is cancelled.

Output protocol, one line each (surrounding blanks ignored, `\\n`, `\\r\\n` or `\\r` end a line):

    PROGRESS <percent> [text]   percent a decimal number 0–100 → on_progress(percent, text).
                                Malformed ones (not a number, NaN, out of range) are
                                ordinary output: never fatal.
    EXITCODE <code>             the program's full exit code, decimal (may be negative) or
    RESULT <code>               0x-hex, printed as its last act before exiting (`RESULT` is
                                the spelling of the demo site's programs; both mean the same).
    anything else               output: on_output(line), and the last 1000 characters of it
                                (lines joined by "\\n") are `ProgramResult.output_tail`.

Lines longer than 8 KiB are cut (the rest of the line is dropped, " [line truncated]" is
appended), so a 100 MB line without a newline costs no memory; bytes that are not UTF-8
become U+FFFD.

Exit codes. Windows keeps all 32 bits of an exit code (0xC1900208 compatibility block,
3010 restart required); POSIX keeps only the low 8 (0xC1900208 → 8, 3010 → 194). A program
that wants its full code to survive on POSIX prints `EXITCODE <code>`, then exits with the
low byte of the code, or with 1 when the low byte is 0 (so a failure never looks like
success to anything that ignores the line). The declared code is reported only when it
agrees with what the OS saw: the OS code equals the declared code modulo 256, or the OS
code is 1 and the declared code is a non-zero multiple of 256. Otherwise (the program
crashed after printing it, or printed a stale one) the OS code is reported. Codes are
reported unsigned (0xC1900208 is 3247440392, as Windows reports it); on POSIX a negative
code -N means the program was killed by signal N.

Killing a tree (timeout, cancellation): SIGTERM to the process group, a grace period
(3 s), then SIGKILL. On Linux the tree is also found through /proc — every descendant
still linked by parentage, and every process that inherited the run's marker variable
`SOFTWARE_CENTER_STEP` (a token unique to the run, the "cookie" Jenkins' process-tree
killer uses) — so a child that called setsid() to leave the group, even one whose parent
has exited, is killed too unless it also cleared its environment. Elsewhere on POSIX only
the process group is reached. On Windows (untested here) the group gets CTRL_BREAK, then
`taskkill /F /T`; a Job Object would be the thorough answer.

Environment: `env=None` inherits this process's environment; a mapping is the child's
*whole* environment, as with `subprocess`. To it the runner adds `SOFTWARE_CENTER_STEP`
(always) and `PYTHONUNBUFFERED=1`, `PYTHONIOENCODING=utf-8` (unless set), so `%PYTHON%`
programs report progress as it happens and in UTF-8.

After a normal exit the runner reads what is left in the pipe for at most 1 s: a
grandchild that keeps the pipe open (a background helper) does not hold the step, and is
left running, as ConfigMgr leaves it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cleanup import shielded
from .errors import ProgramError

__all__ = [
    "MARKER_VARIABLE",
    "OUTPUT_TAIL_CHARS",
    "ProgramResult",
    "exit_code_from_output",
    "format_exit_code",
    "blocking_app",
    "blocking_app_of",
    "kill_process_group",
    "run_program",
    "setup_block_error",
    "windows_setup_error",
]

log = logging.getLogger("software_center.process")

OUTPUT_TAIL_CHARS = 1000
"""How much of a program's output `ProgramResult.output_tail` keeps (ConfigMgr's limit)."""

MARKER_VARIABLE = "SOFTWARE_CENTER_STEP"
"""Environment variable whose value, unique per run, marks every process of the tree."""

MAX_LINE_BYTES = 8192
_DRAIN_S = 1.0  # reading what is left in the pipe after the program exited
_POLL_S = 0.05
_KILL_WAIT_S = 2.0  # after SIGKILL, how long to wait for the tree to vanish

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_PROGRESS = re.compile(rf"PROGRESS[ \t]+({_NUMBER})(?:[ \t]+(.*))?", re.DOTALL)
_EXITCODE = re.compile(r"(?:EXITCODE|RESULT)[ \t]+(-?\d+|0[xX][0-9a-fA-F]+)")
_EOL = re.compile(rb"\r\n|\r|\n")



@dataclass(frozen=True, slots=True)
class ProgramResult:
    """How a program ended. `exit_code` is None when it was killed at its timeout."""

    exit_code: int | None
    timed_out: bool
    output_tail: str  # the last OUTPUT_TAIL_CHARS characters of output, control lines excluded
    duration_s: float


# --- exit codes in words --------------------------------------------------------------------

_SETUP_ERRORS: dict[int, str] = {
    0xC1900101: "A driver caused the upgrade to fail; Windows Setup rolled back to the previous version",
    0xC1900107: "A cleanup from a previous upgrade attempt is pending; restart the computer and try again",
    0xC1900200: "The computer does not meet the minimum hardware requirements for the upgrade",
    0xC1900202: "The computer does not meet the minimum requirements to install the update",
    0xC1900204: "The selected migration choice is not available (edition, architecture or language differ)",
    0xC1900208: "An incompatible app or driver is blocking the upgrade",
    0xC190020E: "There is not enough free disk space for the upgrade",
    0xC1900210: "No compatibility issues were found (compatibility scan succeeded)",
    0x80070070: "There is not enough space on the disk",
}


def _u32(code: int) -> int:
    """A signed 32-bit code as Windows reports it (unsigned); other values unchanged."""
    return code & 0xFFFFFFFF if -(2**31) <= code < 0 else code


def windows_setup_error(code: int) -> str | None:
    """The known Windows Setup result `code` (signed or unsigned) in English words, or None."""
    return _SETUP_ERRORS.get(_u32(code))


# How Setup's output names what blocks an upgrade (0xC1900208): a line ending in
# "blocks the upgrade: NAME", optionally followed by the code in parentheses. The last
# such line of the output tail counts.
_BLOCKER = re.compile(r"blocks the upgrade: (?P<app>.+?)(?:\s*\(0[xX][0-9a-fA-F]{8}\))?\s*$")


def blocking_app(output_tail: str) -> str | None:
    """The app or driver Setup's output names as blocking the upgrade, or None."""
    for line in reversed(output_tail.splitlines()):
        found = _BLOCKER.search(line)
        if found is not None:
            return found.group("app").strip() or None
    return None


_BLOCK_SEPARATOR = ": "


def setup_block_error(code: int, app: str | None) -> str | None:
    """The failure's English words for Setup's `code`, naming the blocking `app` when
    known: "An incompatible app or driver is blocking the upgrade: Northwind VPN 3.1".
    `blocking_app_of(code, error)` reads the name back."""
    words = windows_setup_error(code)
    if words is None or not app:
        return words
    return f"{words}{_BLOCK_SEPARATOR}{app}"


def blocking_app_of(code: int | None, error: str | None) -> str | None:
    """The blocking app a failure's `error` (as `setup_block_error` made it) names, or None."""
    if code is None or not error:
        return None
    words = windows_setup_error(code)
    if words is None or not error.startswith(words + _BLOCK_SEPARATOR):
        return None
    return error[len(words) + len(_BLOCK_SEPARATOR):].strip() or None


def format_exit_code(code: int) -> str:
    """`0xC1900208` for codes ≥ 0x80000000 or negative 32-bit ones, decimal (`3010`) otherwise."""
    if -(2**31) <= code < 0 or 0x80000000 <= code <= 0xFFFFFFFF:
        return f"0x{_u32(code):08X}"
    return str(code)


def _reported_exit_code(os_code: int, declared: int | None) -> int:
    """The exit code to report: the declared one only when the OS code agrees with it."""
    if declared is None or os_code < 0 or declared == os_code:
        return os_code
    low = declared & 0xFF
    if low == os_code or (low == 0 and declared != 0 and os_code == 1):
        log.debug("The program declared exit code %s (the OS passed %d)", format_exit_code(declared), os_code)
        return declared
    log.warning(
        "The program declared exit code %s but exited with %d; using %d",
        format_exit_code(declared),
        os_code,
        os_code,
    )
    return os_code


# --- output ----------------------------------------------------------------------------------


class _LineSplitter:
    """Bytes in, complete lines out; a line longer than `cap` is cut and the rest dropped."""

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._buf = bytearray()
        self._discarding = False  # inside an overlong line already emitted
        self._skip_lf = False  # the last chunk ended with "\r": a leading "\n" belongs to it

    def _add(self, piece: bytes, out: list[tuple[bytes, bool]], *, ended: bool) -> None:
        if self._discarding:
            if ended:
                self._discarding = False
            return
        room = self._cap - len(self._buf)
        if len(piece) > room:
            self._buf += piece[:room]
            out.append((bytes(self._buf), True))
            self._buf.clear()
            self._discarding = not ended
        else:
            self._buf += piece
            if ended:
                out.append((bytes(self._buf), False))
                self._buf.clear()

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
        """Lines completed by `data`, each with whether it was truncated."""
        out: list[tuple[bytes, bool]] = []
        pos = 1 if self._skip_lf and data[:1] == b"\n" else 0
        self._skip_lf = False
        while pos < len(data):
            m = _EOL.search(data, pos)
            if m is None:
                self._add(data[pos:], out, ended=False)
                break
            self._add(data[pos : m.start()], out, ended=True)
            if m.group() == b"\r" and m.end() == len(data):
                self._skip_lf = True
            pos = m.end()
        return out

    def close(self) -> list[tuple[bytes, bool]]:
        """The last line when the output did not end with a newline."""
        out: list[tuple[bytes, bool]] = []
        if self._buf and not self._discarding:
            out.append((bytes(self._buf), False))
        self._buf.clear()
        return out


def _parse_code(token: str) -> int | None:
    value = int(token, 0) if token[:2].lower() == "0x" else int(token)
    return _u32(value) if -(2**31) <= value <= 0xFFFFFFFF else None


def exit_code_from_output(os_code: int, output: bytes) -> tuple[int, str]:
    """A finished program's exit code and output tail from its OS exit code and its whole
    recorded output (as a step host records them): a `RESULT`/`EXITCODE` line is trusted
    as in `run_program`."""
    parsed = _Output(None, None)
    parsed.feed(output)
    parsed.close()
    return _reported_exit_code(os_code, parsed.declared_exit_code), parsed.tail


class _Output:
    """Sorts lines into progress, declared exit code and ordinary output (with its tail)."""

    def __init__(
        self,
        on_progress: Callable[[float, str], None] | None,
        on_output: Callable[[str], None] | None,
    ) -> None:
        self._on_progress = on_progress
        self._on_output = on_output
        self._split = _LineSplitter(MAX_LINE_BYTES)
        self._tail = ""
        self._any = False
        self.declared_exit_code: int | None = None

    @property
    def tail(self) -> str:
        return self._tail[-OUTPUT_TAIL_CHARS:]

    def feed(self, data: bytes) -> None:
        for raw, truncated in self._split.feed(data):
            self._line(raw, truncated)

    def close(self) -> None:
        for raw, truncated in self._split.close():
            self._line(raw, truncated)

    def _line(self, raw: bytes, truncated: bool) -> None:
        text = raw.decode("utf-8", errors="replace")
        if truncated:
            text += " [line truncated]"
        else:
            stripped = text.strip()
            m = _PROGRESS.fullmatch(stripped)
            if m is not None:
                percent = float(m.group(1))
                if 0.0 <= percent <= 100.0:
                    if self._on_progress is not None:
                        self._on_progress(percent, (m.group(2) or "").strip())
                    return
            m = _EXITCODE.fullmatch(stripped)
            if m is not None:
                code = _parse_code(m.group(1))
                if code is not None:
                    self.declared_exit_code = code
                    return
        self._tail = f"{self._tail}\n{text}" if self._any else text
        self._any = True
        if len(self._tail) > 4 * OUTPUT_TAIL_CHARS:
            self._tail = self._tail[-OUTPUT_TAIL_CHARS:]
        if self._on_output is not None:
            self._on_output(text)


class _Protocol(asyncio.SubprocessProtocol):
    """Feeds the child's output to `_Output`; signals exit, end of output and callback errors."""

    def __init__(self, output: _Output, loop: asyncio.AbstractEventLoop) -> None:
        self._output = output
        self._stopped = False
        self.exited: asyncio.Future[None] = loop.create_future()
        self.eof: asyncio.Future[None] = loop.create_future()
        self.failed: asyncio.Future[None] = loop.create_future()
        self.error: Exception | None = None

    def _guard(self, action: Callable[[], None]) -> None:
        if self._stopped:
            return
        try:
            action()
        except Exception as exc:  # a consumer's callback raised: stop the program, re-raise it
            self._stopped = True
            self.error = exc
            if not self.failed.done():
                self.failed.set_result(None)

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        if isinstance(data, bytes):
            self._guard(lambda: self._output.feed(data))

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1 and not self.eof.done():
            self._guard(self._output.close)
            self.eof.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def stop(self) -> None:
        """No more callbacks: the run is over."""
        self._stopped = True

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


# --- finding and killing a tree (POSIX) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Stat:
    ppid: int
    pgrp: int
    start: int  # clock ticks after boot: tells a process from a later one with the same pid
    state: str


def _read_stat(pid: int) -> _Stat | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    try:
        fields = raw[raw.rindex(b")") + 2 :].split()
        return _Stat(int(fields[1]), int(fields[2]), int(fields[19]), fields[0].decode("ascii", "replace"))
    except (ValueError, IndexError):
        return None


def _read_marker(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            raw = f.read()
    except OSError:  # gone, or another user's process
        return None
    prefix = MARKER_VARIABLE.encode() + b"="
    for item in raw.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix) :].decode("ascii", "replace")
    return None


def _processes() -> dict[int, _Stat]:
    out: dict[int, _Stat] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for name in entries:
        if name.isdigit():
            stat = _read_stat(int(name))
            if stat is not None:
                out[int(name)] = stat
    return out


def _has_proc() -> bool:
    return sys.platform.startswith("linux") and os.path.isdir("/proc/self")


def _find_tree(root: int, pgid: int, token: str) -> dict[int, int]:
    """Processes of a run, pid → start time: the group, the descendants, the marker carriers."""
    if not _has_proc():
        return {}
    procs = _processes()
    children: dict[int, list[int]] = {}
    for pid, st in procs.items():
        children.setdefault(st.ppid, []).append(pid)
    found: dict[int, int] = {}
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid in procs and pid not in found:
            found[pid] = procs[pid].start
            stack.extend(children.get(pid, ()))
    me = os.getpid()
    for pid, st in procs.items():
        if pid in found or pid == me or st.state in ("Z", "X"):
            continue
        if st.pgrp == pgid or _read_marker(pid) == token:
            found[pid] = st.start
    found.pop(me, None)
    return found


def _find_leftovers(pgid: int) -> dict[int, int]:
    """Processes left by a run whose runner died: marked members of `pgid`, and their kin."""
    procs = _processes()
    me = os.getpid()
    tokens = {
        marker
        for pid, st in procs.items()
        if st.pgrp == pgid and pid != me and (marker := _read_marker(pid)) is not None
    }
    if not tokens:
        return {}
    return {
        pid: st.start
        for pid, st in procs.items()
        if pid != me and st.state not in ("Z", "X") and _read_marker(pid) in tokens
    }


def _is_alive(pid: int, start: int) -> bool:
    st = _read_stat(pid)
    return st is not None and st.start == start and st.state not in ("Z", "X")


def _signal_tree(pgid: int | None, targets: Mapping[int, int], sig: int) -> None:
    if pgid is not None:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass
    for pid, start in targets.items():
        if _is_alive(pid, start):  # never signal a pid reused by an unrelated process
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _terminate_posix(
    pgid: int | None,
    find: Callable[[], dict[int, int]],
    root_exited: Callable[[], bool],
    grace_s: float,
) -> int:
    """SIGTERM, a grace, then SIGKILL to the group and `find()`; returns how many `find` found."""
    targets = await asyncio.to_thread(find)

    def alive() -> bool:
        if not root_exited():
            return True
        if _has_proc():
            return any(_is_alive(pid, start) for pid, start in targets.items())
        return pgid is not None and _group_exists(pgid)

    _signal_tree(pgid, targets, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        await asyncio.sleep(_POLL_S)
        if not alive():
            return len(targets)
    targets.update(await asyncio.to_thread(find))  # whatever forked during the grace
    log.warning("The program did not stop within %.1f s of SIGTERM; killing it", grace_s)
    _signal_tree(pgid, targets, signal.SIGKILL)
    deadline = time.monotonic() + _KILL_WAIT_S
    while alive() and time.monotonic() < deadline:
        await asyncio.sleep(_POLL_S / 2)
    return len(targets)


async def _taskkill(pid: int) -> None:
    proc = await asyncio.create_subprocess_exec(
        "taskkill", "/F", "/T", "/PID", str(pid),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    await proc.wait()


async def _terminate(pid: int, token: str, root_exited: Callable[[], bool], grace_s: float) -> None:
    """Stop the program `pid` and all its descendants."""
    if sys.platform == "win32":
        try:
            os.kill(pid, signal.CTRL_BREAK_EVENT)
        except OSError:
            pass
        deadline = time.monotonic() + grace_s
        while not root_exited() and time.monotonic() < deadline:
            await asyncio.sleep(_POLL_S)
        await _taskkill(pid)
        return
    found = await _terminate_posix(pid, lambda: _find_tree(pid, pid, token), root_exited, grace_s)
    log.info("Stopped the program (process group %d, %d processes)", pid, max(found, 1))


async def kill_process_group(pgid: int, *, grace_s: float = 3.0) -> int:
    """Stop what is left of a step's program whose runner died (SIGKILL, power loss).

    `pgid` is what `run_program`'s `on_start` reported. On Linux only processes carrying
    the runner's marker variable are touched (the group's marked members and every
    process with the same marker), so a pid reused since, e.g. after a reboot, is safe.
    Elsewhere on POSIX the group is signalled as is; on Windows `taskkill /F /T`.
    Returns how many processes were found (0 when nothing was left).
    """
    if sys.platform == "win32":
        await _taskkill(pgid)
        return 1
    if _has_proc():
        targets = await asyncio.to_thread(_find_leftovers, pgid)
        if not targets:
            return 0
        log.info("Stopping %d processes left by an interrupted step (process group %d)", len(targets), pgid)
        return await _terminate_posix(None, lambda: _find_leftovers(pgid), lambda: True, grace_s)
    if not _group_exists(pgid):
        return 0
    log.info("Stopping process group %d left by an interrupted step", pgid)
    await _terminate_posix(pgid, lambda: {}, lambda: True, grace_s)
    return 1


# --- running -----------------------------------------------------------------------------------


async def run_program(
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None,
    timeout_s: float,
    on_progress: Callable[[float, str], None] | None,
    on_output: Callable[[str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    kill_grace_s: float = 3.0,
) -> ProgramResult:
    """Run `argv` in `cwd` until it exits, or kill its whole tree after `timeout_s` seconds.

    `on_progress(percent, text)` gets each valid PROGRESS line, `on_output(line)` every
    other line, `on_start(pgid)` the process group right after the start (to persist, for
    `kill_process_group` after a crash). Callbacks run on the event loop; an exception in
    one stops the program (tree killed) and is re-raised here.

    Raises ProgramError when the program cannot be started (not found, not executable,
    no working folder). On cancellation the tree is killed (under a shield) and
    CancelledError propagates.
    """
    if not argv:
        raise ProgramError("", "the command line is empty")
    program = argv[0]
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be positive, not {timeout_s!r}")
    if not cwd.is_dir():
        raise ProgramError(program, f"the working folder {cwd} does not exist")

    token = uuid.uuid4().hex
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    child_env.setdefault("PYTHONIOENCODING", "utf-8")
    child_env[MARKER_VARIABLE] = token
    options: dict[str, Any] = {}
    if sys.platform == "win32":
        options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        options["start_new_session"] = True

    loop = asyncio.get_running_loop()
    output = _Output(on_progress, on_output)
    started = time.monotonic()
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: _Protocol(output, loop),
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=child_env,
            **options,
        )
    except FileNotFoundError as exc:
        if os.path.isabs(program):
            problem = "the program was not found"
        elif os.sep in program or "/" in program:
            problem = f"the program was not found (relative to {cwd})"
        else:
            problem = "the program was not found on PATH"
        raise ProgramError(program, problem) from exc
    except PermissionError as exc:
        raise ProgramError(program, "the program is not executable (permission denied)") from exc
    except (OSError, ValueError) as exc:
        raise ProgramError(program, str(exc)) from exc

    pid = transport.get_pid()
    log.debug("Started %s as process %d in %s", program, pid, cwd)

    def stop_tree() -> asyncio.Task[None]:
        return asyncio.ensure_future(_terminate(pid, token, protocol.exited.done, kill_grace_s))

    timed_out = False
    try:
        if on_start is not None:
            on_start(pid)  # with a new session the child leads its own group: pgid == pid
        await asyncio.wait(
            {protocol.exited, protocol.failed}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        protocol.raise_error()
        if protocol.exited.done():
            await asyncio.wait({protocol.eof, protocol.failed}, timeout=_DRAIN_S, return_when=asyncio.FIRST_COMPLETED)
            protocol.raise_error()
        else:
            timed_out = True
    except BaseException:
        # Cancelled, or a callback raised: nothing of the program may outlive the step.
        protocol.stop()
        try:
            await shielded(stop_tree())
        finally:
            transport.close()
        raise

    try:
        if timed_out:
            log.warning(
                "The program %s did not finish within %s s; stopping it and its child processes",
                program,
                f"{timeout_s:g}",
            )
            protocol.stop()
            await shielded(stop_tree())
            return ProgramResult(None, True, output.tail, time.monotonic() - started)
        os_code = transport.get_returncode()
        assert os_code is not None  # process_exited fired
        protocol.stop()
        code = _reported_exit_code(os_code, output.declared_exit_code)
        return ProgramResult(code, False, output.tail, time.monotonic() - started)
    finally:
        protocol.stop()
        transport.close()
