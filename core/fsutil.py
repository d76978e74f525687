"""Durable files: atomic writes, folder fsync, and exclusive file locks.

Every write of the engine that matters (run state, history, options, cache records, the
saved catalog) goes through `atomic_write_bytes`: a reader sees the old file or the new
one, never a torn one, and the rename itself is flushed. Locks are advisory locks held
by an open file (flock on POSIX, msvcrt on Windows); the operating system releases them
when the holder dies, which is what makes them safe against SIGKILL.

(`core/stephost.py` keeps its own few lines of the same: it runs isolated, `python -I`,
and cannot import this package.)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "fsync_dir", "try_lock", "unlock"]

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


def try_lock(path: Path) -> int | None:
    """An exclusive lock on `path` (created if missing), held by the returned fd; None when
    another process holds it. Release with `unlock(fd)`; process death releases it too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | _O_BINARY | _O_CLOEXEC, 0o600)
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def unlock(fd: int) -> None:
    """Release a lock taken by `try_lock` (closing the fd releases flock and msvcrt alike)."""
    os.close(fd)
