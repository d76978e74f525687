"""The schedule as a person sees it in the real window, through a real agent and a real
loopback server: the deadline countdown with Install now, the upgrade starting by itself at
its deadline (and the window following it), a newly published deployment listed without
anyone asking, "Downloaded in advance" growing as the pre-cache goes, and the notices the
notification area would show."""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from core import AgentClient
from tests.core.helpers.content_server import ContentServer
from tests.core.sites import deployment, run_tool, tool_files, write_site
from tests.core.test_agent import AgentProcess, agent_args, agent_process
from tests.ui.conftest import until
from ui.deployment_model import Roles

MIB = 1 << 20


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def publish(site: Path, marks: Path, *, deadline: datetime, extra: bool = False, image_mib: int = 0,
            seconds: float = 0) -> None:
    packages: dict[str, dict[str, bytes]] = {"TOOLS": tool_files()}
    steps: list[dict[str, Any]] = [run_tool("Upgrade", "--sleep", str(seconds), "--marker", str(marks), "upgraded")]
    if image_mib:
        block = hashlib.sha256(b"image").digest() * 2048
        packages["IMAGE"] = {"image.bin": (block * (image_mib * MIB // len(block) + 1))[:image_mib * MIB]}
        steps.insert(0, {"type": "download_package_content", "name": "Get the image", "packages": ["IMAGE"]})
    deployments = [deployment("REQUPG", "SEQ", purpose="required", name="Required upgrade", deadline=iso(deadline))]
    if extra:
        deployments.append(deployment("NEWAPP", "SEQ", name="Published later"))
    write_site(site, packages=packages, task_sequences={"SEQ": steps}, deployments=deployments)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    publish(tmp_path / "site", tmp_path / "marks", deadline=datetime.now(UTC) + timedelta(days=30))
    return tmp_path / "site"


@pytest.fixture
def server(site: Path) -> Iterator[ContentServer]:
    with ContentServer(site) as srv:
        yield srv


@pytest_asyncio.fixture
async def agent(server: ContentServer, data_dir: Path) -> AsyncIterator[AgentProcess]:
    short = Path(tempfile.mkdtemp(prefix="sc-", dir="/tmp"))  # a socket path must be short
    try:
        async with agent_process(*agent_args(server, data_dir, short / "a.sock", "--precache-delay", "0")) as running:
            yield running
    finally:
        shutil.rmtree(short, ignore_errors=True)


async def settings(agent: AgentProcess, **values: Any) -> None:
    async with AgentClient(agent.socket) as client:
        await client.change_settings({k: str(v) for k, v in values.items()})


@pytest.mark.asyncio
async def test_the_countdown_shows_with_install_now_which_starts_the_upgrade(
        make_window: Any, agent: AgentProcess, site: Path, tmp_path: Path) -> None:
    await settings(agent, notice_minutes=2)
    publish(site, tmp_path / "marks", deadline=datetime.now(UTC) + timedelta(seconds=60))
    async with AgentClient(agent.socket) as client:
        await client.refresh()
    window = await make_window(agent=agent.socket)
    banner = window.deadline_banner
    await until(lambda: banner.isVisible() and "starts by itself in" in banner.text.text(), 15, "the countdown")
    assert re.fullmatch(r"“Required upgrade” is required: it starts by itself in [12]:\d\d\.", banner.text.text())
    notices = [title for title, _text, _dep in window.tray.notices]
    assert "A required upgrade starts soon" in notices
    button = banner.findChild(type(banner.install_button), "installNowButton")
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    await until(lambda: (tmp_path / "marks").exists(), 30, "the upgrade ran")
    await until(lambda: not banner.isVisible(), 15, "the banner gone once it succeeded")
    await until(lambda: any(t == "Installation finished" for t, _x, _d in window.tray.notices), 15)


@pytest.mark.asyncio
async def test_at_its_deadline_the_upgrade_starts_by_itself_and_the_window_follows_it(
        make_window: Any, agent: AgentProcess, site: Path, tmp_path: Path) -> None:
    window = await make_window(agent=agent.socket)
    await settings(agent, notice_minutes=0.05, poll_minutes=0.02)  # 3 s of notice; the catalog read every 1.2 s
    publish(site, tmp_path / "marks", deadline=datetime.now(UTC) + timedelta(seconds=4), seconds=5)
    await until(lambda: window.deadline_banner.isVisible(), 15, "the countdown")
    await until(lambda: window.controller.running, 30, "the upgrade started by itself, followed by the window")
    await until(lambda: window.progress_page.isVisible(), 15, "its progress shown")
    await until(lambda: (tmp_path / "marks").exists(), 30, "the upgrade ran")
    await until(lambda: any(t == "Installation finished" for t, _x, _d in window.tray.notices), 20)


@pytest.mark.asyncio
async def test_a_newly_published_deployment_is_listed_without_anyone_asking(
        make_window: Any, agent: AgentProcess, site: Path, tmp_path: Path) -> None:
    window = await make_window(agent=agent.socket)
    model = window.catalog_page.model

    def ids() -> set[str]:
        return {model.data(model.index(r, 0), Roles.ID) for r in range(model.rowCount())}

    assert ids() == {"REQUPG"}
    await settings(agent, poll_minutes=0.02)
    publish(site, tmp_path / "marks", deadline=datetime.now(UTC) + timedelta(days=30), extra=True)
    await until(lambda: "NEWAPP" in ids(), 20, "the new deployment listed")


@pytest.mark.asyncio
async def test_the_details_say_how_much_was_downloaded_in_advance(
        make_window: Any, agent: AgentProcess, site: Path, tmp_path: Path) -> None:
    await settings(agent, precache_rate_mbps=16)  # 2 MB/s: a 6 MiB image takes about 3 s
    window = await make_window(agent=agent.socket)
    publish(site, tmp_path / "marks", deadline=datetime.now(UTC) + timedelta(days=30), image_mib=6)
    async with AgentClient(agent.socket) as client:
        await client.refresh()
    await until(lambda: window.catalog_page.select("REQUPG"), 20)
    size = window.catalog_page.details._fact_values["size"]
    seen: list[str] = []

    def partway() -> bool:
        seen.append(size.text())
        return size.text().startswith("Downloaded in advance: ") and not size.text().startswith(
            "Downloaded in advance: 0 B")

    await until(partway, 30, "the pre-cache under way")
    await until(lambda: "all of it is already on this computer" in size.text(), 30, "the pre-cache done")
    assert any(t.startswith("Downloaded in advance: ") for t in seen)
