"""Durable files: atomic writes, folder fsync, exclusive file locks, and reading a file
that a user named without ever blocking on a FIFO or device (`open_regular_file`).

Every write of the engine that matters (run state, history, options, cache records, the
saved catalog) goes through `atomic_write_bytes`: a reader sees the old file or the new
one, never a torn one, and the rename itself is flushed. Locks are advisory locks held
by an open file (flock on POSIX, msvcrt on Windows); the operating system releases them
when the holder dies, which is what makes them safe against SIGKILL.

(`core/stephost.py` keeps its own few lines of the same: it runs isolated, `python -I`,
and cannot import this package.)
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

__all__ = [
    "NotRegularFileError",
    "atomic_write_bytes",
    "fsync_dir",
    "open_regular_file",
    "read_regular_file",
    "try_lock",
    "unlock",
]

_O_BINARY = getattr(os, "O_BINARY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so a reader sees the old or the new file, never a torn one.

    The temporary file (mode 0600) is created beside `path` (never following a planted symlink),
    fsynced, renamed over `path`, and the folder is fsynced so the rename is durable.
    Raises OSError; the temporary file is removed on any failure.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (renames, new files) to disk. Best effort; POSIX only."""
    if os.name != "posix":
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def try_lock(path: Path, *, shared: bool = False) -> int | None:
    """An exclusive lock on `path` (created if missing), held by the returned fd; None when
    another process holds it. Release with `unlock(fd)`; process death releases it too.

    `shared`: a lock many processes may hold at once, which excludes only an exclusive one
    (on Windows, where there is no shared lock, it is exclusive too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | _O_BINARY | _O_CLOEXEC, 0o600)
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def unlock(fd: int) -> None:
    """Release a lock taken by `try_lock` (closing the fd releases flock and msvcrt alike)."""
    os.close(fd)


# --- reading files named by users ------------------------------------------------------

_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class NotRegularFileError(OSError):
    """The path names a FIFO, device, socket or folder, not a regular file.

    `strerror` says which, in words ("not a regular file (a FIFO (named pipe))"); `kind`
    is one word: fifo, folder, device, socket or other.
    """

    kind: str = "other"


def _kind(mode: int) -> tuple[str, str]:
    if stat.S_ISFIFO(mode):
        return "fifo", "a FIFO (named pipe)"
    if stat.S_ISDIR(mode):
        return "folder", "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device", "a device"
    if stat.S_ISSOCK(mode):
        return "socket", "a socket"
    return "other", "not a file"


def open_regular_file(path: str | os.PathLike[str]) -> int:
    """Open `path` for reading (symbolic links followed) only if it is a regular file.

    A FIFO with no writer makes a plain open() wait forever, and a device can be read
    forever, so the file is opened with O_NONBLOCK (which never blocks the open) and
    judged by fstat of the open descriptor: nothing can be swapped in between. Returns a
    blocking descriptor for the caller to close. Raises NotRegularFileError (an OSError)
    for anything else, or the OSError of the open.
    """
    fd = os.open(path, os.O_RDONLY | _O_BINARY | _O_CLOEXEC | _O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind, words = _kind(mode)
            err = NotRegularFileError(errno.EINVAL, f"not a regular file ({words})", os.fspath(path))
            err.kind = kind
            raise err
        if _O_NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular_file(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """At most `max_bytes` of the regular file `path` (see `open_regular_file`). Raises OSError."""
    with os.fdopen(open_regular_file(path), "rb") as f:
        return f.read(max_bytes)
