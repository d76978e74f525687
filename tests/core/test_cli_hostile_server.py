"""The real `software-center` command against a loopback server that answers with
redirects httpx cannot build a request for: a failed download (exit 4) or a site error
(exit 2) in words, never "unexpected error", and never a saved run that only crashes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.helpers.content_server import ContentServer, Fault
from tests.core.sites import deployment, write_site
from tests.core.sites.harness import cli, start

PKG_FILE = "content/PKGA.1/a.bin"
BIG = bytes(range(256)) * 8192  # 2 MiB
BAD_TARGETS = ["javascript:alert(1)", "mailto:a@example.com", "http://[::1", "http://127.0.0.1:99999/a.bin"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ContentServer]:
    root = write_site(
        tmp_path / "site",
        packages={"PKGA": {"a.bin": b"a" * 5000}},
        task_sequences={"GET": [{"type": "download_package_content", "name": "Get A", "packages": ["PKGA"]}]},
        deployments=[deployment("DEPGET", "GET")],
    )
    with ContentServer(root) as srv:
        yield srv


def run_args(server: ContentServer, data: Path) -> list[str]:
    return ["run", "DEPGET", "--site", server.url, "--data-dir", str(data), "--connection", "internet",
            "--json", "--yes"]


@pytest.mark.asyncio
@pytest.mark.parametrize("target", BAD_TARGETS)
async def test_run_with_a_bad_redirect_for_content_fails_the_download(
    server: ContentServer, tmp_path: Path, target: str
) -> None:
    server.add_fault(PKG_FILE, Fault(status=302, location=target, times=None))
    data = tmp_path / "data"
    result = await cli(*run_args(server, data))
    assert result.rc == 4, (result.stdout, result.stderr)
    assert "unexpected" not in result.stderr
    failed = result.of("download_failed")
    assert len(failed) == 1 and "redirect" in failed[0]["error"]
    assert result.finished is not None and result.finished["status"] == "failed"
    # The run ended: no saved run is left behind for `resume` to trip over.
    resumed = await cli("resume", "--data-dir", str(data), "--json")
    assert resumed.rc == 2 and "no task sequence run to resume" in resumed.stderr


@pytest.mark.asyncio
async def test_resume_meeting_a_bad_redirect_fails_the_download(tmp_path: Path) -> None:
    root = write_site(
        tmp_path / "site",
        packages={"PKGA": {"a.bin": BIG}},
        task_sequences={"GET": [{"type": "download_package_content", "name": "Get A", "packages": ["PKGA"]}]},
        deployments=[deployment("DEPGET", "GET")],
    )
    data = tmp_path / "data"
    with ContentServer(root, rate_bps=1_000_000, chunk_size=16384) as server:
        running = await start(*run_args(server, data))
        progress = await running.until(lambda e: e["event"] == "download_progress" and e["bytes"] > 50_000)
        assert progress is not None
        running.kill(2)
        interrupted = await running.finish()
        assert interrupted.rc == 130, interrupted.stderr

        server.add_fault(PKG_FILE, Fault(status=307, location="javascript:alert(1)", times=None))
        resumed = await cli("resume", "--data-dir", str(data), "--json")
        assert resumed.rc == 4, (resumed.stdout, resumed.stderr)
        assert "unexpected" not in resumed.stderr
        failed = resumed.of("download_failed")
        assert len(failed) == 1 and "redirect" in failed[0]["error"]
        assert resumed.finished is not None and resumed.finished["status"] == "failed"


@pytest.mark.asyncio
@pytest.mark.parametrize("target", ["javascript:alert(1)", "http://[::1"])
async def test_list_with_a_bad_redirect_for_the_catalog_is_a_site_error(
    server: ContentServer, tmp_path: Path, target: str
) -> None:
    server.add_fault("catalog.json", Fault(status=302, location=target, times=None))
    result = await cli("list", "--site", server.url, "--data-dir", str(tmp_path / "data"))
    assert result.rc == 2, (result.stdout, result.stderr)
    assert "unexpected" not in result.stderr
    assert "redirect" in result.stderr and "127.0.0.1" in result.stderr
