"""A step's program host: runs one program for the engine and records its end durably.

    python stephost.py ATTEMPT -- PROGRAM [ARG ...]

The engine starts every step's program through this host, so that how the program ended
is known even when the engine died while it ran (SIGKILL, crash, a closed window). A
program's parent is the only process that learns its exit status; if that parent were
the engine, a program that finished just after the engine died would leave no trace,
and `resume` would have to run a step that had in fact finished. The host outlives the
engine (it does not use the engine's pipe for anything but relaying), waits for the
program and writes the result next to the run state; `resume` waits for a host that is
still running and uses its result instead of running the step again.

Files, all named from ATTEMPT (a path without suffix, unique per attempt):

    ATTEMPT.ticket   created by the engine before it starts the host. A host that finds
                     no ticket once it holds the lock exits without starting anything
                     (exit 125): `resume` removes the ticket, under the lock, when it
                     decides to run the step again, so a late host can never run the
                     program a second time.
    ATTEMPT.lock     the host holds an exclusive lock on it (flock / msvcrt) for its whole
                     life and writes its pid into it; `resume` takes the lock to know the
                     host is gone.
    ATTEMPT.json     written atomically (temp file, fsync, rename) when the program ended:
                     {"version": 1, "returncode": int (negative: killed by that signal),
                      "terminated": bool (the host was asked to stop, i.e. the engine's
                      timeout or cancel), "spawn_error": null | str, "tail": base64 of
                      the last 64 KiB of output}.

Output (standard output and error, merged) is relayed byte for byte to the host's
standard output, the engine's pipe. When that pipe breaks (the engine died) the host
keeps draining the program's output, so the program never sees a broken pipe and runs
to its own end. Exit status: the program's (a signal death is re-raised).

SIGTERM (the engine stops the step's process group at a timeout or a cancel) is noted,
not obeyed: the group received it too, and the host exits when the program has exited,
after recording it. Standard library only, so it starts fast under `-I`.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time

TAIL_BYTES = 64 * 1024
DRAIN_S = 0.5  # after the program exited, how long a grandchild may keep its pipe busy
NO_TICKET = 125
SPAWN_FAILED = 127


def _lock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                time.sleep(0.05)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)


def _write_atomic(path: str, data: bytes) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if sys.platform != "win32":
        dir_fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)


class _Relay(threading.Thread):
    """Copies the program's output to our standard output; keeps the last TAIL_BYTES."""

    def __init__(self, source: int) -> None:
        super().__init__(daemon=True)
        self.source = source
        self.tail = bytearray()
        self.lock = threading.Lock()
        self.broken = False

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.source, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.tail += chunk
                if len(self.tail) > 2 * TAIL_BYTES:
                    del self.tail[:-TAIL_BYTES]
            if not self.broken:
                try:
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(1, view):]
                except OSError:  # the engine is gone: keep draining, never break the program
                    self.broken = True

    def snapshot(self) -> bytes:
        with self.lock:
            return bytes(self.tail[-TAIL_BYTES:])


def _spawn_problem(program: str, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        if os.path.isabs(program):
            problem = "the program was not found"
        elif os.sep in program or "/" in program:
            problem = f"the program was not found (relative to {os.getcwd()})"
        else:
            problem = "the program was not found on PATH"
    elif isinstance(exc, PermissionError):
        problem = "the program is not executable (permission denied)"
    else:
        problem = str(exc)
    return f"cannot start {program!r}: {problem}"


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("usage: stephost.py ATTEMPT -- PROGRAM [ARG ...]\n")
        return 2
    attempt, program = argv[0], argv[2:]

    terminated = threading.Event()
    if sys.platform != "win32":
        signal.signal(signal.SIGTERM, lambda _sig, _frame: terminated.set())

    lock_fd = os.open(attempt + ".lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    _lock(lock_fd)  # held until this process ends
    os.ftruncate(lock_fd, 0)
    os.write(lock_fd, str(os.getpid()).encode())
    if not os.path.exists(attempt + ".ticket") or terminated.is_set():
        return NO_TICKET

    def record(returncode: int, tail: bytes, spawn_error: str | None = None) -> None:
        data = {
            "version": 1,
            "returncode": returncode,
            "terminated": terminated.is_set(),
            "spawn_error": spawn_error,
            "tail": base64.b64encode(tail).decode("ascii"),
        }
        try:
            _write_atomic(attempt + ".json", json.dumps(data).encode())
        except OSError:  # a full disk: the engine, if alive, still gets the exit status
            pass

    try:
        proc = subprocess.Popen(program, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except (OSError, ValueError) as exc:
        message = _spawn_problem(program[0], exc) if isinstance(exc, OSError) else str(exc)
        record(SPAWN_FAILED, b"", message)
        return SPAWN_FAILED
    if terminated.is_set():  # the stop reached the group before the program existed
        proc.terminate()
    assert proc.stdout is not None
    relay = _Relay(proc.stdout.fileno())
    relay.start()
    returncode = proc.wait()
    relay.join(DRAIN_S)
    record(returncode, relay.snapshot())
    return returncode


def _exit(code: int) -> None:
    sys.stdout.flush()
    if code < 0 and sys.platform != "win32":
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        time.sleep(1)
        os._exit(1)
    if sys.platform == "win32" and code > 0x7FFFFFFF:
        code -= 1 << 32
    os._exit(code)


if __name__ == "__main__":
    _exit(main(sys.argv[1:]))
