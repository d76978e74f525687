"""The background pre-cache, through a real agent and a real loopback server: the content
of required deployments (and of those marked `precache`) is downloaded before anyone
installs them, throttled, verified, paused for a run and resumed after it, and not on a
metered link (NetworkManager's `Metered`, served on a private D-Bus) unless allowed."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import AgentClient, read_link_cost
from tests.core.helpers.content_server import ContentServer
from tests.core.helpers.fake_nm import FakeNetworkManager
from tests.core.sites import deployment, run_tool, tool_files, write_site
from tests.core.sites.harness import cli
from tests.core.test_agent import agent_args, agent_process, short_dir, wait_until

short_dir = short_dir  # a fixture shared with the agent's tests

MIB = 1 << 20


def blob(name: str, size: int) -> bytes:
    block = hashlib.sha256(name.encode()).digest() * 2048
    return (block * (size // len(block) + 1))[:size]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


@pytest.fixture
def server(tmp_path: Path, work: Path) -> Iterator[ContentServer]:
    root = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files(), "UPGRADE": {"image.bin": blob("upgrade", 3 * MIB)},
                  "EXTRA": {"extra.bin": blob("extra", 256 * 1024)}, "LANONLY": {"lan.bin": blob("lan", 4096)},
                  "OPTIONAL": {"opt.bin": blob("optional", 4096)}},
        task_sequences={
            "UPG": [{"type": "download_package_content", "name": "Get the image", "packages": ["UPGRADE"]},
                    run_tool("Install", "--print", "installed")],
            "XTRA": [{"type": "download_package_content", "name": "Get extra", "packages": ["EXTRA"]}],
            "LAN": [{"type": "download_package_content", "name": "Get lan", "packages": ["LANONLY"]}],
            "OPT": [{"type": "download_package_content", "name": "Get opt", "packages": ["OPTIONAL"]}],
            "WAIT": [run_tool("Wait", "--wait-for", str(work / "go"))],
        },
        deployments=[
            deployment("REQUPG", "UPG", purpose="required", deadline="2099-01-01T00:00:00Z"),
            deployment("REQXTRA", "XTRA", purpose="required", deadline="2098-01-01T00:00:00Z"),
            deployment("REQLAN", "LAN", purpose="required", allow_internet=False),
            deployment("AVLOPT", "OPT"),  # available: not pre-cached by default
            deployment("AVLWANT", "XTRA", precache=True),
            deployment("NOTYET", "OPT", purpose="required", precache=True, available_from="2099-01-01T00:00:00Z"),
            deployment("DEPWAIT", "WAIT"),
        ],
    )
    with ContentServer(root) as srv:
        yield srv


def fetched(server: ContentServer, package: str) -> list[Any]:
    return [r for r in server.requests if r.path.startswith(f"content/{package}.1/")]


async def rows(client: AgentClient) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in await client.deployments()}


def test_the_link_cost_comes_from_networkmanager_over_d_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for value, metered in ((1, True), (2, False), (3, True), (4, False), (0, None)):
        with FakeNetworkManager(tmp_path / str(value), metered=value) as nm:
            monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", nm.address)
            cost = read_link_cost()
            assert cost.metered is metered and nm.asked == 1, cost
    with FakeNetworkManager(tmp_path / "none", metered=None) as nm:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", nm.address)
        cost = read_link_cost()
        assert cost.metered is None and "NetworkManager is not available" in cost.why
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    cost = read_link_cost()
    assert cost.metered is None and "no system D-Bus" in cost.why


@pytest.mark.asyncio
async def test_required_content_is_downloaded_in_advance_throttled_and_a_run_then_downloads_nothing(
        server: ContentServer, tmp_path: Path, short_dir: Path) -> None:
    data, sock = tmp_path / "data", short_dir / "a.sock"
    # No NetworkManager on this bus: the link counts as unmetered, and the log says why.
    with FakeNetworkManager(tmp_path / "bus", metered=None) as nm:
        async with agent_process(*agent_args(server, data, sock, "--precache-delay", "0"),
                                 extra_env={"DBUS_SYSTEM_BUS_ADDRESS": nm.address}) as agent:
            async with AgentClient(agent.socket) as client:
                await client.change_settings({"precache_rate_mbps": "8"})  # 1 MB/s
                seen: list[tuple[float, int]] = []
                loop = asyncio.get_running_loop()

                async def upgrade_cached() -> bool:
                    row = (await rows(client))["REQUPG"]
                    seen.append((loop.time(), row["present_bytes"]))
                    return bool(row["download_bytes"] == 0)

                await wait_until(upgrade_cached, timeout=60)
                listed = await rows(client)
                # Soonest deadline first: the 2098 one was done before the 2099 one.
                assert listed["REQXTRA"]["download_bytes"] == 0
                assert listed["AVLWANT"]["download_bytes"] == 0  # available, but marked precache
                assert listed["AVLOPT"]["download_bytes"] == 4096  # available: only when installed
                assert listed["REQLAN"]["download_bytes"] == 4096  # may not run on the internet
                assert listed["NOTYET"]["download_bytes"] == 4096  # not available yet
                assert not fetched(server, "OPTIONAL") and not fetched(server, "LANONLY")
                # present_bytes grew as it went, at no more than the limit (plus the burst).
                moving = [(t, b) for t, b in seen if 0 < b < 3 * MIB]
                assert moving, seen
                (t0, b0), (t1, b1) = moving[0], seen[-1]
                rate = (b1 - b0) / (t1 - t0)
                assert rate <= 1.3 * 1_000_000, f"{rate / 1e6:.2f} MB/s over a 1 MB/s limit"

                async def idle() -> bool:
                    return bool((await client.status())["precache"]["state"] == "idle")

                await wait_until(idle, timeout=10)  # nothing left to do

            result = await cli("run", "REQUPG", "--json", "--yes", "--agent", str(sock))
            assert result.rc == 0, result.stderr
            started = next(e for e in result.events if e["event"] == "download_started")
            finished = next(e for e in result.events if e["event"] == "download_finished")
            assert started["cached_bytes"] == started["total_bytes"] == 3 * MIB
            assert finished["bytes_transferred"] == 0
    log = (data / "logs" / "smsts.log").read_text(encoding="utf-8-sig")
    assert "NetworkManager is not available" in log and "treated as unmetered" in log


@pytest.mark.asyncio
async def test_a_run_pauses_the_pre_cache_which_resumes_its_partial_file_afterwards(
        server: ContentServer, tmp_path: Path, short_dir: Path, work: Path) -> None:
    data, sock = tmp_path / "data", short_dir / "a.sock"
    with FakeNetworkManager(tmp_path / "bus", metered=2) as nm:
        async with agent_process(*agent_args(server, data, sock, "--precache-delay", "0"),
                                 extra_env={"DBUS_SYSTEM_BUS_ADDRESS": nm.address}) as agent:
            async with AgentClient(agent.socket) as client:
                await client.change_settings({"precache_rate_mbps": "4"})  # 0.5 MB/s: 6 s for the image

                async def image_started() -> bool:
                    pre = (await client.status())["precache"]
                    return bool(pre["package"] == "UPGRADE" and pre["bytes"] > 256 * 1024)

                await wait_until(image_started, timeout=30)
                run_id = await client.start_run("DEPWAIT")
                status = await client.status()
                assert status["precache"]["state"] == "paused" and status["precache"]["reason"] == "run_active"
                before = sum(r.sent for r in fetched(server, "UPGRADE"))
                await asyncio.sleep(1.0)
                assert sum(r.sent for r in fetched(server, "UPGRADE")) == before  # nothing meanwhile
                part = data / "cache" / "UPGRADE.1" / "image.bin.part"
                assert part.exists() and 0 < part.stat().st_size < 3 * MIB
                (work / "go").touch()

                async def run_over() -> bool:
                    current = await client.current()
                    return current is not None and current["run_id"] == run_id and not current["active"]

                await wait_until(run_over, timeout=30)
                await client.change_settings({"precache_rate_mbps": "400"})

                async def cached() -> bool:
                    return bool((await rows(client))["REQUPG"]["download_bytes"] == 0)

                await wait_until(cached, timeout=60)
                resumed = [r for r in fetched(server, "UPGRADE") if r.range]
                assert resumed, "the partial file was downloaded again from its start"
                assert (data / "cache" / "UPGRADE.1" / "image.bin").read_bytes() == blob("upgrade", 3 * MIB)


@pytest.mark.asyncio
async def test_nothing_is_pre_cached_on_a_metered_link_unless_allowed(
        server: ContentServer, tmp_path: Path, short_dir: Path) -> None:
    data, sock = tmp_path / "data", short_dir / "a.sock"
    with FakeNetworkManager(tmp_path / "bus", metered=1) as nm:
        async with agent_process(*agent_args(server, data, sock, "--precache-delay", "0"),
                                 extra_env={"DBUS_SYSTEM_BUS_ADDRESS": nm.address}) as agent:
            async with AgentClient(agent.socket) as client:
                async def asked() -> bool:
                    return nm.asked > 0 and (await client.status())["precache"]["state"] == "paused"

                await wait_until(asked, timeout=30)
                assert (await client.status())["precache"]["reason"] == "metered"
                await asyncio.sleep(0.5)
                assert not fetched(server, "UPGRADE") and not fetched(server, "EXTRA")
                bad = await cli("settings", "precache_on_metered", "maybe", "--agent", str(sock))
                assert bad.rc == 2 and "precache_on_metered: expected true or false" in bad.stderr
                await client.change_settings({"precache_on_metered": "true", "precache_rate_mbps": "400"})

                async def cached() -> bool:
                    listed = await rows(client)
                    return bool(listed["REQUPG"]["download_bytes"] == 0 and listed["REQXTRA"]["download_bytes"] == 0)

                await wait_until(cached, timeout=60)
    assert os.path.exists(data / "cache" / "EXTRA.1" / "extra.bin")
