"""The content cache: `ContentStore` fetches a package's files into it, verified, and
keeps it within its size limit.

`ContentStore.fetch()` makes `<cache>/<ID>.<version>/` hold every file of a package, each
checked against the catalog's size and SHA-256, and returns that folder. It owns the
orchestration: which files are missing (a file the record vouches for is trusted, any
other file at its final name is hashed again), where to try each one (policy.py), how
often to retry and when to give a location up, and the events the caller sees. One
attempt at one file is transfer.py's; the record on disk is records.py's.

Retries: 5xx, 408, 429, connection errors, cuts and stalls (read timeout) are retried
with backoff (1 s doubling to 30 s, or `Retry-After`, capped); an attempt counts as
progress, and resets the count, only when it got the file further than it ever was. 401,
403, 404, 410, other 4xx, refused or unusable redirects and wrong bytes (size or hash)
move to the next location at once. A resumed file whose hash does not match is fetched
once more from zero before the location is given up. When every location failed:
ContentUnavailableError (IntegrityError if every failure was wrong bytes, ContentMissingError
if every location said the file does not exist: 404 or 410), listing
(redacted location, reason) per attempt. Files that disappear from the cache during the
fetch (the folder deleted) are fetched again before `fetch()` returns.

Cache: with `limit_bytes`, least-recently-used packages not in use are evicted (old
versions included). Transfers run on the HttpSession's worker threads; events and logs
(logger `software_center.content`) only ever see redacted URLs.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..catalog import Location, Package, PackageFile, file_url
from ..errors import CacheError, ContentError, ContentMissingError, ContentUnavailableError, IntegrityError
from ..events import (
    DownloadFailed,
    DownloadFinished,
    DownloadRetrying,
    DownloadStarted,
    EventSink,
)
from ..http import Abort, HttpSession, redact_url
from .policy import Connection, RetryPolicy, cache_key, location_url, ordered_locations
from .records import PackageRecord, cache_error, confined, ensure_dir
from .throttle import Throttle
from .transfer import REHASH_CHUNK, AttemptFailed, FileJob, Progress, attempt

__all__ = ["ContentStore"]

log = logging.getLogger("software_center.content")

RECORDS = ".records"  # <cache>/.records/<ID>.<version>.json: the package records
MAX_ROUNDS = 3  # passes over a package whose files disappear while it is fetched
_KEY_RE = re.compile(r"^[A-Z0-9]{3,16}\.[0-9]+$")


@dataclass
class _Plan:
    pending: list[FileJob]
    cached_bytes: int  # complete, verified files
    part_bytes: int  # bytes already in .part files
    record: PackageRecord


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
        record = PackageRecord.load(self._record_path(key))
        folder = self.cache_dir / key
        return sum(f.size for f in package.files if self._trusted(folder, f, record))

    def remaining_bytes(self, package_id: str, package: Package) -> int:
        """Bytes still to download for the package: what is neither complete and verified
        nor already in a `.part` file (a download resumes from there)."""
        return self.presence(package_id, package)[0]

    def presence(self, package_id: str, package: Package) -> tuple[int, bool]:
        """(`remaining_bytes`, `is_complete`) in one look at the package's files."""
        key = cache_key(package_id, package)
        record = PackageRecord.load(self._record_path(key))
        folder = self.cache_dir / key
        left = 0
        complete = True
        for spec in package.files:
            if self._trusted(folder, spec, record):
                continue
            complete = False
            have = 0
            try:
                st = os.lstat(folder.joinpath(*spec.path.split("/")).with_name(spec.path.rsplit("/", 1)[-1] + ".part"))
                if stat.S_ISREG(st.st_mode):
                    have = min(st.st_size, spec.size)
            except (OSError, ValueError):
                pass
            left += spec.size - have
        return left, complete

    def is_complete(self, package_id: str, package: Package) -> bool:
        key = cache_key(package_id, package)
        record = PackageRecord.load(self._record_path(key))
        folder = self.cache_dir / key
        return all(self._trusted(folder, f, record) for f in package.files)

    def _trusted(self, folder: Path, spec: PackageFile, record: PackageRecord) -> bool:
        """Whether the record vouches for the file as it is now (see records.py)."""
        try:
            st = os.lstat(folder.joinpath(*spec.path.split("/")))
        except (OSError, ValueError):
            return False
        return record.trusts(spec, st)

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
            raise cache_error(exc, self.cache_dir, "read") from exc
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
            used = PackageRecord.load(self._record_path(key)).last_used
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
            raise cache_error(exc, folder, "remove") from exc
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
        throttle: Throttle | None = None,
        on_transferred: Callable[[int], None] | None = None,
    ) -> Path:
        """Make every file of the package present and verified; return its folder.
        `throttle`: a rate limit (background downloads only).

        Emits DownloadStarted, DownloadProgressed*, DownloadRetrying*, then DownloadFinished
        or DownloadFailed. Raises ContentUnavailableError, IntegrityError, CacheError.
        Cancellation stops the transfer promptly and keeps `.part` files for a resume.
        When a transfer was needed, `on_transferred(n)` is called once, however it ends
        (finished, failed or cancelled), with the body bytes it really received.
        """
        key = cache_key(package_id, package)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            self._active.add(key)
            try:
                return await self._fetch(
                    key, package_id, package, catalog_url, connection, on_event, retry, allow_cloud, throttle,
                    on_transferred,
                )
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
        throttle: Throttle | None,
        on_transferred: Callable[[int], None] | None,
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
        first = redact_url(location_url(locations[0], catalog_url)) if locations else ""
        on_event(DownloadStarted(package=package_id, total_bytes=total, cached_bytes=plan.cached_bytes, location=first))

        if not plan.pending:
            await self.session.run_blocking(lambda abort: plan.record.touch())
            log.info("Content of %s is in the cache and verified (%d files, %d bytes)", key, len(package.files), total)
            on_event(DownloadFinished(package=package_id, bytes_transferred=0, verified=True))
            return folder

        loop = asyncio.get_running_loop()
        progress = Progress(loop, on_event, package_id, total, plan.cached_bytes + plan.part_bytes, throttle)
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
                ", ".join(redact_url(location_url(loc, catalog_url)) for loc in locations),
            )
            tried: list[tuple[str, str]] = []  # (redacted location, why) of every failed try
            preferred = 0
            pending, record = plan.pending, plan.record
            for _round in range(1, MAX_ROUNDS + 1):
                for job in pending:
                    preferred = await self._fetch_file(
                        package_id, job, locations, preferred, catalog_url, retry, progress, record, tried, on_event
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
        finally:
            if on_transferred is not None:
                on_transferred(progress.transferred)
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
        job: FileJob,
        locations: list[Location],
        preferred: int,
        catalog_url: str,
        retry: RetryPolicy,
        progress: Progress,
        record: PackageRecord,
        tried: list[tuple[str, str]],
        on_event: EventSink,
    ) -> int:
        """Fetch one file, trying locations from `preferred` on; returns the one that worked."""
        order = list(range(preferred, len(locations))) + list(range(preferred))
        integrity_only = True
        missing_only = True  # every location said the file does not exist
        for n, index in enumerate(order):
            loc = locations[index]
            shown_loc = redact_url(location_url(loc, catalog_url))
            url = file_url(loc.url, catalog_url, job.spec.path)
            failures = 0
            tries = 0
            while True:
                tries += 1
                try:
                    await self.session.run_blocking(functools.partial(attempt, self.session, job, url,
                                                                      progress=progress, record=record))
                    return index
                except AttemptFailed as f:
                    tried.append((shown_loc, f"{job.spec.path}: {f.reason}"))
                    integrity_only = integrity_only and f.integrity
                    missing_only = missing_only and f.missing
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
                next_loc = redact_url(location_url(locations[order[n + 1]], catalog_url))
                log.info("Trying the next location for %s: %s", job.spec.path, next_loc)
                on_event(
                    DownloadRetrying(
                        package=package_id, path=job.spec.path, location=next_loc,
                        attempt=1, delay_s=0.0, reason=tried[-1][1],
                    )
                )
        listing = "; ".join(f"{loc}: {why}" for loc, why in tried)
        if integrity_only:
            raise IntegrityError(
                f"{package_id}: {job.spec.path} did not match the catalog at any location ({listing})",
                list(tried),
            )
        if missing_only and tried:
            raise ContentMissingError(
                f"{package_id}: {job.spec.path} is missing on the server at every location ({listing})",
                list(tried),
            )
        raise ContentUnavailableError(
            f"{package_id}: {job.spec.path} could not be downloaded from any location ({listing})",
            list(tried),
        )

    # --- worker-thread parts -----------------------------------------------------------

    def _prepare(self, key: str, package: Package, abort: Abort) -> _Plan:
        """Create the folders, check what is there, plan the files still to fetch."""
        folder = self.cache_dir / key
        with abort.file_phase():
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                ensure_dir(folder)
                (self.cache_dir / RECORDS).mkdir(exist_ok=True)
            except OSError as exc:
                raise cache_error(exc, folder, "create") from exc
            names = {f.path.casefold() for f in package.files}
            for spec in package.files:
                if (spec.path + ".part").casefold() in names:
                    raise CacheError(
                        f"{key}: {spec.path + '.part'!r} is both a file of the package and the name "
                        f"{spec.path!r} is downloaded to; refusing the package"
                    )
            record = PackageRecord.load(self._record_path(key))
            pending: list[FileJob] = []
            cached = 0
            parts = 0
            for spec in package.files:
                abort.check()
                final = confined(folder, spec.path)
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
                    raise cache_error(exc, part, "read") from exc
                pending.append(FileJob(spec=spec, folder=folder, final=final, part=part))
            return _Plan(pending=pending, cached_bytes=cached, part_bytes=parts, record=record)

    def _verify_existing(self, final: Path, spec: PackageFile, record: PackageRecord, abort: Abort) -> bool:
        """A file at its final name that the record does not vouch for: re-hash or delete."""
        try:
            st = os.lstat(final)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise cache_error(exc, final, "read") from exc
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
                raise cache_error(exc, final, "read") from exc
            ok = hasher.hexdigest() == spec.sha256
        if ok:
            record.set_file(spec.path, st, spec.sha256)
            return True
        log.warning("%s in the cache does not match the catalog; fetching it again", spec.path)
        try:
            os.unlink(final)
        except OSError as exc:
            raise cache_error(exc, final, "remove") from exc
        record.drop_file(spec.path)
        return False

    def _make_room(self, needed: int, in_use: set[str]) -> None:
        if self.limit_bytes is not None:
            self._evict_to(max(self.limit_bytes - needed, 0), in_use)
        try:
            free = shutil.disk_usage(self.cache_dir).free
        except OSError as exc:
            raise cache_error(exc, self.cache_dir, "read") from exc
        if free < needed:
            raise CacheError(
                f"the data folder is full: {needed} more bytes are needed in {self.cache_dir}, "
                f"{free} are free"
            )



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
