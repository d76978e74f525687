"""What file and folder conditions ask of the file system, the same on every OS.

`file_version(path)` reads a Windows executable's file version (the `VS_FIXEDFILEINFO` of its
version resource) from the file's bytes, so a condition on `setup.exe`'s version is decided
alike on Windows, Linux and macOS. `modified_utc(path)` is the last-write time in UTC,
truncated to the second, which is what a ConfigMgr file or folder date condition compares.
"""

from __future__ import annotations

import mmap
import os
import struct
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["file_version", "modified_utc", "parse_version"]

# The version resource's key, in UTF-16LE, followed (32-bit aligned) by VS_FIXEDFILEINFO,
# whose signature is 0xFEEF04BD, then its struct version, then the file version
# (most significant 32 bits, then least significant).
_KEY = "VS_VERSION_INFO".encode("utf-16-le")
_SIGNATURE = struct.pack("<I", 0xFEEF04BD)
_SEARCH_BYTES = 64  # the fixed info starts within a few bytes after the key


def file_version(path: Path) -> tuple[int, int, int, int] | None:
    """The file version of a Windows executable or library, or None (no version resource,
    not a file, unreadable)."""
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                return None
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                start = 0
                while (at := data.find(_KEY, start)) >= 0:
                    after = at + len(_KEY)
                    sig = data.find(_SIGNATURE, after, after + _SEARCH_BYTES)
                    if sig >= 0 and sig + 16 <= len(data):
                        ms, ls = struct.unpack_from("<II", data, sig + 8)
                        return (ms >> 16, ms & 0xFFFF, ls >> 16, ls & 0xFFFF)
                    start = after
    except (OSError, ValueError):
        return None
    return None


def parse_version(text: str) -> tuple[int, int, int, int]:
    """"10.0.19041" -> (10, 0, 19041, 0): missing parts are zero, as Windows reads them."""
    a, b, c, d = ([int(p) for p in text.split(".")] + [0, 0, 0, 0])[:4]
    return (a, b, c, d)


def modified_utc(path: Path) -> datetime | None:
    """The last-write time in UTC, to the second; None when the path does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return datetime.fromtimestamp(int(st.st_mtime), UTC)
