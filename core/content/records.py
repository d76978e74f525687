"""What the cache keeps on disk about a package, and where in the cache a file may go.

Owns the package record, `<cache>/.records/<ID>.<version>.json` (outside the package
folder, written atomically): per verified file its SHA-256, the boot that wrote it and the
stat that identifies it (size, mtime, change time, inode, device); per `.part` file its
validator (strong ETag, else Last-Modified) for a later `If-Range`; the last-used time.

A file whose stat still matches its entry is trusted without re-hashing. Size and mtime
alone can be set back by whoever rewrites the file; the change time (set by the kernel on
every write, rename or utime), the inode and the device cannot, so a file rewritten in
place or replaced by another is hashed again. Trust also ends with the boot that wrote
the entry: data is not fsynced before its rename (see BOOT_ID).

Also owns confinement (`confined`, `ensure_dir`: a file is written only below its package
folder, through real folders) and the one mapping of OSError to CacheError in words
(`cache_error`).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..catalog import PackageFile
from ..errors import CacheError
from ..fsutil import atomic_write_bytes

__all__ = [
    "BOOT_ID",
    "PackageRecord",
    "cache_error",
    "confined",
    "ensure_dir",
    "is_sendable",
]

log = logging.getLogger("software_center.content")


def _read_boot_id() -> str | None:
    """This boot's identity (Linux), or None where the system does not say."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip() or None
    except OSError:
        return None


# A verified file is trusted later by its recorded stat alone only within the boot that
# wrote it. That is what lets the data skip the fsync before its rename: a crashed
# process leaves the page cache intact, and after a power loss (a new boot) every file is
# hashed again before any step may use it. Where the boot cannot be told, data is fsynced.
BOOT_ID = _read_boot_id()

_SENDABLE = re.compile(r"^[\x20-\x7e]+\Z")


def is_sendable(value: str) -> bool:
    """Whether a request header can carry `value` back (visible ASCII and spaces only)."""
    return _SENDABLE.match(value) is not None


def cache_error(exc: OSError, where: Path | str, doing: str) -> CacheError:
    """`exc` met while trying to `doing` `where`, as a CacheError that says what is wrong."""
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        words = f"the data folder is full: cannot {doing} {where}"
    elif code == errno.EROFS:
        words = f"the data folder is read-only: cannot {doing} {where}"
    elif code in (errno.EACCES, errno.EPERM):
        words = f"no permission to write in the data folder: cannot {doing} {where}"
    else:
        words = f"cannot {doing} {where}: {exc.strerror or exc}"
    return CacheError(words)


def _identity(st: os.stat_result) -> dict[str, int]:
    """What a record keeps of a verified file's stat to recognise it later: size and mtime,
    and what a user cannot set back (change time, inode, device)."""
    return {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "ino": st.st_ino,
        "dev": st.st_dev,
    }


class PackageRecord:
    """`<cache>/.records/<key>.json`: verified files, .part validators, last use.

    Methods are thread-safe; every change is saved at once (a CacheError if it cannot be).
    """

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> PackageRecord:
        """The record at `path`; an empty one if it is missing, unreadable or not format 1."""
        data: dict[str, Any] = {}
        try:
            raw = json.loads(path.read_bytes())
            if isinstance(raw, dict) and raw.get("format") == 1:
                data = raw
        except (OSError, ValueError):
            pass
        data.setdefault("format", 1)
        if not isinstance(data.get("files"), dict):
            data["files"] = {}
        if not isinstance(data.get("partial"), dict):
            data["partial"] = {}
        return cls(path, data)

    @property
    def last_used(self) -> float | None:
        value = self.data.get("last_used")
        return float(value) if isinstance(value, (int, float)) else None

    def file_entry(self, path: str) -> Mapping[str, Any] | None:
        entry = self.data["files"].get(path)
        return entry if isinstance(entry, dict) else None

    def trusts(self, spec: PackageFile, st: os.stat_result) -> bool:
        """Whether the file `st` describes is the one verified and recorded for `spec`,
        within this boot (see the module docstring), without reading it."""
        entry = self.file_entry(spec.path)
        if entry is None or entry.get("sha256") != spec.sha256 or entry.get("size") != spec.size:
            return False
        if entry.get("boot") != BOOT_ID:  # written before a restart of the machine: hash it again
            return False
        if not stat.S_ISREG(st.st_mode):
            return False
        return all(entry.get(name) == value for name, value in _identity(st).items())

    def validator(self, path: str) -> str | None:
        entry = self.data["partial"].get(path)
        value = entry.get("validator") if isinstance(entry, dict) else None
        return value if isinstance(value, str) and is_sendable(value) else None

    def set_file(self, path: str, st: os.stat_result, sha256: str) -> None:
        """Record a verified file as `st` (taken before it was verified) describes it."""
        with self._lock:
            self.data["files"][path] = {"sha256": sha256, "boot": BOOT_ID, **_identity(st)}
            self.data["partial"].pop(path, None)
            self._save()

    def drop_file(self, path: str) -> None:
        with self._lock:
            if self.data["files"].pop(path, None) is not None:
                self._save()

    def set_partial(self, path: str, validator: str | None) -> None:
        with self._lock:
            if self.validator(path) == validator and (validator is not None or path not in self.data["partial"]):
                return
            if validator is None:
                self.data["partial"].pop(path, None)
            else:
                self.data["partial"][path] = {"validator": validator}
            self._save()

    def touch(self) -> None:
        with self._lock:
            self.data["last_used"] = time.time()
            self._save()

    def _save(self) -> None:
        try:
            atomic_write_bytes(self.path, json.dumps(self.data, sort_keys=True).encode())
        except OSError as exc:
            raise cache_error(exc, self.path, "write") from exc


def confined(folder: Path, rel: str) -> Path:
    """`folder/rel` after making sure every parent below `folder` is a real folder inside it.

    Raises CacheError for a path that is not plain and relative, or would land outside."""
    parts = rel.split("/")
    if (
        not rel
        or rel.startswith("/")
        or "\\" in rel
        or any(p in ("", ".", "..") for p in parts)
        or any(ord(c) < 0x20 for c in rel)
        or re.match(r"^[A-Za-z]:", rel)
    ):
        raise CacheError(f"refusing to write {rel!r}: not a plain relative path")
    current = folder
    try:
        for name in parts[:-1]:
            current = current / name
            ensure_dir(current)
        root = os.path.realpath(folder)
        real_parent = os.path.realpath(current)
    except OSError as exc:
        raise cache_error(exc, current, "create") from exc
    if real_parent != root and not real_parent.startswith(root + os.sep):
        raise CacheError(f"refusing to write {rel!r}: it would land outside {folder}")
    return current / parts[-1]


def ensure_dir(path: Path) -> None:
    """`path` is a real folder afterwards: a symlink or file in its place is removed."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        os.mkdir(path)
        return
    if stat.S_ISDIR(st.st_mode):
        return
    log.warning("Removing %s from the cache: a folder belongs there", path)
    os.unlink(path)
    os.mkdir(path)
