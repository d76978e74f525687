"""One file, one attempt: the transfer of a package file into its `.part`, checked.

Owns `attempt()` (one try of one file at one URL, on a worker thread), the checks of a
response (status, Content-Range, Content-Length, Content-Encoding, validators), the
writer thread, `FileJob` (one file across attempts) and `Progress` (bytes counted for a
package fetch, posted to the caller's loop at most 10 times a second). What to do after
a failed attempt is the store's: an attempt says so with `AttemptFailed`.

  * bytes go to `<file>.part`, hashed while they arrive; size and SHA-256 are checked,
    then the file is renamed to its final name. A file that fails is deleted: nothing
    unverified ever sits at a final name. Where the boot cannot be told (records.BOOT_ID
    is None) the data is fsynced before the rename.
  * a `.part` survives retries, cancellation and process death; the next request asks
    `Range: bytes=N-` with `If-Range` (its validator is kept in the package record). A
    200 answer (Range ignored, or the file changed) restarts from zero on the same
    response. After a restart of the process the `.part` is re-hashed before resuming; a
    `.part` that is not the one hashed (deleted meanwhile) is never extended.
  * `.part` files are opened with O_NOFOLLOW, and renames replace (never follow) a
    symlink at the final name. A cache folder deleted mid-transfer is made again and the
    file restarts.
  * one thread reads the body and hands ~1 MiB batches to a writer thread that hashes
    and writes (core/http.py says why).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import logging
import math
import os
import re
import ssl
import stat
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from ..catalog import PackageFile
from ..errors import UnusableUrlError
from ..events import DownloadProgressed, EventSink
from ..fsutil import fsync_dir
from ..http import Abort, HttpSession, describe_http_error, is_digits, lower_thread_priority
from .policy import parse_retry_after
from .records import BOOT_ID, PackageRecord, cache_error, confined, ensure_dir, is_sendable
from .throttle import Throttle

__all__ = [
    "REHASH_CHUNK",
    "AttemptFailed",
    "FailureKind",
    "FileJob",
    "Progress",
    "attempt",
]

log = logging.getLogger("software_center.content")

BATCH_BYTES = 1024 * 1024  # the reader hands the writer batches of about this size ...
BATCH_MAX_AGE_S = 0.02  # ... or whatever arrived within this time (slow links lose little on a kill)
WRITER_QUEUE_BYTES = 4 * 1024 * 1024  # bytes received but not yet written, at most
WRITEBACK_EVERY = 32 * 1024 * 1024  # start writeback of written data this often
REHASH_CHUNK = 4 * 1024 * 1024  # files already on disk are hashed in reads of this size
PROGRESS_INTERVAL_S = 0.1
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


# --- failures of one attempt ---------------------------------------------------------------

FailureKind = Literal["retry", "next", "restart"]


class AttemptFailed(Exception):
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
        missing: bool = False,
    ) -> None:
        super().__init__(reason)
        self.kind: FailureKind = kind
        self.missing = missing  # the server said the file does not exist (404, 410)
        self.reason = reason
        self.retry_after = retry_after
        self.integrity = integrity
        self.discard = discard or kind == "restart"  # the .part must go


def _status_failure(response: httpx.Response) -> AttemptFailed:
    code = response.status_code
    reason = f"HTTP {code} {response.reason_phrase}".rstrip()
    if code >= 500 or code in (408, 429):
        return AttemptFailed("retry", reason, retry_after=parse_retry_after(response.headers.get("retry-after")))
    if code == 416:
        return AttemptFailed("restart", reason)
    if code == 401:  # the location wants a token it did not get (sent to the site's origin only)
        return AttemptFailed("next", f"{reason}: sign-in required")
    return AttemptFailed("next", reason, missing=code in (404, 410))


def _transport_failure(exc: httpx.HTTPError) -> AttemptFailed:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
            return AttemptFailed("next", describe_http_error(exc))
        if isinstance(cause, ssl.SSLCertVerificationError):
            return AttemptFailed("next", "the server's TLS certificate is not trusted")
        cause = cause.__cause__ or cause.__context__
    return AttemptFailed("retry", describe_http_error(exc))


# --- one file across attempts -----------------------------------------------------------


@dataclass
class FileJob:
    """One file of a package fetch: where it goes, and what its `.part` holds so far.

    Made by the store, carried across attempts and locations, changed by attempts."""

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


class Progress:
    """Counts bytes for one package fetch and posts DownloadProgressed to the caller's loop.

    `add`/`drop` run on worker threads; events are delivered on the loop, at least
    PROGRESS_INTERVAL_S apart, `bytes` never going backwards.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, sink: EventSink, package: str, total: int, present: int,
        throttle: Throttle | None = None,
    ) -> None:
        self._loop = loop
        self.throttle = throttle  # background downloads: a shared rate limit
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


# --- one attempt ---------------------------------------------------------------------------


def attempt(
    session: HttpSession, job: FileJob, url: str, abort: Abort, progress: Progress, record: PackageRecord
) -> None:
    """One try of one file at one URL, on a worker thread. Returns when the file is verified
    in place; raises AttemptFailed (what to do next), CacheError, Aborted."""
    spec = job.spec
    with abort.file_phase():
        _load_part(job, abort, progress)
        if job.offset == spec.size:  # an empty file, or a .part complete before a crash
            if spec.size == 0:
                try:
                    os.close(_open_part(job.part))
                except OSError as exc:
                    raise cache_error(exc, job.part, "write") from exc
            _finish(job, record, progress)
            return
    headers = {"Accept-Encoding": "identity"}
    if job.offset:
        headers["Range"] = f"bytes={job.offset}-"
        validator = record.validator(spec.path)
        if validator:
            headers["If-Range"] = validator
    try:
        with session.stream(url, headers=headers, abort=abort) as response:
            start = _check_response(response, job)
            with abort.file_phase():
                if start == 0 and job.offset:
                    log.info(
                        "%s: the server sent the whole file (Range ignored or file changed); "
                        "starting again from 0 (had %d bytes)", spec.path, job.offset,
                    )
                    _discard(job, progress)
                elif start:
                    job.resumed = True  # bytes of two responses: a splice the hash must confirm
                record.set_partial(spec.path, _validator(response))
                _receive(response, job, abort, progress)
    except AttemptFailed as f:
        if f.discard:
            with abort.file_phase():
                _discard(job, progress)
        raise
    except UnusableUrlError as exc:  # a refused or unusable redirect, or location URL
        raise AttemptFailed("next", str(exc)) from exc
    except httpx.HTTPError as exc:
        abort.check()
        raise _transport_failure(exc) from exc
    with abort.file_phase():
        if job.offset < spec.size:
            _discard(job, progress)
            raise AttemptFailed(
                "next", f"the body ended after {job.offset} of {spec.size} bytes", integrity=True
            )
        _finish(job, record, progress)


def _load_part(job: FileJob, abort: Abort, progress: Progress) -> None:
    """Make `job.offset`/`job.hasher` describe the `.part` on disk (re-hash after a restart)."""
    try:
        st = os.lstat(job.part)
    except FileNotFoundError:
        if job.hasher is None or job.offset:
            progress.drop(job.offset)
            job.reset()
        return
    except OSError as exc:
        raise cache_error(exc, job.part, "read") from exc
    if job.hasher is not None and stat.S_ISREG(st.st_mode) and st.st_size == job.offset:
        return
    if not stat.S_ISREG(st.st_mode) or st.st_size > job.spec.size:
        # Not counted as present at the start; an earlier attempt's bytes were.
        _discard(job, progress, on_disk=job.offset if job.hasher is not None else 0)
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
        raise cache_error(exc, job.part, "read") from exc
    if job.hasher is not None:
        progress.drop(job.offset)
        progress.present += done
    job.hasher, job.offset, job.resumed, job.synced = hasher, done, done > 0, False
    job.furthest = max(job.furthest, done)
    if done:
        log.info("Resuming %s at byte %d", job.spec.path, done)


def _remake_folders(job: FileJob) -> None:
    """The cache folder, the package folder and the file's folders, again."""
    cache_dir = job.folder.parent
    log.warning("The cache folder %s was removed during the download; making it again", cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        ensure_dir(job.folder)
    except OSError as exc:
        raise cache_error(exc, job.folder, "create") from exc
    confined(job.folder, job.spec.path)


def _discard(job: FileJob, progress: Progress, on_disk: int | None = None) -> None:
    try:
        os.unlink(job.part)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise cache_error(exc, job.part, "remove") from exc
    progress.drop(job.offset if on_disk is None else on_disk)
    job.reset()


def _receive(response: httpx.Response, job: FileJob, abort: Abort, progress: Progress) -> None:
    """Stream the body into the `.part` (reader here, hashing + writing on a writer thread)."""
    try:
        fd = _open_part(job.part)
    except FileNotFoundError:  # the cache folder was deleted since the .part was looked at
        _remake_folders(job)
        _discard(job, progress)
        raise AttemptFailed("restart", "the cache folder was removed during the download") from None
    except OSError as exc:
        raise cache_error(exc, job.part, "write") from exc
    try:
        try:
            if os.fstat(fd).st_size < job.offset:
                # Not the .part that was hashed (deleted and made again meanwhile):
                # extending it would put zeros where the hashed bytes were.
                os.close(fd)
                _discard(job, progress)
                raise AttemptFailed("restart", "the partial file was removed during the download")
            os.ftruncate(fd, job.offset)
            os.lseek(fd, job.offset, os.SEEK_SET)
        except OSError:
            os.close(fd)
            raise
    except OSError as exc:
        raise cache_error(exc, job.part, "write") from exc
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
                    raise AttemptFailed(
                        "next",
                        f"the server sent more than the catalog's {job.spec.size} bytes",
                        integrity=True,
                        discard=True,
                    )
                received += n
                progress.add(n)
                if progress.throttle is not None:
                    progress.throttle.take(n, abort)
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
        raise cache_error(writer.error, job.part, "write")
    abort.check()


def _finish(job: FileJob, record: PackageRecord, progress: Progress) -> None:
    """Verify the complete `.part`; rename it into place, or delete it."""
    spec = job.spec
    digest = job.hasher.hexdigest()
    if digest != spec.sha256:
        kind: FailureKind = "restart" if job.resumed else "next"
        log.warning(
            "%s: SHA-256 mismatch (expected %s, got %s)%s", spec.path, spec.sha256, digest,
            "; fetching it again from the start" if job.resumed else "",
        )
        _discard(job, progress)
        raise AttemptFailed(kind, "SHA-256 mismatch", integrity=True)
    try:
        if not job.synced and BOOT_ID is None:
            fd = os.open(job.part, os.O_RDWR | _O_NOFOLLOW | _O_BINARY | _O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(job.part, job.final)
        fsync_dir(job.final.parent)
        st = os.lstat(job.final)
    except FileNotFoundError:
        # The cache folder was deleted while the file arrived: its bytes went with it.
        _remake_folders(job)
        _discard(job, progress)
        raise AttemptFailed("restart", "the cache folder was removed during the download") from None
    except OSError as exc:
        raise cache_error(exc, job.final, "write") from exc
    record.set_file(spec.path, st, spec.sha256)
    log.info("Verified %s (%d bytes, SHA-256 %s)", spec.path, spec.size, digest)


# --- response checks -----------------------------------------------------------------------


_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


def _check_response(response: httpx.Response, job: FileJob) -> int:
    """The byte offset the body starts at; raises AttemptFailed for anything unusable."""
    size = job.spec.size
    code = response.status_code
    length = response.headers.get("content-length")
    if response.headers.get("content-encoding", "identity").lower() not in ("identity", ""):
        raise AttemptFailed("next", "the server encoded the body (Content-Encoding); expected the file as is")
    if code == 200:
        if length is not None and is_digits(length) and int(length) != size:
            raise AttemptFailed(
                "next", f"the server's file has {length} bytes, the catalog says {size}", integrity=True
            )
        return 0
    if code == 206:
        m = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        if m is None:
            raise AttemptFailed("restart", "unusable Content-Range in a 206 answer")
        first, last, whole = int(m.group(1)), int(m.group(2)), m.group(3)
        if whole != "*" and int(whole) != size:
            raise AttemptFailed("next", f"the server's file has {whole} bytes, the catalog says {size}", integrity=True)
        if first != job.offset or last != size - 1:
            raise AttemptFailed("restart", f"the server sent bytes {first}-{last}, asked for {job.offset}-")
        if length is not None and is_digits(length) and int(length) != size - first:
            raise AttemptFailed("restart", "Content-Length does not match Content-Range")
        return first
    raise _status_failure(response)


def _validator(response: httpx.Response) -> str | None:
    """The strong ETag, else Last-Modified, for a later If-Range; None when there is none
    that a request header can carry back (anything but visible ASCII)."""
    etag: str | None = response.headers.get("etag")
    if etag and not etag.startswith("W/") and is_sendable(etag):
        return etag
    modified: str | None = response.headers.get("last-modified")
    return modified if modified and is_sendable(modified) else None


def _open_part(path: Path) -> int:
    flags = os.O_WRONLY | os.O_CREAT | _O_NOFOLLOW | _O_BINARY | _O_CLOEXEC
    try:
        return os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
    os.unlink(path)  # a symlink planted at the .part name: never write through it
    return os.open(path, flags | os.O_EXCL, 0o644)
