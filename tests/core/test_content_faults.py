"""core.content under faults: cuts, stalls, bad statuses, wrong bytes, Range quirks,
redirects, cancellation, SIGKILL, hostile cache folders, read-only and full data folders.

Every test ends with either the verified file in place or an error in words with nothing
unverified at a final name.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from core.catalog import Location, Package, PackageFile
from core.content import ContentStore, RetryPolicy
from core.errors import CacheError, ContentUnavailableError, IntegrityError
from core.events import DownloadFailed, DownloadFinished, DownloadRetrying, DownloadStarted
from core.http import HttpSession
from tests.core.conftest import MakePackage, Recorder, pattern, sha256
from tests.core.helpers.content_server import ContentServer, Fault

pytestmark = pytest.mark.usefixtures("fail_on_loop_errors")

FAST = RetryPolicy(attempts=4, first_delay_s=0.01, max_delay_s=0.05)
REPO = Path(__file__).resolve().parents[2]
PATH = "content/PS100001.1/a.bin"


def _final_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _no_unverified(folder: Path) -> None:
    """Nothing but nothing at final names (a .part is allowed only for resume)."""
    assert [f for f in _final_files(folder) if not f.endswith(".part")] == []


# --- cuts and resume -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_cut_once_resumes_with_range_and_if_range(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    catalog_url: str,
    events: Recorder,
) -> None:
    data = pattern(1_000_000)
    pid, pkg = make_package({"a.bin": data})
    content_server.add_fault(PATH, Fault(cut_after=400_000))
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, catalog_url, "internet", on_event=events, retry=FAST)
    assert (folder / "a.bin").read_bytes() == data
    reqs = content_server.requests_for(PATH)
    assert [r.status for r in reqs] == [200, 206]
    assert reqs[1].range == "bytes=400000-"
    assert reqs[1].if_range is not None and reqs[1].if_range.startswith('"')  # the strong ETag
    assert content_server.bytes_sent(PATH) == len(data)
    retrying = events.of(DownloadRetrying)
    assert len(retrying) == 1 and retrying[0].attempt == 2 and "closed" in retrying[0].reason
    assert events.of(DownloadFinished)[0].bytes_transferred == len(data)


@pytest.mark.asyncio
async def test_cut_repeatedly_still_completes_while_progress_is_made(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path, catalog_url: str
) -> None:
    data = pattern(1_000_000)
    pid, pkg = make_package({"a.bin": data})
    for _ in range(8):  # more cuts than attempts: progress resets the count
        content_server.add_fault(PATH, Fault(cut_after=120_000))
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None, retry=FAST)
    assert (folder / "a.bin").read_bytes() == data
    assert len(content_server.requests_for(PATH)) == 9
    assert content_server.bytes_sent(PATH) == len(data)


@pytest.mark.asyncio
async def test_server_closing_before_headers_is_retried(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path, catalog_url: str
) -> None:
    pid, pkg = make_package({"a.bin": b"payload"})
    content_server.add_fault(PATH, Fault(close_before_headers=True, times=2))
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None, retry=FAST)
    assert (folder / "a.bin").read_bytes() == b"payload"
    assert len(content_server.requests_for(PATH)) == 3


@pytest.mark.asyncio
async def test_stall_past_read_timeout_is_retried_and_resumed(
    content_server: ContentServer, make_package: MakePackage, cache_dir: Path, catalog_url: str
) -> None:
    data = pattern(500_000)
    pid, pkg = make_package({"a.bin": data})
    content_server.add_fault(PATH, Fault(stall_after=200_000, stall_s=3.0))
    async with HttpSession(read_timeout=0.5) as session:
        store = ContentStore(cache_dir, session)
        began = time.monotonic()
        folder = await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None, retry=FAST)
        assert time.monotonic() - began < 2.5
    assert (folder / "a.bin").read_bytes() == data
    assert content_server.requests_for(PATH)[1].range == "bytes=200000-"


# --- statuses --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_503_with_retry_after_is_honoured(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    catalog_url: str,
    events: Recorder,
) -> None:
    pid, pkg = make_package({"a.bin": b"data"})
    content_server.add_fault(PATH, Fault(status=503, retry_after="1"))
    store = ContentStore(cache_dir, session)
    began = time.monotonic()
    await store.fetch(pid, pkg, catalog_url, "internet", on_event=events, retry=FAST)
    assert time.monotonic() - began >= 0.95  # not FAST's 10 ms
    (retrying,) = events.of(DownloadRetrying)
    assert retrying.delay_s == 1.0 and "503" in retrying.reason


@pytest.mark.asyncio
async def test_retry_after_is_capped(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path, catalog_url: str
) -> None:
    pid, pkg = make_package({"a.bin": b"data"})
    content_server.add_fault(PATH, Fault(status=429, retry_after="86400"))
    store = ContentStore(cache_dir, session)
    events = Recorder()
    policy = RetryPolicy(attempts=2, first_delay_s=0.01, retry_after_cap_s=0.2)
    await store.fetch(pid, pkg, catalog_url, "internet", on_event=events, retry=policy)
    assert events.of(DownloadRetrying)[0].delay_s == 0.2


@pytest.mark.asyncio
async def test_500_is_retried_with_backoff_then_given_up(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    catalog_url: str,
    events: Recorder,
) -> None:
    pid, pkg = make_package({"a.bin": b"data"})
    content_server.add_fault(PATH, Fault(status=500, times=2))
    store = ContentStore(cache_dir, session)
    await store.fetch(pid, pkg, catalog_url, "internet", on_event=events, retry=FAST)
    assert [e.delay_s for e in events.of(DownloadRetrying)] == [0.01, 0.02]

    store.clear()
    content_server.add_fault(PATH, Fault(status=500, times=None))
    failed = Recorder()
    with pytest.raises(ContentUnavailableError) as err:
        await store.fetch(pid, pkg, catalog_url, "internet", on_event=failed, retry=FAST)
    assert len(err.value.attempts) == FAST.attempts
    assert all("HTTP 500" in why for _, why in err.value.attempts)
    assert isinstance(failed.events[-1], DownloadFailed)


@pytest.mark.asyncio
async def test_404_on_first_location_then_good_second(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    events: Recorder,
) -> None:
    base = content_server.url
    locs = [Location(kind="cloud", url=base + "gone/"), Location(kind="cloud", url=base + "content/PS100001.1/")]
    pid, pkg = make_package({"a.bin": b"data", "b.bin": b"more"}, locations=locs)
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, base, "internet", on_event=events, retry=FAST)
    assert (folder / "a.bin").read_bytes() == b"data"
    # One 404, no retries at the bad location, and the second file goes straight to the good one.
    assert [r.path for r in content_server.requests] == ["gone/a.bin", PATH, "content/PS100001.1/b.bin"]
    (moved,) = events.of(DownloadRetrying)
    assert moved.location == base + "content/PS100001.1/" and moved.attempt == 1 and "404" in moved.reason


@pytest.mark.asyncio
async def test_403_everywhere_lists_every_attempt(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    events: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    base = content_server.url
    locs = [
        Location(kind="cloud", url=base + "one/"),
        Location(kind="cloud", url="https://user:pw@127.0.0.1:9/two/"),  # refused connections
        Location(kind="dp", url=base + "dp/"),
    ]
    pid, pkg = make_package({"a.bin": b"data"}, locations=locs)
    content_server.add_fault("one/a.bin", Fault(status=403, times=None))
    content_server.add_fault("dp/a.bin", Fault(status=403, times=None))
    store = ContentStore(cache_dir, session)
    with pytest.raises(ContentUnavailableError) as err:
        await store.fetch(pid, pkg, base, "intranet", on_event=events, retry=RetryPolicy(attempts=2, first_delay_s=0))
    attempts = err.value.attempts
    assert attempts[0] == (base + "dp/", "a.bin: HTTP 403 Forbidden")  # dp first on the intranet
    assert attempts[1] == (base + "one/", "a.bin: HTTP 403 Forbidden")
    assert [loc for loc, _ in attempts[2:]] == ["https://127.0.0.1:9/two/"] * 2
    assert "pw" not in str(err.value) and "pw" not in caplog.text
    assert isinstance(events.events[-1], DownloadFailed) and "403" in events.events[-1].error
    assert not (cache_dir / "PS100001.1" / "a.bin").exists()


# --- wrong bytes -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_corrupted_bytes_are_never_left_in_place(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path, catalog_url: str
) -> None:
    data = pattern(300_000)
    pid, pkg = make_package({"a.bin": data})
    content_server.add_fault(PATH, Fault(corrupt_at=123_456, times=None))
    store = ContentStore(cache_dir, session)
    events = Recorder()
    with pytest.raises(IntegrityError) as err:
        await store.fetch(pid, pkg, catalog_url, "internet", on_event=events, retry=FAST)
    assert "SHA-256 mismatch" in str(err.value)
    assert len(content_server.requests_for(PATH)) == 1  # a mismatch is not retried at the same place
    assert _final_files(cache_dir / "PS100001.1") == []  # no file, no .part
    assert not store.is_complete(pid, pkg)


@pytest.mark.asyncio
async def test_corrupted_first_location_good_second(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path
) -> None:
    data = pattern(300_000)
    base = content_server.url
    locs = [Location(kind="cloud", url=base + "bad/"), Location(kind="cloud", url=base + "content/PS100001.1/")]
    pid, pkg = make_package({"a.bin": data}, locations=locs)
    (content_server.root / "bad").mkdir()
    shutil.copy(content_server.root / PATH, content_server.root / "bad" / "a.bin")
    content_server.add_fault("bad/a.bin", Fault(corrupt_at=0, times=None))
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, base, "internet", on_event=lambda e: None, retry=FAST)
    assert (folder / "a.bin").read_bytes() == data


@pytest.mark.asyncio
@pytest.mark.parametrize("served", ["shorter", "longer", "longer-chunked", "shorter-chunked"])
async def test_body_shorter_or_longer_than_size_is_refused(
    served: str,
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    catalog_url: str,
) -> None:
    data = pattern(200_000)
    pid, pkg = make_package({"a.bin": data})
    body = data[:150_000] if served.startswith("shorter") else data + b"extra bytes"
    content_server.add_fault(PATH, Fault(body=body, chunked=served.endswith("chunked"), times=None))
    store = ContentStore(cache_dir, session)
    with pytest.raises(IntegrityError) as err:
        await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None, retry=FAST)
    assert "bytes" in str(err.value)
    assert _final_files(cache_dir / "PS100001.1") == []


@pytest.mark.asyncio
async def test_server_ignoring_range_restarts_from_zero(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path, catalog_url: str
) -> None:
    data = pattern(600_000)
    pid, pkg = make_package({"a.bin": data})
    content_server.add_fault(PATH, Fault(cut_after=250_000))
    content_server.add_fault(PATH, Fault(ignore_range=True))
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None, retry=FAST)
    assert (folder / "a.bin").read_bytes() == data
    reqs = content_server.requests_for(PATH)
    assert [(r.status, r.range) for r in reqs] == [(200, None), (200, "bytes=250000-")]


@pytest.mark.asyncio
async def test_file_changed_between_attempts_starts_over(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path, catalog_url: str
) -> None:
    old, new = pattern(400_000, seed=1), pattern(400_000, seed=2)
    pid, pkg = make_package({"a.bin": old}, catalog_files={"a.bin": (len(new), sha256(new))})
    content_server.add_fault(PATH, Fault(cut_after=150_000))
    served = content_server.root / PATH

    def republish(event: object) -> None:
        if isinstance(event, DownloadRetrying):
            served.write_bytes(new)  # the admin re-published: new ETag, new Last-Modified

    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, catalog_url, "internet", on_event=republish, retry=FAST)
    assert (folder / "a.bin").read_bytes() == new
    first, second = content_server.requests_for(PATH)
    assert second.if_range is not None and second.status == 200  # If-Range did not match
    assert content_server.bytes_sent(PATH) == 150_000 + len(new)


@pytest.mark.asyncio
async def test_changed_file_without_validators_is_caught_by_the_hash(
    content_root: Path, make_package: MakePackage, session: HttpSession, cache_dir: Path
) -> None:
    old, new = pattern(400_000, seed=1), pattern(400_000, seed=2)
    pid, pkg = make_package({"a.bin": old}, catalog_files={"a.bin": (len(new), sha256(new))})
    with ContentServer(content_root, validators=False) as server:
        server.add_fault(PATH, Fault(cut_after=150_000))

        def republish(event: object) -> None:
            if isinstance(event, DownloadRetrying) and "closed" in event.reason:
                (content_root / PATH).write_bytes(new)

        store = ContentStore(cache_dir, session)
        folder = await store.fetch(pid, pkg, server.url, "internet", on_event=republish, retry=FAST)
        # Resumed without If-Range (nothing to send), spliced, mismatched, fetched again whole.
        assert [(r.range, r.if_range) for r in server.requests_for(PATH)] == [
            (None, None),
            ("bytes=150000-", None),
            (None, None),
        ]
    assert (folder / "a.bin").read_bytes() == new


# --- redirects and secrets -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_redirect_loop_and_http_to_other_host_move_to_next_location(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    events: Recorder,
) -> None:
    base = content_server.url
    other_host = base.replace("127.0.0.1", "localhost")
    locs = [
        Location(kind="cloud", url=base + "loop/"),
        Location(kind="cloud", url=base + "away/"),
        Location(kind="cloud", url=base + "content/PS100001.1/"),
    ]
    pid, pkg = make_package({"a.bin": b"data"}, locations=locs)
    content_server.add_fault("loop/a.bin", Fault(status=302, location="/loop/b.bin", times=None))
    content_server.add_fault("loop/b.bin", Fault(status=302, location="/loop/a.bin", times=None))
    content_server.add_fault("away/a.bin", Fault(status=307, location=other_host + PATH, times=None))
    store = ContentStore(cache_dir, session)
    folder = await store.fetch(pid, pkg, base, "internet", on_event=events, retry=FAST)
    assert (folder / "a.bin").read_bytes() == b"data"
    reasons = [e.reason for e in events.of(DownloadRetrying)]
    assert "redirect loop" in reasons[0]
    assert "refused" in reasons[1] and "localhost" in reasons[1]
    assert not [r for r in content_server.requests if r.headers.get("Host", "").startswith("localhost")]


@pytest.mark.asyncio
async def test_tokens_in_redirects_never_reach_events_or_logs(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    catalog_url: str,
    events: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    pid, pkg = make_package({"a.bin": pattern(100_000)})
    content_server.add_fault(PATH, Fault(status=302, location=f"/{PATH}?sig=SECRET-TOKEN"))
    content_server.add_fault(PATH, Fault(cut_after=1000))
    store = ContentStore(cache_dir, session)
    await store.fetch(pid, pkg, catalog_url, "internet", on_event=events, retry=FAST)
    assert len(content_server.requests_for(PATH)) == 3  # redirect, cut at the token URL, resume
    assert "SECRET" not in caplog.text
    assert "SECRET" not in json.dumps([repr(e) for e in events.events])


# --- cancellation and process death --------------------------------------------------------------


@pytest.mark.asyncio
async def test_cancel_is_prompt_keeps_the_part_and_resume_works(
    content_root: Path, make_package: MakePackage, session: HttpSession, cache_dir: Path
) -> None:
    data = pattern(4 * 1024 * 1024)
    pid, pkg = make_package({"a.bin": data})
    part = cache_dir / "PS100001.1" / "a.bin.part"
    with ContentServer(content_root, rate_bps=2 * 1024 * 1024) as server:
        store = ContentStore(cache_dir, session)
        task = asyncio.create_task(store.fetch(pid, pkg, server.url, "internet", on_event=lambda e: None))
        while not (part.exists() and part.stat().st_size > 500_000):
            await asyncio.sleep(0.02)
        loop = asyncio.get_running_loop()
        began = loop.time()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert loop.time() - began < 0.5
        kept = part.stat().st_size
        await asyncio.sleep(0.2)
        assert part.stat().st_size == kept  # nothing writes after fetch returned
        assert not (cache_dir / "PS100001.1" / "a.bin").exists()

        server.rate_bps = None
        await store.fetch(pid, pkg, server.url, "internet", on_event=lambda e: None)
        assert (cache_dir / "PS100001.1" / "a.bin").read_bytes() == data
        assert server.requests_for(PATH)[-1].range == f"bytes={kept}-"
        assert server.bytes_sent(PATH) <= len(data) * 1.02 + 256 * 1024


@pytest.mark.asyncio
async def test_sigkill_mid_download_then_resume_transfers_little_more_than_the_file(
    content_root: Path, make_package: MakePackage, session: HttpSession, cache_dir: Path, tmp_path: Path
) -> None:
    size = 24 * 1024 * 1024
    data = pattern(size)
    pid, pkg = make_package({"a.bin": data})
    spec = tmp_path / "package.json"
    spec.write_bytes(msgspec.json.encode(pkg))
    part = cache_dir / "PS100001.1" / "a.bin.part"
    with ContentServer(content_root, rate_bps=12 * 1024 * 1024) as server:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.core.helpers.fetch_child", str(cache_dir), server.url, pid, str(spec)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 30
            while not (part.exists() and part.stat().st_size >= size // 2):
                assert child.poll() is None, child.communicate()
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait()
            assert child.stdout is not None and child.stderr is not None
            child.stdout.close()
            child.stderr.close()
        assert child.returncode == -signal.SIGKILL
        kept = part.stat().st_size
        assert size // 2 <= kept < size

        server.rate_bps = None
        store = ContentStore(cache_dir, session)
        events = Recorder()
        folder = await store.fetch(pid, pkg, server.url, "internet", on_event=events)
        assert (folder / "a.bin").read_bytes() == data
        reqs = server.requests_for(PATH)
        assert reqs[-1].range == f"bytes={kept}-" and reqs[-1].if_range is not None
        assert server.bytes_sent(PATH) <= 1.02 * size, server.bytes_sent(PATH) / size
        assert events.of(DownloadFinished)[0].bytes_transferred == size - kept


# --- hostile and broken cache folders ------------------------------------------------------------


@pytest.mark.asyncio
async def test_symlinks_planted_in_the_package_folder_are_not_followed(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    catalog_url: str,
    tmp_path: Path,
) -> None:
    pid, pkg = make_package({"sub/x.bin": b"xx", "a.bin": b"aa", "b.bin": b"bb"})
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    folder = cache_dir / "PS100001.1"
    folder.mkdir(parents=True)
    (folder / "sub").symlink_to(outside, target_is_directory=True)  # a folder that points out
    (folder / "a.bin.part").symlink_to(victim)  # a .part that points out
    (folder / "b.bin").symlink_to(victim)  # a final name that points out
    store = ContentStore(cache_dir, session)
    await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None)
    assert list(outside.iterdir()) == []
    assert victim.read_bytes() == b"precious"
    assert not (folder / "sub").is_symlink() and (folder / "sub" / "x.bin").read_bytes() == b"xx"
    assert not (folder / "b.bin").is_symlink() and (folder / "b.bin").read_bytes() == b"bb"
    assert (folder / "a.bin").read_bytes() == b"aa"


@pytest.mark.asyncio
async def test_paths_are_confined_whatever_the_catalog_says(
    content_server: ContentServer, session: HttpSession, cache_dir: Path, catalog_url: str, tmp_path: Path
) -> None:
    # Built directly, bypassing parse_catalog's checks.
    for bad in ("../evil.bin", "/abs.bin", "a/../../evil.bin", "a\\b.bin"):
        pkg = Package(
            name="p", version=1, files=[PackageFile(path=bad, size=1, sha256="0" * 64)],
            locations=[Location(kind="cloud", url="content/")],
        )
        store = ContentStore(cache_dir, session)
        with pytest.raises(CacheError, match="refusing to write"):
            await store.fetch("PS1", pkg, catalog_url, "internet", on_event=lambda e: None)
    assert not (tmp_path / "evil.bin").exists() and not (cache_dir / "evil.bin").exists()
    assert content_server.requests == []


@contextlib.contextmanager
def _small_mount(where: Path, size_kib: int, *, read_only: bool) -> Iterator[Path]:
    """A tmpfs mounted at `where` (root only), or skip."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs")
    opts = f"size={size_kib}k" + (",ro" if read_only else "")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.mark.asyncio
async def test_read_only_data_folder_is_a_cache_error_in_words(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    catalog_url: str,
    tmp_path: Path,
    events: Recorder,
) -> None:
    pid, pkg = make_package({"a.bin": b"data"})
    if os.geteuid() != 0:
        data_dir = tmp_path / "ro"
        data_dir.mkdir()
        data_dir.chmod(0o555)
        ctx: contextlib.AbstractContextManager[Path] = contextlib.nullcontext(data_dir)
    else:
        ctx = _small_mount(tmp_path / "ro", 1024, read_only=True)
    with ctx as data_dir:
        store = ContentStore(data_dir / "cache", session)
        with pytest.raises(CacheError) as err:
            await store.fetch(pid, pkg, catalog_url, "internet", on_event=events)
    assert "read-only" in str(err.value) or "permission" in str(err.value)
    assert "Traceback" not in str(err.value)
    assert isinstance(events.events[-1], DownloadFailed)


@pytest.mark.asyncio
async def test_full_data_folder_is_a_cache_error_in_words(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, catalog_url: str, tmp_path: Path
) -> None:
    pid, pkg = make_package({"a.bin": pattern(2 * 1024 * 1024)})
    with _small_mount(tmp_path / "full", 512, read_only=False) as data_dir:
        store = ContentStore(data_dir / "cache", session)
        with pytest.raises(CacheError, match="full"):
            await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None)


@pytest.mark.asyncio
async def test_disk_filling_up_mid_download_is_a_cache_error_and_keeps_the_part(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, catalog_url: str, tmp_path: Path
) -> None:
    data = pattern(2 * 1024 * 1024)
    pid, pkg = make_package({"a.bin": data})
    with _small_mount(tmp_path / "fill", 3 * 1024, read_only=False) as data_dir:
        store = ContentStore(data_dir / "cache", session)

        def hog(event: object) -> None:
            if isinstance(event, DownloadStarted):  # someone else fills the disk meanwhile
                with contextlib.suppress(OSError):
                    (data_dir / "hog").write_bytes(b"\0" * (2 * 1024 * 1024))

        with pytest.raises(CacheError, match="full"):
            await store.fetch(pid, pkg, catalog_url, "internet", on_event=hog)
        assert not (data_dir / "cache" / "PS100001.1" / "a.bin").exists()
        (data_dir / "hog").unlink()
        folder = await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None)
        assert (folder / "a.bin").read_bytes() == data


@pytest.mark.asyncio
async def test_a_file_named_like_another_files_part_is_refused(
    content_server: ContentServer, make_package: MakePackage, session: HttpSession, cache_dir: Path, catalog_url: str
) -> None:
    pid, pkg = make_package({"a.bin.part": b"one", "a.bin": b"two"})
    store = ContentStore(cache_dir, session)
    with pytest.raises(CacheError, match="is both a file of the package"):
        await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None)


@pytest.mark.asyncio
async def test_404_or_410_at_every_location_is_content_missing_not_a_network_failure(
    content_server: ContentServer,
    make_package: MakePackage,
    session: HttpSession,
    cache_dir: Path,
    events: Recorder,
) -> None:
    from core.errors import ContentMissingError, ErrorCode

    base = content_server.url
    locs = [Location(kind="cloud", url=base + "gone/"), Location(kind="cloud", url=base + "left/")]
    pid, pkg = make_package({"a.bin": b"data"}, locations=locs)
    content_server.add_fault("left/a.bin", Fault(status=410, times=None))
    store = ContentStore(cache_dir, session)
    with pytest.raises(ContentMissingError) as err:
        await store.fetch(pid, pkg, base, "internet", on_event=events, retry=FAST)
    assert err.value.code is ErrorCode.CONTENT_MISSING
    assert "is missing on the server at every location" in str(err.value)
    assert [why for _, why in err.value.attempts] == ["a.bin: HTTP 404 Not Found", "a.bin: HTTP 410 Gone"]
    # One location that does not answer at all: not "missing" (the network may be at fault).
    locs = [Location(kind="cloud", url=base + "gone/"), Location(kind="cloud", url="http://127.0.0.1:9/x/")]
    pid, pkg = make_package({"a.bin": b"data"}, locations=locs)
    with pytest.raises(ContentUnavailableError) as other:
        await store.fetch(pid, pkg, base, "internet", on_event=events, retry=FAST)
    assert not isinstance(other.value, ContentMissingError)
