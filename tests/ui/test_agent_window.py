"""The window as a client of the agent, with real agent processes on the real demo site:
attaching late, closing and reopening mid-run, two windows on one run, Cancel, losing
the agent, and a restart the agent could not carry out."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QPushButton

from core import AgentClient, AgentError, RunOutcome, RunStatus
from ui.main_window import Page
from ui.step_model import StepState
from ui.wording import restart_failed_text

from .conftest import until

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[2]
UPGRADE = "Upgrade Operating System"


def restart_soon(data_dir: Path) -> None:
    """The agent's simulated restart takes a second instead of the step's 15."""
    options = json.loads((data_dir / "options.json").read_text())
    (data_dir / "options.json").write_text(json.dumps({**options, "restart_countdown_s": 1}))


def state_of(window: Any, name: str) -> StepState | None:
    return next((r.state for r in window.controller.bridge.rows if r.name == name), None)


def upgrading(window: Any) -> bool:
    return window.controller.running and state_of(window, UPGRADE) is StepState.RUNNING


async def agent_run(window: Any) -> dict[str, Any] | None:
    async with AgentClient(window.engine.place.socket) as client:
        return dict(await client.current() or {}) or None


async def test_a_window_opened_late_shows_the_run_and_two_windows_follow_it_to_its_end(
    make_window: Any, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOFTWARE_CENTER_DEMO_RATE", "60")  # the agent serves the demo slowly enough to watch
    restart_soon(data_dir)
    first = await make_window()
    first.controller.start("NWT20001", {"DemoSetupSeconds": "2"})

    def downloading(window: Any) -> bool:
        return any(r.state is StepState.DOWNLOADING and r.download is not None and r.download.bytes > 0
                   for r in window.controller.bridge.rows)

    await until(lambda: downloading(first), 60, "the first window shows the download")
    late = await make_window()  # attaches to the agent's run: its steps so far, then the live download
    await until(lambda: late.current_page() is Page.PROGRESS and late.controller.running, 20, "the late window")
    assert not late.navigation.item(Page.PROGRESS).isHidden()
    await until(lambda: downloading(late), 20, "the late window shows the live download")
    assert late.controller.header.name == first.controller.header.name
    done = [r.name for r in first.controller.bridge.rows if r.state is StepState.SUCCEEDED]
    assert "Check Readiness" in done
    assert state_of(late, "Check Readiness") is StepState.SUCCEEDED

    # Both follow the run through the agent's (simulated) restart to its end.
    for window in (first, late):
        await until(lambda w=window: w.controller.header.status is RunStatus.SUCCEEDED, 120, "the run's end")
    assert [(r.name, r.state) for r in first.controller.bridge.rows] == \
        [(r.name, r.state) for r in late.controller.bridge.rows]
    assert first.controller.header.number == late.controller.header.number == first.controller.header.total


async def test_closing_the_window_mid_run_leaves_the_run_going_and_a_new_window_shows_it(
    make_window: Any, data_dir: Path
) -> None:
    window = await make_window()
    window.controller.start("NWT20001", {"DemoSetupSeconds": "30"})
    await until(lambda: upgrading(window), 60, "the upgrade step runs")
    window.close()  # no question: the run is the agent's
    assert not window.isVisible() and window.question is None
    await window.shutdown()
    await asyncio.sleep(0.5)
    run = await agent_run(window)
    assert run is not None and run["active"] and run["status"] == "running"

    again = await make_window()
    await until(lambda: upgrading(again) and again.current_page() is Page.PROGRESS, 20, "the run, shown again")
    assert state_of(again, "Download Drivers") is StepState.SUCCEEDED
    assert not again.banner.isVisible()


async def test_cancel_from_the_window_asks_the_agent_and_the_run_ends_cancelled(make_window: Any) -> None:
    window = await make_window()
    controller = window.controller
    controller.start("NWT20001", {"DemoSetupSeconds": "30"})
    await until(lambda: upgrading(window), 60, "the upgrade step runs")
    window.progress_page.ask_cancel()
    box = window.progress_page.confirmation
    assert box is not None
    box.findChild(QPushButton, "confirmCancelButton").click()
    await until(lambda: controller.last_result is not None, 30, "the run ends")
    assert controller.last_result.status is RunOutcome.CANCELLED
    assert state_of(window, UPGRADE) is StepState.PENDING  # it runs again on resume
    run = await agent_run(window)
    assert run is not None and run["status"] == "cancelled" and not run["active"]
    await until(lambda: window.progress_page.resume_button.isVisibleTo(window.progress_page), 10, "Resume")


async def test_a_lost_agent_shows_reconnecting_then_the_window_follows_the_continued_run(
    make_window: Any, data_dir: Path
) -> None:
    restart_soon(data_dir)
    window = await make_window()
    controller = window.controller
    controller.start("NWT20001", {"DemoSetupSeconds": "4"})
    await until(lambda: upgrading(window), 60, "the upgrade step runs")
    pid = int(window.engine.status["pid"])
    os.kill(pid, signal.SIGKILL)
    label = window.progress_page.link_label
    await until(label.isVisible, 20, "Reconnecting…")
    assert "Reconnecting" in label.text()
    assert not window.progress_page.cancel_button.isEnabled()
    # The window starts the user's agent again; it continues the run, and the window follows it.
    await until(lambda: not label.isVisible(), 60, "connected again")
    assert int(window.engine.status["pid"]) != pid
    await until(lambda: controller.header.status is RunStatus.SUCCEEDED, 120, "the continued run's end")
    assert state_of(window, UPGRADE) is StepState.SUCCEEDED
    await until(lambda: controller.last_result is not None, 20, "the run's result")
    assert controller.last_result.status is RunOutcome.SUCCEEDED


@pytest.fixture
def short_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="sc-", dir="/tmp") as d:
        yield Path(d)


async def test_a_reboot_command_that_fails_says_restart_your_computer(
    make_window: Any, data_dir: Path, short_dir: Path
) -> None:
    boot = short_dir / "boot_id"
    boot.write_text("boot-1\n")
    sock = short_dir / "agent.sock"
    env = {**os.environ, "SOFTWARE_CENTER_BOOT_ID_FILE": str(boot), "SOFTWARE_CENTER_DEMO_RATE": "0"}
    agent = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "agent", "--user", "--data-dir", str(data_dir), "--socket", str(sock),
         "--reboot-command", "false", "--restart-retry", "30"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        async def answers() -> bool:
            try:
                async with AgentClient(sock, timeout_s=2) as client:
                    await client.status()
                return True
            except AgentError:
                return False

        for _ in range(300):
            if await answers():
                break
            await asyncio.sleep(0.1)
        window = await make_window(agent=sock)
        assert window.engine.place.socket == sock
        window.controller.start("NWT20001", {"DemoSetupSeconds": "0"})
        countdown = window.progress_page.countdown
        await until(lambda: countdown.countdown_label.text() == "Restart your computer to continue", 90,
                    "the failed restart, in words")
        assert countdown.isVisible()
        assert countdown.note_label.text() == restart_failed_text("reboot_command_failed")
        assert window.controller.restart_failure == "reboot_command_failed"
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(20)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
        assert agent.stderr is not None
        agent.stderr.close()


async def test_an_open_window_follows_a_run_another_client_starts(make_window: Any, data_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A run started from the command line while the window is open shows in the window."""
    monkeypatch.setenv("SOFTWARE_CENTER_DEMO_RATE", "60")
    window = await make_window()
    assert not window.controller.running
    started = subprocess.run(
        [sys.executable, "-m", "cli.main", "run", "NWT20001", "--agent", str(window.engine.place.socket),
         "--yes", "--detach", "--variable", "DemoSetupSeconds=2"],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stderr
    await until(lambda: window.controller.running and window.current_page() is Page.PROGRESS, 20,
                "the window follows the run started elsewhere")
    run = await agent_run(window)
    assert run is not None and run["run_id"] == started.stdout.strip()
    await window.controller.cancel()
    await until(lambda: not window.controller.running, 30, "the cancelled run ends in the window")
    assert window.controller.header.status is RunStatus.CANCELLED
