"""core.content: locations, retry policy, verified download, resume, cache, events.

Fault tests (cuts, stalls, wrong bytes, redirects, kill, read-only folders) are in
test_content_faults.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from core.catalog import Location, Package, PackageFile
from core.content import ContentStore, RetryPolicy, cache_key, ordered_locations, parse_retry_after
from core.errors import ContentUnavailableError
from core.events import (
    DownloadFailed,
    DownloadFinished,
    DownloadProgressed,
    DownloadStarted,
)
from core.http import HttpSession
from tests.core.conftest import MakePackage, Recorder, pattern
from tests.core.helpers.content_server import ContentServer

pytestmark = pytest.mark.usefixtures("fail_on_loop_errors")

FAST = RetryPolicy(attempts=3, first_delay_s=0.01, max_delay_s=0.05)


def _pkg(*locs: tuple[str, str]) -> Package:
    return Package(
        name="p",
        version=1,
        files=[PackageFile(path="a", size=0, sha256="0" * 64)],
        locations=[Location(kind=k, url=u) for k, u in locs],  # type: ignore[arg-type]
    )


# --- locations and policy --------------------------------------------------------------


@pytest.mark.asyncio
async def test_ordered_locations() -> None:
    pkg = _pkg(("cloud", "c1/"), ("dp", "d1/"), ("cloud", "c2/"), ("dp", "d2/"))
    urls = lambda locs: [loc.url for loc in locs]  # noqa: E731
    assert urls(ordered_locations(pkg, "internet")) == ["c1/", "c2/"]
    assert urls(ordered_locations(pkg, "internet", allow_cloud=False)) == ["c1/", "c2/"]
    assert urls(ordered_locations(pkg, "intranet")) == ["d1/", "d2/", "c1/", "c2/"]
    assert urls(ordered_locations(pkg, "intranet", allow_cloud=False)) == ["d1/", "d2/"]
    assert ordered_locations(_pkg(("dp", "d/")), "internet") == []


@pytest.mark.asyncio
async def test_retry_policy_backoff_and_variables() -> None:
    p = RetryPolicy()
    assert (p.attempts, p.first_delay_s, p.max_delay_s) == (5, 1.0, 30.0)
    assert [p.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    v = RetryPolicy.from_variables({"SMSTSDownloadRetryCount": "2", "SMSTSDownloadRetryDelay": "15"})
    assert (v.attempts, v.first_delay_s) == (3, 15.0)
    big = RetryPolicy.from_variables({"SMSTSDownloadRetryDelay": "45"})
    assert big.delay(1) == 45 and big.delay(3) == 45  # never below the configured delay
    for bad in ("-1", "abc", "1.5", "", "99999"):
        assert RetryPolicy.from_variables({"SMSTSDownloadRetryCount": bad, "SMSTSDownloadRetryDelay": bad}) == p
    assert RetryPolicy.from_variables({}) == p
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


@pytest.mark.asyncio
async def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0
    now = 1_700_000_000.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:40 GMT", now=now) == pytest.approx(20.0)
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now=now) == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.asyncio
async def test_cache_key_refuses_odd_ids() -> None:
    assert cache_key("PS100012", _pkg(("cloud", "c/"))) == "PS100012.1"
    with pytest.raises(ValueError):
        cache_key("../x", _pkg(("cloud", "c/")))


# --- a plain download ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_fetch_downloads_verifies_and_reports_in_order(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    catalog_url: str,
    events: Recorder,
) -> None:
    files = {
        "setup.py": b"print('hi')\n",
        "sources/install.wim": pattern(1_500_000),
        "sources/drivers/empty.txt": b"",
        "my file ñ%.bin": pattern(1000, seed=3),
    }
    pid, pkg = make_package(files)
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, catalog_url, "internet", on_event=events, retry=FAST)

    assert folder == cache_dir / "PS100001.1" == store.package_dir(pid, pkg)
    for path, data in files.items():
        assert (folder / path).read_bytes() == data
    assert not list(folder.rglob("*.part"))
    names = events.names()
    assert names[0] == "download_started" and names[-1] == "download_finished"
    assert set(names[1:-1]) <= {"download_progress"}
    started = events.of(DownloadStarted)[0]
    assert started == DownloadStarted(
        package=pid,
        total_bytes=pkg.total_bytes,
        cached_bytes=0,
        location=content_server.url + "content/PS100001.1/",
    )
    assert events.of(DownloadFinished) == [
        DownloadFinished(package=pid, bytes_transferred=pkg.total_bytes, verified=True)
    ]
    # Path segments were percent-encoded and decoded back by the server.
    paths = {r.path for r in content_server.requests}
    assert "content/PS100001.1/my file ñ%.bin" in paths
    # No request for the empty file is needed.
    assert "content/PS100001.1/sources/drivers/empty.txt" not in paths
    # The record is outside the package folder and describes every file.
    record = json.loads((cache_dir / ".records" / "PS100001.1.json").read_text())
    assert set(record["files"]) == set(files)
    assert store.is_complete(pid, pkg)
    assert store.cached_bytes(pid, pkg) == pkg.total_bytes


@pytest.mark.asyncio
async def test_locations_relative_and_absolute_resolve_against_catalog(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path, events: Recorder
) -> None:
    pid, pkg = make_package(
        {"a.bin": b"abc"},
        locations=[Location(kind="cloud", url=content_server.url + "content/PS100001.1")],  # no slash
    )
    store = ContentStore(cache_dir, session)
    await store.fetch(pid, pkg, "file:///nowhere/catalog.json", "internet", on_event=events)
    assert [r.path for r in content_server.requests] == ["content/PS100001.1/a.bin"]

    pid2, pkg2 = make_package({"b.bin": b"xyz"}, package_id="PS100002")
    await store.fetch(pid2, pkg2, content_server.url + "sub/../catalog.json?sig=1", "internet", on_event=events)
    assert content_server.requests[-1].path == "content/PS100002.1/b.bin"


@pytest.mark.asyncio
async def test_intranet_uses_dp_first_and_internet_only_cloud(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path, events: Recorder
) -> None:
    base = content_server.url
    locs = [
        Location(kind="cloud", url=base + "content/PS100001.1/"),
        Location(kind="dp", url=base + "dp/PS100001.1/"),
    ]
    pid, pkg = make_package({"a.bin": b"1234"}, locations=locs)
    dp = content_server.root / "dp" / "PS100001.1"
    dp.mkdir(parents=True)
    (dp / "a.bin").write_bytes(b"1234")
    store = ContentStore(cache_dir, session)
    await store.fetch(pid, pkg, base, "intranet", on_event=events)
    assert [r.path for r in content_server.requests] == ["dp/PS100001.1/a.bin"]
    store.clear()
    await store.fetch(pid, pkg, base, "internet", on_event=events)
    assert content_server.requests[-1].path == "content/PS100001.1/a.bin"


@pytest.mark.asyncio
async def test_no_usable_location_fails_with_words(
    make_package: MakePackage, session: HttpSession, cache_dir: Path, catalog_url: str, events: Recorder
) -> None:
    pid, pkg = make_package({"a.bin": b"1"}, locations=[Location(kind="dp", url="http://dp.invalid/x/")])
    store = ContentStore(cache_dir, session)
    with pytest.raises(ContentUnavailableError, match="no content location is usable on the internet"):
        await store.fetch(pid, pkg, catalog_url, "internet", on_event=events)
    assert isinstance(events.events[-1], DownloadFailed)


# --- cache ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_cache_hit_transfers_nothing(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    catalog_url: str,
    events: Recorder,
) -> None:
    pid, pkg = make_package({"a.bin": pattern(300_000), "b/c.bin": b"c"})
    store = ContentStore(cache_dir, session)
    await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None)
    sent = content_server.bytes_sent()
    requests = len(content_server.requests)

    # A new store (as after a restart) trusts the record: nothing is sent, nothing re-hashed.
    store2 = ContentStore(cache_dir, session)
    await store2.fetch(pid, pkg, catalog_url, "internet", on_event=events)
    assert len(content_server.requests) == requests and content_server.bytes_sent() == sent
    assert events.names() == ["download_started", "download_finished"]
    assert events.of(DownloadStarted)[0].cached_bytes == pkg.total_bytes
    assert events.of(DownloadFinished)[0].bytes_transferred == 0


@pytest.mark.asyncio
async def test_changed_file_in_cache_is_noticed_and_refetched(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    catalog_url: str,
    events: Recorder,
) -> None:
    data = pattern(200_000)
    pid, pkg = make_package({"a.bin": data, "b.bin": b"bbbb"})
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None)

    # Same size, one byte changed (mtime changes with it).
    target = folder / "a.bin"
    raw = bytearray(target.read_bytes())
    raw[1000] ^= 1
    time.sleep(0.01)
    target.write_bytes(bytes(raw))
    assert not store.is_complete(pid, pkg)
    assert store.cached_bytes(pid, pkg) == 4
    before = content_server.bytes_sent()
    await store.fetch(pid, pkg, catalog_url, "internet", on_event=events)
    assert target.read_bytes() == data
    assert content_server.bytes_sent() - before == len(data)
    assert events.of(DownloadStarted)[0].cached_bytes == 4

    # Only the mtime changed: re-hashed, found good, nothing transferred.
    os.utime(target, ns=(time.time_ns(), time.time_ns() - 10**9))
    assert not store.is_complete(pid, pkg)
    before = content_server.bytes_sent()
    await store.fetch(pid, pkg, catalog_url, "internet", on_event=events)
    assert content_server.bytes_sent() == before
    assert store.is_complete(pid, pkg)

    # Truncated file: re-fetched.
    target.write_bytes(data[:100])
    await store.fetch(pid, pkg, catalog_url, "internet", on_event=events)
    assert target.read_bytes() == data

    # Deleted file: re-fetched.
    target.unlink()
    assert store.cached_bytes(pid, pkg) == 4
    await store.fetch(pid, pkg, catalog_url, "internet", on_event=events)
    assert target.read_bytes() == data


@pytest.mark.asyncio
async def test_lru_eviction_keeps_recent_and_in_use_packages(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    catalog_url: str,
) -> None:
    size = 100_000
    a = make_package({"f": pattern(size, 1)}, package_id="PKGA")
    b = make_package({"f": pattern(size, 2)}, package_id="PKGB")
    c = make_package({"f": pattern(size, 3)}, package_id="PKGC")
    store = ContentStore(cache_dir, session, limit_bytes=int(size * 2.5))
    quiet = lambda e: None  # noqa: E731
    await store.fetch(*a, catalog_url, "internet", on_event=quiet)
    await store.fetch(*b, catalog_url, "internet", on_event=quiet)
    await asyncio.sleep(0.01)
    await store.fetch(*a, catalog_url, "internet", on_event=quiet)  # a is now more recent than b
    await store.fetch(*c, catalog_url, "internet", on_event=quiet)  # needs room: b goes
    assert store.is_complete(*a) and store.is_complete(*c)
    assert not store.package_dir(*b).exists()
    assert not (cache_dir / ".records" / "PKGB.1.json").exists()
    assert store.usage_bytes() <= int(size * 2.5)

    # evict() with `keep`: under a lower limit, only kept packages survive.
    store.limit_bytes = size + 10_000
    freed = store.evict(keep={cache_key(*c)})
    assert freed >= size
    assert store.is_complete(*c) and not store.package_dir(*a).exists()

    # clear() removes everything not kept.
    assert store.clear() > 0
    assert not store.package_dir(*c).exists()
    assert store.usage_bytes() == 0


@pytest.mark.asyncio
async def test_old_versions_are_eviction_candidates(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    catalog_url: str,
) -> None:
    size = 100_000
    v1 = make_package({"f": pattern(size, 1)}, package_id="PKGA", version=1)
    v2 = make_package({"f": pattern(size, 2)}, package_id="PKGA", version=2)
    store = ContentStore(cache_dir, session, limit_bytes=int(size * 1.5))
    await store.fetch(*v1, catalog_url, "internet", on_event=lambda e: None)
    await store.fetch(*v2, catalog_url, "internet", on_event=lambda e: None)
    assert store.is_complete(*v2)
    assert not (cache_dir / "PKGA.1").exists()


@pytest.mark.asyncio
async def test_progress_is_throttled_monotonic_and_complete(
    content_root: Path, make_package: MakePackage, session: HttpSession, cache_dir: Path, events: Recorder
) -> None:
    size = 3 * 1024 * 1024
    pid, pkg = make_package({"a.bin": pattern(size // 2), "b.bin": pattern(size // 2, 1)})
    with ContentServer(content_root, rate_bps=2 * 1024 * 1024) as server:
        store = ContentStore(cache_dir, session)
        await store.fetch(pid, pkg, server.url, "internet", on_event=events)
    progress = [(t, e) for t, e in zip(events.times, events.events, strict=True) if isinstance(e, DownloadProgressed)]
    assert len(progress) >= 8
    gaps = [b[0] - a[0] for a, b in zip(progress, progress[1:], strict=False)]
    assert min(gaps) >= 0.099, gaps
    duration = events.times[-1] - events.times[0]
    assert len(progress) <= duration * 10 + 1
    sizes = [e.bytes for _, e in progress]
    assert sizes == sorted(sizes) and sizes[-1] <= size
    assert all(e.total_bytes == size for _, e in progress)
    rated = [e for _, e in progress if e.rate_bps]
    assert rated and all(0 < e.rate_bps < 20 * 1024 * 1024 for e in rated)  # type: ignore[operator]
    assert all(e.eta_s is not None and e.eta_s >= 0 for e in rated)
    assert events.names()[-1] == "download_finished"


@pytest.mark.asyncio
async def test_files_verified_before_a_restart_of_the_machine_are_hashed_again(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    catalog_url: str,
    events: Recorder,
) -> None:
    """Data is not fsynced before its rename: after a power loss it could be garbage with the
    same size and mtime, so a record from another boot never vouches for a file by itself."""
    data = pattern(150_000)
    pid, pkg = make_package({"a.bin": data})
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None)
    assert store.is_complete(pid, pkg)

    # Make the record look written in an earlier boot, and the file damaged by a power
    # loss: same size, same mtime, different bytes.
    record_path = next((cache_dir / ".records").glob("*.json"))
    record = json.loads(record_path.read_text())
    for entry in record["files"].values():
        entry["boot"] = "an-earlier-boot"
    record_path.write_text(json.dumps(record))
    target = folder / "a.bin"
    st = target.stat()
    raw = bytearray(target.read_bytes())
    raw[5] ^= 0xFF
    target.write_bytes(bytes(raw))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))

    store2 = ContentStore(cache_dir, session)
    assert not store2.is_complete(pid, pkg)
    before = content_server.bytes_sent()
    await store2.fetch(pid, pkg, catalog_url, "internet", on_event=events)
    assert target.read_bytes() == data  # the damaged file was noticed and fetched again
    assert content_server.bytes_sent() - before == len(data)
    assert store2.is_complete(pid, pkg)

    # An intact file from an earlier boot is re-hashed and kept: nothing is transferred.
    record = json.loads(record_path.read_text())
    for entry in record["files"].values():
        entry["boot"] = "an-earlier-boot"
    record_path.write_text(json.dumps(record))
    store3 = ContentStore(cache_dir, session)
    assert not store3.is_complete(pid, pkg)
    before = content_server.bytes_sent()
    await store3.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None)
    assert content_server.bytes_sent() == before
    assert store3.is_complete(pid, pkg)
