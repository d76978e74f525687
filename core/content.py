"""Package content: fetch a package's files into the cache, verified, resumable, bounded.

`ContentStore.fetch()` makes `<cache>/<ID>.<version>/` hold every file of a package,
each checked against the catalog's size and SHA-256, and returns that folder.

Per file (STYLE.md "Downloads", Munki's fetch.py):
  * bytes go to `<file>.part`, hashed while they arrive; size and SHA-256 are checked,
    then the file is renamed to its final name. A file that fails is deleted: nothing
    unverified ever sits at a final name. The record of a verified file names the boot
    that wrote it; after a restart of the machine the file is hashed again before it is
    trusted, so the data needs no fsync before its rename (see BOOT_ID). Where the boot
    cannot be told (not Linux), the data is fsynced before the rename instead.
  * a `.part` survives retries, cancellation and process death. Its validator (strong
    ETag, else Last-Modified) is kept in the package record; the next request asks
    `Range: bytes=N-` with `If-Range`. A 200 answer (Range ignored, or the file changed)
    restarts from zero on the same response. After a restart of the process the `.part`
    is re-hashed before resuming. A resumed file whose hash does not match is fetched once
    more from zero before the location is given up.
  * locations: internet -> `cloud` only; intranet -> `dp` first, `cloud` last (if
    allowed); catalog order within a kind (`ordered_locations`).
  * retries: 5xx, 408, 429, connection errors, cuts and stalls (read timeout) are retried
    with backoff (1 s doubling to 30 s, or `Retry-After`, capped); an attempt that made
    progress resets the count. 401/403/404/410, other 4xx, refused redirects and wrong
    bytes (size or hash) move to the next location at once. When every location failed:
    ContentUnavailableError (IntegrityError if every failure was wrong bytes), listing
    (redacted location, reason) per attempt.

Cache: `<cache>/<ID>.<version>/` holds the files; `<cache>/.records/<ID>.<version>.json`
(outside the package folder, written atomically) holds, per verified file, size, mtime_ns,
ctime_ns, inode, device and SHA-256, plus `.part` validators and the last-used time. A
file whose stat still matches all of these is trusted without re-hashing (size and mtime
alone can be set back by whoever rewrites the file; the change time cannot); a changed
one is re-hashed, and re-fetched if it no longer matches. A cache folder deleted during a
download is made again and the download goes on. With `limit_bytes`, least-recently-used packages not
in use are evicted (old versions included).

Confinement: a file is written only below its package folder: paths are re-checked,
symlinks or files planted where a folder must be are removed, the resolved parent is
checked, `.part` files are opened with O_NOFOLLOW and renames replace (never follow) a
symlink at the final name.

Threads: transfers run on the HttpSession's worker threads (see core/http.py for the
measured reasons): one thread reads the body and hands ~1 MiB batches to a writer thread
that hashes and writes. Progress events are posted to the caller's loop, at most 10 a
second per package. Events and logs (logger `software_center.content`) only ever see
redacted URLs.
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import hashlib
import json
import logging
import math
import os
import re
import shutil
import ssl
import stat
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import httpx

from .catalog import Location, Package, PackageFile, file_url
from .errors import CacheError, ContentError, ContentUnavailableError, IntegrityError
from .events import (
    DownloadFailed,
    DownloadFinished,
    DownloadProgressed,
    DownloadRetrying,
    DownloadStarted,
    EventSink,
)
from .http import Abort, HttpSession, UnusableUrlError, describe_http_error, lower_thread_priority, redact_url
from .fsutil import fsync_dir

__all__ = [
    "ContentStore",
    "RetryPolicy",
    "cache_key",
    "ordered_locations",
    "parse_retry_after",
]

log = logging.getLogger("software_center.content")

Connection = Literal["internet", "intranet"]

BATCH_BYTES = 1024 * 1024  # the reader hands the writer batches of about this size ...
BATCH_MAX_AGE_S = 0.02  # ... or whatever arrived within this time (slow links lose little on a kill)
WRITER_QUEUE_BYTES = 4 * 1024 * 1024  # bytes received but not yet written, at most
WRITEBACK_EVERY = 32 * 1024 * 1024  # start writeback of written data this often
REHASH_CHUNK = 4 * 1024 * 1024
PROGRESS_INTERVAL_S = 0.1
MAX_ROUNDS = 3  # passes over a package whose files disappear while it is fetched
RECORDS = ".records"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_ID_RE = re.compile(r"^[A-Z0-9]{3,16}$")
_KEY_RE = re.compile(r"^[A-Z0-9]{3,16}\.[0-9]+$")
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


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


# --- policy ------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently one file is retried at one location.

    `attempts`: tries per location without progress (an attempt that received bytes
    resets the count). Delays double from `first_delay_s` up to `max_delay_s`; a server's
    `Retry-After` replaces the delay, capped at `retry_after_cap_s`.
    """

    attempts: int = 5
    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    retry_after_cap_s: float = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.first_delay_s < 0 or self.max_delay_s < 0 or self.retry_after_cap_s < 0:
            raise ValueError("delays must not be negative")

    def delay(self, failures: int) -> float:
        """Backoff before the next try after `failures` consecutive failures (>= 1)."""
        ceiling = max(self.max_delay_s, self.first_delay_s)
        return float(min(self.first_delay_s * 2 ** min(max(failures - 1, 0), 32), ceiling))

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> RetryPolicy:
        """From task-sequence variables: SMSTSDownloadRetryCount (retries after the first
        try) and SMSTSDownloadRetryDelay (seconds before the first retry). Values that are
        not whole numbers in range are ignored (the default stays)."""
        default = cls()
        attempts = default.attempts
        first = default.first_delay_s
        count = _whole(variables.get("SMSTSDownloadRetryCount"), 0, 100)
        if count is not None:
            attempts = count + 1
        delay = _whole(variables.get("SMSTSDownloadRetryDelay"), 0, 3600)
        if delay is not None:
            first = float(delay)
        return cls(attempts=attempts, first_delay_s=first, max_delay_s=max(default.max_delay_s, first))


def _whole(value: str | None, low: int, high: int) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if not _is_digits(text):
        return None
    n = int(text)
    return n if low <= n <= high else None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), None if invalid."""
    if value is None:
        return None
    text = value.strip()
    if _is_digits(text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = datetime.now(timezone.utc).timestamp() if now is None else now
    try:
        return max(0.0, when.timestamp() - current)
    except (OverflowError, OSError, ValueError):
        return None


def _is_digits(text: str) -> bool:
    """ASCII digits only: `str.isdigit()` also takes '²' and other scripts' digits."""
    return text.isascii() and text.isdigit()


def cache_key(package_id: str, package: Package) -> str:
    """`<ID>.<version>`: the package folder's name and the key `evict(keep=...)` takes."""
    if not _ID_RE.match(package_id):
        raise ValueError(f"not a package ID: {package_id!r}")
    return f"{package_id}.{package.version}"


def ordered_locations(
    package: Package, connection: Connection, allow_cloud: bool = True
) -> list[Location]:
    """Where to fetch from, in order. Internet: `cloud` only, catalog order. Intranet:
    `dp` in catalog order, then `cloud` if `allow_cloud`."""
    dps = [loc for loc in package.locations if loc.kind == "dp"]
    clouds = [loc for loc in package.locations if loc.kind == "cloud"]
    if connection == "internet":
        return clouds
    return dps + (clouds if allow_cloud else [])


# --- failures of one attempt ---------------------------------------------------------------

FailureKind = Literal["retry", "next", "restart"]


class _Failure(Exception):
    """One attempt failed. retry: same location after a delay; next: next location now;
    restart: same location, from zero, now. `integrity`: the server's bytes were wrong."""

    def __init__(
        self,
        kind: FailureKind,
        reason: str,
        *,
        retry_after: float | None = None,
        integrity: bool = False,
        discard: bool = False,
    ) -> None:
        super().__init__(reason)
        self.kind: FailureKind = kind
        self.reason = reason
        self.retry_after = retry_after
        self.integrity = integrity
        self.discard = discard or kind == "restart"  # the .part must go


def _status_failure(response: httpx.Response) -> _Failure:
    code = response.status_code
    reason = f"HTTP {code} {response.reason_phrase}".rstrip()
    if code >= 500 or code in (408, 429):
        return _Failure("retry", reason, retry_after=parse_retry_after(response.headers.get("retry-after")))
    if code == 416:
        return _Failure("restart", reason)
    if code == 401:  # the location wants a token it did not get (sent to the site's origin only)
        return _Failure("next", f"{reason}: sign-in required")
    return _Failure("next", reason)


def _transport_failure(exc: httpx.HTTPError) -> _Failure:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
            return _Failure("next", describe_http_error(exc))
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _Failure("next", "the server's TLS certificate is not trusted")
        cause = cause.__cause__ or cause.__context__
    return _Failure("retry", describe_http_error(exc))


def _cache_error(exc: OSError, where: Path | str, doing: str) -> CacheError:
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


# --- the package record --------------------------------------------------------------------


class _Record:
    """`<cache>/.records/<key>.json`: verified files, .part validators, last use."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> _Record:
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

    def validator(self, path: str) -> str | None:
        entry = self.data["partial"].get(path)
        value = entry.get("validator") if isinstance(entry, dict) else None
        return value if isinstance(value, str) and _SENDABLE.match(value) else None

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
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            payload = json.dumps(self.data, sort_keys=True).encode()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_NOFOLLOW | _O_BINARY | _O_CLOEXEC, 0o644)
            try:
                os.write(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise _cache_error(exc, self.path, "write") from exc


# --- one file across attempts --------------------------------------------------------------


@dataclass
class _FileJob:
    spec: PackageFile
    folder: Path  # the package folder
    final: Path
    part: Path
    offset: int = 0  # bytes in .part that `hasher` has seen
    hasher: Any = None  # None: the .part on disk has not been looked at yet
    resumed: bool = False  # .part holds bytes from an earlier response
    synced: bool = False
    # The furthest offset ever verified in the .part: an attempt made progress only if it
    # got past it (bytes received are not progress when an answer starts again from 0).
    furthest: int = 0

    def reset(self) -> None:
        self.offset = 0
        self.hasher = hashlib.sha256()
        self.resumed = False
        self.synced = False


# --- progress ------------------------------------------------------------------------------


class _Progress:
    """Counts bytes for one package fetch and posts DownloadProgressed to the caller's loop.

    `add`/`drop` run on worker threads; events are delivered on the loop, at least
    PROGRESS_INTERVAL_S apart, `bytes` never going backwards.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, sink: EventSink, package: str, total: int, present: int
    ) -> None:
        self._loop = loop
        self._sink = sink
        self.package = package
        self.total = total
        self.present = present  # bytes on disk (complete + .part) plus bytes in flight
        self.transferred = 0  # body bytes received during this fetch
        self._shown = min(present, total)
        now = time.monotonic()
        self._samples: deque[tuple[float, int]] = deque([(now, 0)])
        self._last_post = now
        self._last_delivered = -math.inf
        self._closed = False

    def add(self, n: int) -> None:
        self.transferred += n
        self.present += n
        now = time.monotonic()
        if now - self._last_post >= PROGRESS_INTERVAL_S * 1.1:
            self._last_post = now
            self._loop.call_soon_threadsafe(self._deliver, self._snapshot(now))

    def drop(self, n: int) -> None:
        self.present -= n

    def _snapshot(self, now: float) -> DownloadProgressed:
        self._samples.append((now, self.transferred))
        while len(self._samples) > 2 and self._samples[0][0] < now - 3.0:
            self._samples.popleft()
        t0, b0 = self._samples[0]
        rate = (self.transferred - b0) / (now - t0) if now > t0 else None
        self._shown = max(self._shown, min(self.present, self.total))
        eta = (self.total - self._shown) / rate if rate else None
        return DownloadProgressed(
            package=self.package, bytes=self._shown, total_bytes=self.total, rate_bps=rate, eta_s=eta
        )

    def _deliver(self, event: DownloadProgressed) -> None:
        now = self._loop.time()
        if self._closed or now - self._last_delivered < PROGRESS_INTERVAL_S:
            return  # the next one carries the whole state anyway
        self._last_delivered = now
        self._sink(event)

    def finish(self) -> None:
        """On the loop: a last event at 100 % if it is due, then no more events."""
        if not self._closed and self._shown < self.total:
            self.present = max(self.present, self.total)
            self._deliver(self._snapshot(time.monotonic()))
        self._closed = True

    def close(self) -> None:
        self._closed = True


# --- the writer thread ---------------------------------------------------------------------


class _WriterFailed(Exception):
    pass


class _Writer(threading.Thread):
    """Writes and hashes batches handed over by the reading thread, in order."""

    def __init__(self, fd: int, hasher: Any, offset: int) -> None:
        super().__init__(name="sc-content-writer", daemon=True)
        self._fd = fd
        self._hasher = hasher
        self.offset = offset  # bytes written and hashed
        self._started_at = offset
        self._advised = offset
        self.error: OSError | None = None
        self._cond = threading.Condition()
        self._items: deque[tuple[list[bytes], int]] = deque()
        self._queued = 0
        self._closed = False

    def put(self, chunks: list[bytes], n: int) -> None:
        with self._cond:
            while self._queued > WRITER_QUEUE_BYTES and self.error is None:
                self._cond.wait()
            if self.error is not None:
                raise _WriterFailed()
            self._items.append((chunks, n))
            self._queued += n
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def run(self) -> None:
        lower_thread_priority()
        while True:
            with self._cond:
                while not self._items and not self._closed:
                    self._cond.wait()
                if not self._items:
                    return
                chunks, n = self._items.popleft()
            try:
                _write_all(self._fd, chunks)
            except OSError as exc:
                with self._cond:
                    self.error = exc
                    self._items.clear()
                    self._cond.notify_all()
                return
            for chunk in chunks:
                self._hasher.update(chunk)
            with self._cond:
                self.offset += n
                self._queued -= n
                self._cond.notify_all()
            if BOOT_ID is None and self.offset - self._advised >= WRITEBACK_EVERY and hasattr(os, "posix_fadvise"):
                # Start writeback now so the fsync before the rename has little left to do.
                try:
                    os.posix_fadvise(self._fd, self._advised, self.offset - self._advised, os.POSIX_FADV_DONTNEED)
                except OSError:
                    pass
                self._advised = self.offset


def _write_all(fd: int, chunks: list[bytes]) -> None:
    if len(chunks) > 1 and hasattr(os, "writev"):
        views = [memoryview(c) for c in chunks]
        while views:
            n = os.writev(fd, views)
            while views and n >= len(views[0]):
                n -= len(views[0])
                views.pop(0)
            if views and n:
                views[0] = views[0][n:]
        return
    data = memoryview(chunks[0] if len(chunks) == 1 else b"".join(chunks))
    while data:
        n = os.write(fd, data)
        data = data[n:]


# --- the store -----------------------------------------------------------------------------


@dataclass
class _Plan:
    pending: list[_FileJob]
    cached_bytes: int  # complete, verified files
    part_bytes: int  # bytes already in .part files
    record: _Record


@dataclass
class _Attempts:
    items: list[tuple[str, str]] = field(default_factory=list)


class ContentStore:
    """The content cache under `cache_dir`; downloads through `session`.

    `limit_bytes`: keep the cache under this size by evicting least-recently-used packages
    that are not in use (None: no limit).
    """

    def __init__(self, cache_dir: Path, session: HttpSession, *, limit_bytes: int | None = None) -> None:
        self.cache_dir = Path(os.path.abspath(cache_dir))
        self.session = session
        self.limit_bytes = limit_bytes
        self._locks: dict[str, asyncio.Lock] = {}
        self._active: set[str] = set()

    # --- queries (cheap, synchronous) -------------------------------------------------

    def package_dir(self, package_id: str, package: Package) -> Path:
        """`<cache>/<ID>.<version>/`."""
        return self.cache_dir / cache_key(package_id, package)

    def _record_path(self, key: str) -> Path:
        return self.cache_dir / RECORDS / f"{key}.json"

    def cached_bytes(self, package_id: str, package: Package) -> int:
        """Bytes of the package's files that are complete and verified (record + stat)."""
        key = cache_key(package_id, package)
        record = _Record.load(self._record_path(key))
        folder = self.cache_dir / key
        return sum(f.size for f in package.files if self._trusted(folder, f, record))

    def is_complete(self, package_id: str, package: Package) -> bool:
        key = cache_key(package_id, package)
        record = _Record.load(self._record_path(key))
        folder = self.cache_dir / key
        return all(self._trusted(folder, f, record) for f in package.files)

    def _trusted(self, folder: Path, spec: PackageFile, record: _Record) -> bool:
        """Whether the file is the one verified and recorded, without reading it.

        Size and mtime can be set back by anyone who can write the file; the change time
        (set by the kernel on every write, rename or utime) and the inode and device cannot.
        A file rewritten in place, or replaced by another, is hashed again.
        """
        entry = record.file_entry(spec.path)
        if entry is None or entry.get("sha256") != spec.sha256 or entry.get("size") != spec.size:
            return False
        if entry.get("boot") != BOOT_ID:  # written before a restart of the machine: hash it again
            return False
        try:
            st = os.lstat(folder.joinpath(*spec.path.split("/")))
        except (OSError, ValueError):
            return False
        if not stat.S_ISREG(st.st_mode):
            return False
        return all(entry.get(name) == value for name, value in _identity(st).items())

    def usage_bytes(self) -> int:
        """Bytes of every file under the cache folder (records and .part files included)."""
        return _tree_bytes(self.cache_dir)

    # --- eviction ------------------------------------------------------------------------

    def evict(self, keep: Iterable[str] = frozenset()) -> int:
        """Evict least-recently-used packages not in `keep` (keys `<ID>.<version>`) and not
        being fetched until the cache is under its limit. Returns bytes freed."""
        if self.limit_bytes is None:
            return 0
        return self._evict_to(self.limit_bytes, set(keep) | self._active)

    def clear(self, keep: Iterable[str] = frozenset()) -> int:
        """Remove every package not in `keep` and not being fetched. Returns bytes freed."""
        return self._evict_to(0, set(keep) | self._active)

    def _evict_to(self, target: int, keep: set[str]) -> int:
        usage = self.usage_bytes()
        freed = 0
        if usage <= target:
            return 0
        for key, _ in self._packages_by_age():
            if usage <= target:
                break
            if key in keep:
                continue
            n = self._remove(key)
            log.info("Evicted %s from the content cache (%d bytes)", key, n)
            usage -= n
            freed += n
        return freed

    def _packages_by_age(self) -> list[tuple[str, float]]:
        keys: dict[str, float] = {}
        try:
            entries = list(os.scandir(self.cache_dir))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise _cache_error(exc, self.cache_dir, "read") from exc
        for entry in entries:
            if _KEY_RE.match(entry.name):
                keys[entry.name] = 0.0
        try:
            records = list(os.scandir(self.cache_dir / RECORDS))
        except OSError:
            records = []
        for entry in records:
            name = entry.name.removesuffix(".json")
            if entry.name.endswith(".json") and _KEY_RE.match(name):
                keys[name] = 0.0
        for key in keys:
            used = _Record.load(self._record_path(key)).last_used
            if used is None:
                try:
                    used = os.lstat(self.cache_dir / key).st_mtime
                except OSError:
                    used = 0.0
            keys[key] = used
        return sorted(keys.items(), key=lambda kv: (kv[1], kv[0]))

    def _remove(self, key: str) -> int:
        folder = self.cache_dir / key
        record = self._record_path(key)
        n = _tree_bytes(folder)
        try:
            if os.path.islink(folder):
                os.unlink(folder)
            elif folder.exists():
                shutil.rmtree(folder)
            n += record.stat().st_size if record.exists() else 0
            record.unlink(missing_ok=True)
        except OSError as exc:
            raise _cache_error(exc, folder, "remove") from exc
        return n

    # --- fetch ---------------------------------------------------------------------------

    async def fetch(
        self,
        package_id: str,
        package: Package,
        catalog_url: str,
        connection: Connection,
        *,
        on_event: EventSink,
        retry: RetryPolicy = RetryPolicy(),
        allow_cloud: bool = True,
    ) -> Path:
        """Make every file of the package present and verified; return its folder.

        Emits DownloadStarted, DownloadProgressed*, DownloadRetrying*, then DownloadFinished
        or DownloadFailed. Raises ContentUnavailableError, IntegrityError, CacheError.
        Cancellation stops the transfer promptly and keeps `.part` files for a resume.
        """
        key = cache_key(package_id, package)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            self._active.add(key)
            try:
                return await self._fetch(key, package_id, package, catalog_url, connection, on_event, retry, allow_cloud)
            finally:
                self._active.discard(key)

    async def _fetch(
        self,
        key: str,
        package_id: str,
        package: Package,
        catalog_url: str,
        connection: Connection,
        on_event: EventSink,
        retry: RetryPolicy,
        allow_cloud: bool,
    ) -> Path:
        folder = self.cache_dir / key
        locations = ordered_locations(package, connection, allow_cloud)
        total = package.total_bytes
        try:
            plan = await self.session.run_blocking(lambda abort: self._prepare(key, package, abort))
        except ContentError as exc:
            log.error("Cannot prepare the cache for %s: %s", key, exc)
            on_event(DownloadFailed(package=package_id, error=str(exc)))
            raise
        first = redact_url(_location_url(locations[0], catalog_url)) if locations else ""
        on_event(DownloadStarted(package=package_id, total_bytes=total, cached_bytes=plan.cached_bytes, location=first))

        if not plan.pending:
            await self.session.run_blocking(lambda abort: plan.record.touch())
            log.info("Content of %s is in the cache and verified (%d files, %d bytes)", key, len(package.files), total)
            on_event(DownloadFinished(package=package_id, bytes_transferred=0, verified=True))
            return folder

        loop = asyncio.get_running_loop()
        progress = _Progress(loop, on_event, package_id, total, plan.cached_bytes + plan.part_bytes)
        try:
            if not locations:
                raise ContentUnavailableError(
                    f"{package_id}: no content location is usable on the {connection}"
                    + ("" if connection == "internet" or allow_cloud else " (cloud content is not allowed)"),
                    [],
                )
            needed = total - plan.cached_bytes - plan.part_bytes
            in_use = {key} | self._active
            await self.session.run_blocking(lambda abort: self._make_room(needed, in_use))
            log.info(
                "Downloading %s (%d files, %d bytes, %d cached) from %s",
                key, len(plan.pending), total, plan.cached_bytes,
                ", ".join(redact_url(_location_url(loc, catalog_url)) for loc in locations),
            )
            attempts = _Attempts()
            preferred = 0
            pending, record = plan.pending, plan.record
            for round_ in range(1, MAX_ROUNDS + 1):
                for job in pending:
                    preferred = await self._fetch_file(
                        package_id, job, locations, preferred, catalog_url, retry, progress, record, attempts, on_event
                    )
                # A file verified earlier in this fetch may be gone again (the cache folder
                # deleted mid-download): look once more, fetch what is missing.
                again = await self.session.run_blocking(lambda abort: self._prepare(key, package, abort))
                pending, record = again.pending, again.record
                if not pending:
                    break
                log.warning("%s: %d files went missing from the cache during the download; fetching them again",
                            key, len(pending))
            else:
                raise CacheError(
                    f"{package_id}: files kept disappearing from {folder} while they were downloaded"
                )
            plan.record = record
        except ContentError as exc:
            progress.close()
            log.error("Download of %s failed: %s", key, exc)
            on_event(DownloadFailed(package=package_id, error=str(exc)))
            raise
        except BaseException:
            progress.close()
            raise
        progress.finish()
        await self.session.run_blocking(lambda abort: plan.record.touch())
        log.info("Downloaded %s: %d bytes transferred, every file verified", key, progress.transferred)
        on_event(DownloadFinished(package=package_id, bytes_transferred=progress.transferred, verified=True))
        if self.limit_bytes is not None:
            limit, in_use = self.limit_bytes, {key} | self._active
            await self.session.run_blocking(lambda abort: self._evict_to(limit, in_use))
        return folder

    async def _fetch_file(
        self,
        package_id: str,
        job: _FileJob,
        locations: list[Location],
        preferred: int,
        catalog_url: str,
        retry: RetryPolicy,
        progress: _Progress,
        record: _Record,
        attempts: _Attempts,
        on_event: EventSink,
    ) -> int:
        """Fetch one file, trying locations from `preferred` on; returns the one that worked."""
        order = list(range(preferred, len(locations))) + list(range(preferred))
        integrity_only = True
        for n, index in enumerate(order):
            loc = locations[index]
            shown_loc = redact_url(_location_url(loc, catalog_url))
            url = file_url(loc.url, catalog_url, job.spec.path)
            failures = 0
            tries = 0
            while True:
                tries += 1
                try:
                    await self.session.run_blocking(
                        lambda abort: self._attempt(job, url, abort, progress, record)
                    )
                    return index
                except _Failure as f:
                    attempts.items.append((shown_loc, f"{job.spec.path}: {f.reason}"))
                    integrity_only = integrity_only and f.integrity
                    if f.kind == "next":
                        log.warning("%s from %s failed: %s", job.spec.path, shown_loc, f.reason)
                        break
                    if job.offset > job.furthest:
                        job.furthest = job.offset
                        failures = 0
                    failures += 1
                    if failures >= retry.attempts:
                        log.warning(
                            "%s from %s failed %d times, last: %s", job.spec.path, shown_loc, failures, f.reason
                        )
                        break
                    if f.kind == "restart":
                        delay = 0.0
                    elif f.retry_after is not None:
                        delay = min(f.retry_after, retry.retry_after_cap_s)
                    else:
                        delay = retry.delay(failures)
                    log.warning(
                        "%s from %s failed (%s); retry %d of %d in %.1f s",
                        job.spec.path, shown_loc, f.reason, failures, retry.attempts - 1, delay,
                    )
                    on_event(
                        DownloadRetrying(
                            package=package_id, path=job.spec.path, location=shown_loc,
                            attempt=tries + 1, delay_s=delay, reason=f.reason,
                        )
                    )
                    if delay > 0:
                        await asyncio.sleep(delay)
            if n + 1 < len(order):
                next_loc = redact_url(_location_url(locations[order[n + 1]], catalog_url))
                log.info("Trying the next location for %s: %s", job.spec.path, next_loc)
                on_event(
                    DownloadRetrying(
                        package=package_id, path=job.spec.path, location=next_loc,
                        attempt=1, delay_s=0.0, reason=attempts.items[-1][1],
                    )
                )
        listing = "; ".join(f"{loc}: {why}" for loc, why in attempts.items)
        if integrity_only:
            raise IntegrityError(
                f"{package_id}: {job.spec.path} did not match the catalog at any location ({listing})",
                list(attempts.items),
            )
        raise ContentUnavailableError(
            f"{package_id}: {job.spec.path} could not be downloaded from any location ({listing})",
            list(attempts.items),
        )

    # --- worker-thread parts -----------------------------------------------------------

    def _prepare(self, key: str, package: Package, abort: Abort) -> _Plan:
        """Create the folders, check what is there, plan the files still to fetch."""
        folder = self.cache_dir / key
        with abort.file_phase():
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                _ensure_dir(folder)
                (self.cache_dir / RECORDS).mkdir(exist_ok=True)
            except OSError as exc:
                raise _cache_error(exc, folder, "create") from exc
            names = {f.path.casefold() for f in package.files}
            for spec in package.files:
                if (spec.path + ".part").casefold() in names:
                    raise CacheError(
                        f"{key}: {spec.path + '.part'!r} is both a file of the package and the name "
                        f"{spec.path!r} is downloaded to; refusing the package"
                    )
            record = _Record.load(self._record_path(key))
            pending: list[_FileJob] = []
            cached = 0
            parts = 0
            for spec in package.files:
                abort.check()
                final = _confined(folder, spec.path)
                part = final.with_name(final.name + ".part")
                if self._trusted(folder, spec, record):
                    cached += spec.size
                    continue
                if self._verify_existing(final, spec, record, abort):
                    cached += spec.size
                    continue
                try:
                    st = os.lstat(part)
                    if stat.S_ISREG(st.st_mode) and st.st_size <= spec.size:
                        parts += st.st_size
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise _cache_error(exc, part, "read") from exc
                pending.append(_FileJob(spec=spec, folder=folder, final=final, part=part))
            return _Plan(pending=pending, cached_bytes=cached, part_bytes=parts, record=record)

    def _verify_existing(self, final: Path, spec: PackageFile, record: _Record, abort: Abort) -> bool:
        """A file at its final name that the record does not vouch for: re-hash or delete."""
        try:
            st = os.lstat(final)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _cache_error(exc, final, "read") from exc
        ok = False
        if stat.S_ISREG(st.st_mode) and st.st_size == spec.size:
            log.info("Re-verifying %s (changed since it was recorded)", final.name)
            hasher = hashlib.sha256()
            try:
                with open(final, "rb") as f:
                    while chunk := f.read(REHASH_CHUNK):
                        abort.check()
                        hasher.update(chunk)
            except OSError as exc:
                raise _cache_error(exc, final, "read") from exc
            ok = hasher.hexdigest() == spec.sha256
        if ok:
            record.set_file(spec.path, st, spec.sha256)
            return True
        log.warning("%s in the cache does not match the catalog; fetching it again", spec.path)
        try:
            os.unlink(final)
        except OSError as exc:
            raise _cache_error(exc, final, "remove") from exc
        record.drop_file(spec.path)
        return False

    def _make_room(self, needed: int, in_use: set[str]) -> None:
        if self.limit_bytes is not None:
            self._evict_to(max(self.limit_bytes - needed, 0), in_use)
        try:
            free = shutil.disk_usage(self.cache_dir).free
        except OSError as exc:
            raise _cache_error(exc, self.cache_dir, "read") from exc
        if free < needed:
            raise CacheError(
                f"the data folder is full: {needed} more bytes are needed in {self.cache_dir}, "
                f"{free} are free"
            )

    def _attempt(self, job: _FileJob, url: str, abort: Abort, progress: _Progress, record: _Record) -> None:
        """One try of one file at one URL. Returns when the file is verified in place."""
        spec = job.spec
        with abort.file_phase():
            self._load_part(job, abort, progress)
            if job.offset == spec.size:  # an empty file, or a .part complete before a crash
                if spec.size == 0:
                    try:
                        os.close(_open_part(job.part))
                    except OSError as exc:
                        raise _cache_error(exc, job.part, "write") from exc
                self._finish(job, record, progress)
                return
        headers = {"Accept-Encoding": "identity"}
        if job.offset:
            headers["Range"] = f"bytes={job.offset}-"
            validator = record.validator(spec.path)
            if validator:
                headers["If-Range"] = validator
        try:
            with self.session.stream(url, headers=headers, abort=abort) as response:
                start = _check_response(response, job)
                with abort.file_phase():
                    if start == 0 and job.offset:
                        log.info(
                            "%s: the server sent the whole file (Range ignored or file changed); "
                            "starting again from 0 (had %d bytes)", spec.path, job.offset,
                        )
                        self._discard(job, progress)
                    elif start:
                        job.resumed = True  # bytes of two responses: a splice the hash must confirm
                    record.set_partial(spec.path, _validator(response))
                    self._receive(response, job, abort, progress)
        except _Failure as f:
            if f.discard:
                with abort.file_phase():
                    self._discard(job, progress)
            raise
        except UnusableUrlError as exc:  # a refused or unusable redirect, or location URL
            raise _Failure("next", str(exc)) from exc
        except httpx.HTTPError as exc:
            abort.check()
            raise _transport_failure(exc) from exc
        with abort.file_phase():
            if job.offset < spec.size:
                self._discard(job, progress)
                raise _Failure(
                    "next", f"the body ended after {job.offset} of {spec.size} bytes", integrity=True
                )
            self._finish(job, record, progress)

    def _load_part(self, job: _FileJob, abort: Abort, progress: _Progress) -> None:
        """Make `job.offset`/`job.hasher` describe the `.part` on disk (re-hash after a restart)."""
        try:
            st = os.lstat(job.part)
        except FileNotFoundError:
            if job.hasher is None or job.offset:
                progress.drop(job.offset)
                job.reset()
            return
        except OSError as exc:
            raise _cache_error(exc, job.part, "read") from exc
        if job.hasher is not None and stat.S_ISREG(st.st_mode) and st.st_size == job.offset:
            return
        if not stat.S_ISREG(st.st_mode) or st.st_size > job.spec.size:
            # Not counted as present at the start; an earlier attempt's bytes were.
            self._discard(job, progress, on_disk=job.offset if job.hasher is not None else 0)
            return
        hasher = hashlib.sha256()
        done = 0
        try:
            fd = os.open(job.part, os.O_RDONLY | _O_NOFOLLOW | _O_BINARY | _O_CLOEXEC)
            try:
                while done < st.st_size:
                    abort.check()
                    chunk = os.read(fd, min(REHASH_CHUNK, st.st_size - done))
                    if not chunk:
                        break
                    hasher.update(chunk)
                    done += len(chunk)
            finally:
                os.close(fd)
        except OSError as exc:
            raise _cache_error(exc, job.part, "read") from exc
        if job.hasher is not None:
            progress.drop(job.offset)
            progress.present += done
        job.hasher, job.offset, job.resumed, job.synced = hasher, done, done > 0, False
        job.furthest = max(job.furthest, done)
        if done:
            log.info("Resuming %s at byte %d", job.spec.path, done)

    def _remake_folders(self, job: _FileJob) -> None:
        """The cache folder, the package folder and the file's folders, again."""
        log.warning("The cache folder %s was removed during the download; making it again", self.cache_dir)
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            _ensure_dir(job.folder)
        except OSError as exc:
            raise _cache_error(exc, job.folder, "create") from exc
        _confined(job.folder, job.spec.path)

    def _discard(self, job: _FileJob, progress: _Progress, on_disk: int | None = None) -> None:
        try:
            os.unlink(job.part)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _cache_error(exc, job.part, "remove") from exc
        progress.drop(job.offset if on_disk is None else on_disk)
        job.reset()

    def _receive(self, response: httpx.Response, job: _FileJob, abort: Abort, progress: _Progress) -> None:
        """Stream the body into the `.part` (reader here, hashing + writing on a writer thread)."""
        try:
            fd = _open_part(job.part)
        except FileNotFoundError:  # the cache folder was deleted since the .part was looked at
            self._remake_folders(job)
            self._discard(job, progress)
            raise _Failure("restart", "the cache folder was removed during the download") from None
        except OSError as exc:
            raise _cache_error(exc, job.part, "write") from exc
        try:
            try:
                if os.fstat(fd).st_size < job.offset:
                    # Not the .part that was hashed (deleted and made again meanwhile):
                    # extending it would put zeros where the hashed bytes were.
                    os.close(fd)
                    self._discard(job, progress)
                    raise _Failure("restart", "the partial file was removed during the download")
                os.ftruncate(fd, job.offset)
                os.lseek(fd, job.offset, os.SEEK_SET)
            except OSError:
                os.close(fd)
                raise
        except OSError as exc:
            raise _cache_error(exc, job.part, "write") from exc
        writer = _Writer(fd, job.hasher, job.offset)
        writer.start()
        limit = job.spec.size - job.offset
        received = 0
        batch: list[bytes] = []
        batch_bytes = 0
        batch_began = 0.0
        try:
            try:
                for chunk in response.iter_raw():
                    if abort.is_set():
                        break
                    n = len(chunk)
                    if received + n > limit:
                        raise _Failure(
                            "next",
                            f"the server sent more than the catalog's {job.spec.size} bytes",
                            integrity=True,
                            discard=True,
                        )
                    received += n
                    progress.add(n)
                    now = time.monotonic()
                    if not batch:
                        batch_began = now
                    batch.append(chunk)
                    batch_bytes += n
                    if batch_bytes >= BATCH_BYTES or now - batch_began >= BATCH_MAX_AGE_S or len(batch) >= 512:
                        writer.put(batch, batch_bytes)
                        batch, batch_bytes = [], 0
            finally:
                # What arrived is a valid prefix: keep it, even when the transfer failed.
                if batch and writer.error is None:
                    try:
                        writer.put(batch, batch_bytes)
                    except _WriterFailed:
                        pass
                writer.close()
                writer.join()
                job.offset = writer.offset
                try:
                    if writer.error is not None:
                        os.ftruncate(fd, job.offset)
                    elif job.offset == job.spec.size and BOOT_ID is None:
                        os.fsync(fd)
                        job.synced = True
                finally:
                    os.close(fd)
        except _WriterFailed:
            pass
        if writer.error is not None:
            raise _cache_error(writer.error, job.part, "write")
        abort.check()

    def _finish(self, job: _FileJob, record: _Record, progress: _Progress) -> None:
        """Verify the complete `.part`; rename it into place, or delete it."""
        spec = job.spec
        digest = job.hasher.hexdigest()
        if digest != spec.sha256:
            kind: FailureKind = "restart" if job.resumed else "next"
            log.warning(
                "%s: SHA-256 mismatch (expected %s, got %s)%s", spec.path, spec.sha256, digest,
                "; fetching it again from the start" if job.resumed else "",
            )
            self._discard(job, progress)
            raise _Failure(kind, "SHA-256 mismatch", integrity=True)
        try:
            if not job.synced and BOOT_ID is None:
                fd = os.open(job.part, os.O_RDWR | _O_NOFOLLOW | _O_BINARY | _O_CLOEXEC)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            os.replace(job.part, job.final)
            _fsync_dir(job.final.parent)
            st = os.lstat(job.final)
        except FileNotFoundError:
            # The cache folder was deleted while the file arrived: its bytes went with it.
            self._remake_folders(job)
            self._discard(job, progress)
            raise _Failure("restart", "the cache folder was removed during the download") from None
        except OSError as exc:
            raise _cache_error(exc, job.final, "write") from exc
        record.set_file(spec.path, st, spec.sha256)
        log.info("Verified %s (%d bytes, SHA-256 %s)", spec.path, spec.size, digest)


# --- helpers -------------------------------------------------------------------------------


def _location_url(location: Location, catalog_url: str) -> str:
    return file_url(location.url, catalog_url, "")


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


_SENDABLE = re.compile(r"^[\x20-\x7e]+\Z")


def _validator(response: httpx.Response) -> str | None:
    """The strong ETag, else Last-Modified, for a later If-Range; None when there is none
    that a request header can carry back (anything but visible ASCII)."""
    etag: str | None = response.headers.get("etag")
    if etag and not etag.startswith("W/") and _SENDABLE.match(etag):
        return etag
    modified: str | None = response.headers.get("last-modified")
    return modified if modified and _SENDABLE.match(modified) else None


_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


def _check_response(response: httpx.Response, job: _FileJob) -> int:
    """The byte offset the body starts at; raises _Failure for anything unusable."""
    size = job.spec.size
    code = response.status_code
    length = response.headers.get("content-length")
    if response.headers.get("content-encoding", "identity").lower() not in ("identity", ""):
        raise _Failure("next", "the server encoded the body (Content-Encoding); expected the file as is")
    if code == 200:
        if length is not None and _is_digits(length) and int(length) != size:
            raise _Failure("next", f"the server's file has {length} bytes, the catalog says {size}", integrity=True)
        return 0
    if code == 206:
        m = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        if m is None:
            raise _Failure("restart", "unusable Content-Range in a 206 answer")
        first, last, whole = int(m.group(1)), int(m.group(2)), m.group(3)
        if whole != "*" and int(whole) != size:
            raise _Failure("next", f"the server's file has {whole} bytes, the catalog says {size}", integrity=True)
        if first != job.offset or last != size - 1:
            raise _Failure("restart", f"the server sent bytes {first}-{last}, asked for {job.offset}-")
        if length is not None and _is_digits(length) and int(length) != size - first:
            raise _Failure("restart", "Content-Length does not match Content-Range")
        return first
    raise _status_failure(response)


def _confined(folder: Path, rel: str) -> Path:
    """`folder/rel` after making sure every parent below `folder` is a real folder inside it."""
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
            _ensure_dir(current)
        root = os.path.realpath(folder)
        real_parent = os.path.realpath(current)
    except OSError as exc:
        raise _cache_error(exc, current, "create") from exc
    if real_parent != root and not real_parent.startswith(root + os.sep):
        raise CacheError(f"refusing to write {rel!r}: it would land outside {folder}")
    return current / parts[-1]


def _ensure_dir(path: Path) -> None:
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


def _open_part(path: Path) -> int:
    flags = os.O_WRONLY | os.O_CREAT | _O_NOFOLLOW | _O_BINARY | _O_CLOEXEC
    try:
        return os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
    os.unlink(path)  # a symlink planted at the .part name: never write through it
    return os.open(path, flags | os.O_EXCL, 0o644)


_fsync_dir = fsync_dir


def _tree_bytes(path: Path) -> int:
    total = 0
    try:
        st = os.lstat(path)
    except OSError:
        return 0
    if not stat.S_ISDIR(st.st_mode):
        return st.st_size if stat.S_ISREG(st.st_mode) else 0
    stack = [os.fspath(path)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total

