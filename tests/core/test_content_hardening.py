"""core.content against servers that send what httpx cannot turn into a request, servers
that never let a download finish, caches changed behind the store's back and cache
folders deleted mid-download. Real loopback server, real files.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core.catalog import Location
from core.content import ContentStore, RetryPolicy, parse_retry_after
from core.errors import ContentUnavailableError
from core.events import DownloadFailed, DownloadRetrying
from core.http import HttpSession
from tests.core.conftest import MakePackage, Recorder, pattern
from tests.core.helpers.content_server import ContentServer, Fault

pytestmark = pytest.mark.usefixtures("fail_on_loop_errors")

FAST = RetryPolicy(attempts=4, first_delay_s=0.01, max_delay_s=0.05)
PATH = "content/PS100001.1/a.bin"

# Redirect targets httpx cannot build a request for, or that no server can be at.
BAD_TARGETS = [
    "javascript:alert(1)",
    "mailto:someone@example.com",
    "http://[::1",
    "https://[zz]/a.bin",
    "http://xn--a.com/a.bin",
    "http://127.0.0.1:99999/a.bin",
    "https://example.com:4294967296/a.bin",
]


# --- server-controlled headers httpx cannot take -----------------------------------------------


@pytest.mark.asyncio
async def test_a_redirect_to_an_unusable_target_is_a_failed_location(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path,
    events: Recorder,
) -> None:
    base = content_server.url
    locs = [Location(kind="cloud", url=f"{base}bad{i}/") for i in range(len(BAD_TARGETS))]
    locs.append(Location(kind="cloud", url=base + "content/PS100001.1/"))
    pid, pkg = make_package({"a.bin": b"data"}, locations=locs)
    for i, target in enumerate(BAD_TARGETS):
        content_server.add_fault(f"bad{i}/a.bin", Fault(status=302, location=target, times=None))
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, base, "internet", on_event=events, retry=FAST)
    assert (folder / "a.bin").read_bytes() == b"data"
    # One request per bad location: a bad target is not retried, it moves on.
    for i in range(len(BAD_TARGETS)):
        assert len(content_server.requests_for(f"bad{i}/a.bin")) == 1, BAD_TARGETS[i]
    reasons = [e.reason for e in events.of(DownloadRetrying)]
    assert len(reasons) == len(BAD_TARGETS)
    assert all("redirect" in r for r in reasons), reasons


@pytest.mark.asyncio
async def test_every_location_redirecting_badly_is_a_download_failure(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path,
    catalog_url: str, events: Recorder,
) -> None:
    pid, pkg = make_package({"a.bin": b"data"})
    content_server.add_fault(PATH, Fault(status=301, location="javascript:alert(1)", times=None))
    store = ContentStore(cache_dir, session)
    with pytest.raises(ContentUnavailableError, match="redirect"):
        await store.fetch(pid, pkg, catalog_url, "internet", on_event=events, retry=FAST)
    assert len(events.of(DownloadFailed)) == 1


@pytest.mark.asyncio
async def test_validators_a_request_cannot_carry_are_not_sent_back(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path,
    catalog_url: str,
) -> None:
    data = pattern(300_000)
    pid, pkg = make_package({"a.bin": data})
    # An ETag with a non-ASCII character and no Last-Modified: If-Range cannot carry it.
    odd = {"ETag": '"caf\u00e9"', "Last-Modified": "sp\u00e4t"}
    content_server.add_fault(PATH, Fault(cut_after=100_000, headers=odd))
    content_server.add_fault(PATH, Fault(headers=odd))
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None, retry=FAST)
    assert (folder / "a.bin").read_bytes() == data
    second = content_server.requests_for(PATH)[1]
    assert second.range == "bytes=100000-" and second.if_range is None


@pytest.mark.asyncio
async def test_retry_after_and_content_length_in_other_digits_are_ignored(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path,
    catalog_url: str, events: Recorder,
) -> None:
    assert parse_retry_after("\u00b2") is None  # '²'.isdigit() is True, float('²') fails
    assert parse_retry_after("\uff11\uff12") is None  # fullwidth digits are not delta-seconds
    pid, pkg = make_package({"a.bin": b"data"})
    content_server.add_fault(PATH, Fault(status=503, retry_after="\u00b2"))
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, catalog_url, "internet", on_event=events, retry=FAST)
    assert (folder / "a.bin").read_bytes() == b"data"
    assert events.of(DownloadRetrying)[0].delay_s == pytest.approx(FAST.delay(1))


# --- retries that make no progress ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_half_bodies_and_range_answered_with_200_end_after_the_retry_budget(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path,
    catalog_url: str, events: Recorder,
) -> None:
    data = pattern(400_000)
    pid, pkg = make_package({"a.bin": data})
    # Every answer starts from byte 0 and is cut at half: bytes arrive, but the file never
    # gets further than it already was.
    content_server.add_fault(PATH, Fault(cut_after=200_000, ignore_range=True, times=None))
    store = ContentStore(cache_dir, session)
    with pytest.raises(ContentUnavailableError):
        await asyncio.wait_for(
            store.fetch(pid, pkg, catalog_url, "internet", on_event=events, retry=FAST), 30
        )
    requests = content_server.requests_for(PATH)
    assert len(requests) == FAST.attempts, [r.range for r in requests]
    assert len(events.of(DownloadFailed)) == 1


@pytest.mark.asyncio
async def test_cuts_that_get_further_each_time_still_complete(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path,
    catalog_url: str,
) -> None:
    data = pattern(400_000)
    pid, pkg = make_package({"a.bin": data})
    # Range ignored, but each answer gets further than the one before: that is progress.
    for cut in (100_000, 150_000, 200_000, 250_000, 300_000, 350_000):
        content_server.add_fault(PATH, Fault(cut_after=cut, ignore_range=True))
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None, retry=FAST)
    assert (folder / "a.bin").read_bytes() == data
    assert len(content_server.requests_for(PATH)) == 7


# --- the cache changed behind the store's back ---------------------------------------------------


def rewrite_in_place(target: Path, data: bytes) -> None:
    """Same size, same inode, mtime set back: only the change time tells."""
    st = os.stat(target)
    time.sleep(0.01)
    with open(target, "r+b") as f:
        f.seek(1000)
        f.write(b"EVIL")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = os.stat(target)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)


def replace_with_another(target: Path, data: bytes) -> None:
    """Another file of the same size and mtime renamed over it: the inode tells."""
    st = os.stat(target)
    other = target.with_name("other")
    other.write_bytes(b"E" + data[1:])
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, target)


@pytest.mark.asyncio
@pytest.mark.parametrize("tamper", [rewrite_in_place, replace_with_another])
async def test_a_cached_file_changed_with_its_size_and_mtime_restored_is_not_trusted(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path,
    catalog_url: str, tamper: Callable[[Path, bytes], None],
) -> None:
    data = pattern(200_000)
    pid, pkg = make_package({"a.bin": data})
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None)
    target = folder / "a.bin"
    assert store.is_complete(pid, pkg)

    tamper(target, data)

    assert not store.is_complete(pid, pkg)
    before = content_server.bytes_sent()
    await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None)
    assert target.read_bytes() == data
    assert content_server.bytes_sent() - before == len(data)
    assert store.is_complete(pid, pkg)


# --- the cache folder deleted mid-download -------------------------------------------------------


@pytest.mark.asyncio
async def test_the_cache_folder_deleted_mid_download_is_made_again(
    content_root: Path, make_package: MakePackage, session: HttpSession, cache_dir: Path
) -> None:
    first = pattern(300_000, seed=1)
    second = pattern(3 * 1024 * 1024, seed=2)
    pid, pkg = make_package({"a.bin": first, "sub/b.bin": second})
    part = cache_dir / "PS100001.1" / "sub" / "b.bin.part"
    with ContentServer(content_root, rate_bps=3 * 1024 * 1024) as server:
        store = ContentStore(cache_dir, session)
        task = asyncio.create_task(
            store.fetch(pid, pkg, server.url, "internet", on_event=lambda e: None, retry=FAST)
        )
        while not (part.exists() and part.stat().st_size > 300_000):
            assert not task.done()
            await asyncio.sleep(0.01)
        shutil.rmtree(cache_dir)
        folder = await asyncio.wait_for(task, 60)
    assert (folder / "a.bin").read_bytes() == first
    assert (folder / "sub" / "b.bin").read_bytes() == second
    assert store.is_complete(pid, pkg)
