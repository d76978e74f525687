"""Runs from the window: the real engine on the real demo site, through RunController + ProgressView.

The demo site is built once (small: the OS image is 1 MiB) and served on loopback by the
demo server with a rate limit, so downloads take long enough to be watched. Each test
has its own data folder. The tests run on a qasync loop (tests/conftest.py) and wait by
awaiting futures tied to signals, never with qtbot.wait*.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, SignalInstance

from core.center import SoftwareCenter
from core.demo import DemoServer, build_demo_site
from core.events import RunResult
from core.options import Options
from core.protocols import LocalEngine
from core.runstate import RunStatus, load_history, load_state
from ui.progress_view import ProgressView
from ui.run_controller import RunController
from ui.step_model import Roles, SkipReason, StepState

HAPPY, COMPAT_BLOCK = "NWT20001", "NWT20008"
FAST = {"DemoSetupSeconds": "1"}
TIMEOUT = 30


# --- fixtures and helpers ------------------------------------------------------------


def saved_status(data_dir: Path) -> RunStatus | None:
    state = load_state(data_dir)
    return state.status if state is not None else None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_site(tmp_path_factory.mktemp("run-site") / "demo-site", scale=1 / 256)


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """The site at 2 MB/s: the 1 MiB OS image takes about half a second, several progress events."""
    with DemoServer(site, rate_bps=2_000_000) as s:
        assert s.url is not None
        yield s.url


@pytest.fixture(scope="module")
def slow_server(site: Path) -> Iterator[str]:
    """The site at 600 kB/s, for cancelling in the middle of a download."""
    with DemoServer(site, rate_bps=600_000) as s:
        assert s.url is not None
        yield s.url


@asynccontextmanager
async def opened(data_dir: Path, url: str, qtbot: Any, options: Options | None = None
                 ) -> AsyncIterator[tuple[RunController, ProgressView]]:
    center = SoftwareCenter(data_dir, site=url, connection="internet", options=options)
    await center.open()
    controller = RunController(LocalEngine(center))
    view = ProgressView(controller)
    qtbot.addWidget(view)
    view.resize(760, 820)
    view.show()
    try:
        yield controller, view
    finally:
        await controller.cancel()
        controller.close()
        await center.aclose()


def when(signal: SignalInstance, predicate: Callable[[Any], bool] | None = None) -> asyncio.Future[Any]:
    """A future resolved by the next emission of `signal` (whose value passes `predicate`)."""
    fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def slot(*args: Any) -> None:
        value = args[0] if len(args) == 1 else args
        if not fut.done() and (predicate is None or predicate(value)):
            fut.set_result(value)

    signal.connect(slot)
    fut.add_done_callback(lambda _f: signal.disconnect(slot))
    return fut


async def wait(fut: asyncio.Future[Any], timeout: float = TIMEOUT) -> Any:
    return await asyncio.wait_for(fut, timeout)


def in_order(seen: list[StepState], expected: list[StepState]) -> bool:
    """`expected` appears in `seen` in this order (other states may come between)."""
    it = iter(seen)
    return all(any(s is e for s in it) for e in expected)


class Recorder:
    """Every state each row went through, and the bytes of each download, as the model showed them."""

    def __init__(self, controller: RunController) -> None:
        self.model = controller.model
        self.states: dict[str, list[StepState]] = {}
        self.bytes: dict[str, list[int]] = {}
        self.model.dataChanged.connect(self._changed)
        self.model.modelReset.connect(self._reset)

    def _reset(self) -> None:
        for i in range(self.model.rowCount()):
            self._look(i)

    def _changed(self, top: Any, bottom: Any, _roles: Any) -> None:
        for i in range(top.row(), bottom.row() + 1):
            self._look(i)

    def _look(self, i: int) -> None:
        idx = self.model.index(i)
        name = idx.data()
        state = idx.data(Roles.STATE)
        seen = self.states.setdefault(name, [])
        if not seen or seen[-1] is not state:
            seen.append(state)
        dl = idx.data(Roles.DOWNLOAD)
        if dl is not None:
            got = self.bytes.setdefault(dl.package, [])
            if not got or got[-1] != dl.bytes:
                got.append(dl.bytes)

    def final(self) -> dict[str, StepState]:
        return {self.model.index(i).data(): self.model.index(i).data(Roles.STATE) for i in range(self.model.rowCount())}

    def row(self, name: str) -> int:
        return next(i for i in range(self.model.rowCount()) if self.model.index(i).data() == name)


# --- the happy path ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_happy_path_with_on_demand_downloads_restart_countdown_and_resume(
    tmp_path: Path, server: str, qtbot: Any
) -> None:
    async with opened(tmp_path, server, qtbot) as (controller, view):
        rec = Recorder(controller)
        started = when(controller.started)
        downloading = when(
            controller.model.dataChanged,
            lambda v: v[0].data(Roles.STATE) is StepState.DOWNLOADING and v[0].data() == "Upgrade Operating System",
        )
        restart = when(controller.finished)
        controller.start(HAPPY, FAST)
        assert controller.running
        busy = when(controller.problem)
        controller.start(HAPPY, FAST)  # a second click while it runs
        assert await wait(busy) == "A task sequence is already running in this window."
        assert await wait(started) == HAPPY
        assert view.title_label.text() == "Running: Upgrade to Windows 11 Enterprise 24H2"

        await wait(downloading)
        assert view.step_label.text() == "Step 5 of 8 · Upgrade Operating System"
        assert view.cancel_button.isEnabled()
        assert 0 < view.overall.value() < 1000

        # The restart step: the run stops, saved, and the countdown shows.
        result: RunResult = await wait(restart)
        assert result.status == "restart_pending"
        assert not controller.running and controller.counting_down
        assert saved_status(tmp_path) is RunStatus.RESTART_PENDING
        assert view.countdown.isVisible()
        assert view.countdown.countdown_label.text() == "Restarting in 15 s"
        assert "Windows 11 is almost ready" in view.countdown.message_label.text()
        assert await wait(when(controller.countdownChanged)) == 14
        assert view.countdown.countdown_label.text() == "Restarting in 14 s"
        # No Cancel during the countdown: Restart now or Snooze (in process: the countdown stops
        # and starts again after the delay).
        assert not view.cancel_button.isVisible()
        view.countdown.snooze_choice.setCurrentIndex(0)
        qtbot.mouseClick(view.countdown.snooze_button, Qt.MouseButton.LeftButton)
        assert controller.snoozed_until is not None and not controller.counting_down
        assert view.countdown.countdown_label.text() == "Restart your computer to continue"
        assert view.countdown.restart_button.isVisible() and not view.resume_button.isVisible()

        # "Restart now": the run resumes from its saved state, as after a reboot.
        resumed = when(controller.started)
        done = when(controller.finished)
        qtbot.mouseClick(view.countdown.restart_button, Qt.MouseButton.LeftButton)
        await wait(resumed)
        assert not view.countdown.isVisible()
        result = await wait(done)
        assert result.status == "succeeded", result

    # Repaints are coalesced, so a state shorter than a repaint interval may never be drawn;
    # the long ones are, in order.
    s = rec.states
    assert in_order(s["Upgrade Operating System"],
                    [StepState.PENDING, StepState.DOWNLOADING, StepState.RUNNING, StepState.SUCCEEDED])
    assert s["Upgrade Operating System"][-1] is StepState.SUCCEEDED
    assert in_order(s["Download Drivers"], [StepState.PENDING, StepState.SUCCEEDED])
    final = rec.final()
    assert final == {
        "Prepare for Upgrade": StepState.SUCCEEDED,
        "Check Readiness": StepState.SUCCEEDED,
        "Set Setup Duration": StepState.SKIPPED,
        "Set Download Retry Count": StepState.SUCCEEDED,
        "Run Compatibility Scan": StepState.SKIPPED,
        "Download Drivers": StepState.SUCCEEDED,
        "Upgrade Operating System": StepState.SUCCEEDED,
        "Restart Computer": StepState.SUCCEEDED,
        "Post-Processing": StepState.SUCCEEDED,
        "Install Company Portal": StepState.SUCCEEDED,
        "Collect Setup Logs": StepState.SKIPPED,
        "Remove Legacy VPN Client": StepState.SKIPPED,
    }
    m = controller.model
    assert m.index(rec.row("Run Compatibility Scan")).data(Roles.SKIP_REASON) is SkipReason.DISABLED
    assert m.index(rec.row("Collect Setup Logs")).data(Roles.SKIP_REASON) is SkipReason.CONDITION
    # The OS image's bytes went up in several steps to the whole file, never down.
    wim = rec.bytes["NWT00012"]
    assert len(wim) >= 3 and wim == sorted(wim) and wim[-1] == 1_055_496
    # Download figures of the steps before the restart survive the resume.
    assert "downloaded and verified" in m.index(rec.row("Download Drivers")).data(Roles.DETAIL_TEXT)

    assert view.title_label.text() == "Completed: Upgrade to Windows 11 Enterprise 24H2"
    assert view.step_label.text() == "Step 8 of 8"
    assert view.overall.value() == 1000
    assert view.banner.isVisibleTo(view) and "finished successfully" in view.banner_label.text()
    assert not view.failure.isVisibleTo(view)
    assert not view.cancel_button.isEnabled()
    # The log (English admin text) is behind "Show details".
    assert not view.log_tail.isVisibleTo(view) and view.log_tail.objectName() == "logView"
    qtbot.mouseClick(view.show_log_button, Qt.MouseButton.LeftButton)
    assert view.log_tail.isVisibleTo(view) and view.show_log_button.text() == "Hide &details"
    assert "Task sequence completed 0x00000000" in view.log_tail.toPlainText()
    assert len(view.log_tail.toPlainText().splitlines()) == 10
    assert load_state(tmp_path) is None
    assert load_history(tmp_path)[-1].status == "succeeded"
    assert (tmp_path / "logs" / "smsts.log").stat().st_size > 0


# --- the failure path ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_compatibility_block_shows_the_code_in_hex_the_cause_and_the_log(
    tmp_path: Path, server: str, qtbot: Any
) -> None:
    async with opened(tmp_path, server, qtbot) as (controller, view):
        done = when(controller.finished)
        controller.start(COMPAT_BLOCK, FAST)
        result: RunResult = await wait(done)
        assert result.status == "failed"
        assert result.error_code == 0xC1900208

        f = view.failure
        assert f.isVisibleTo(view)
        assert f.code_label.text() == "Error code: 0xC1900208"
        assert "not compatible with Windows 11" in f.cause_label.text()
        assert f.advice_label.text().startswith("What to do: ")
        assert f.step_label.text() == "Failed step: Upgrade Operating System"
        assert view.title_label.text().startswith("Failed: ")
        rows = {controller.model.index(i).data(): controller.model.index(i).data(Roles.STATE)
                for i in range(controller.model.rowCount())}
        assert rows["Upgrade Operating System"] is StepState.FAILED
        assert rows["Restart Computer"] is StepState.SKIPPED  # never reached
        qtbot.mouseClick(f.open_log_button, Qt.MouseButton.LeftButton)
        assert f.opened_url is not None
        assert Path(f.opened_url.toLocalFile()) == tmp_path / "logs" / "smsts.log"
        view.show_log_button.setChecked(True)
        assert "0xC1900208" in view.log_tail.toPlainText()


# --- cancel, then resume -------------------------------------------------------------


@pytest.mark.asyncio
async def test_cancel_mid_download_asks_then_stops_and_resume_completes(
    tmp_path: Path, slow_server: str, qtbot: Any
) -> None:
    async with opened(tmp_path, slow_server, qtbot) as (controller, view):
        rec = Recorder(controller)
        mid_download = when(
            controller.model.dataChanged,
            lambda v: (dl := v[0].data(Roles.DOWNLOAD)) is not None and dl.package == "NWT00012" and dl.bytes > 0,
        )
        controller.start(HAPPY, FAST)
        await wait(mid_download)

        # Cancel asks first; "Keep running" changes nothing.
        qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
        box = view.confirmation
        assert box is not None and box.isVisible()
        qtbot.mouseClick(box.findChild(type(view.cancel_button), "keepRunningButton"), Qt.MouseButton.LeftButton)
        assert controller.running

        cancelled = when(controller.finished)
        qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
        box = view.confirmation
        assert box is not None
        qtbot.mouseClick(box.findChild(type(view.cancel_button), "confirmCancelButton"), Qt.MouseButton.LeftButton)
        result: RunResult = await wait(cancelled)
        assert result.status == "cancelled"
        await asyncio.sleep(0)  # the task's done callback
        assert not controller.running
        state = load_state(tmp_path)
        assert state is not None and state.status is RunStatus.CANCELLED
        got_before_cancel = rec.bytes["NWT00012"][-1]
        assert 0 < got_before_cancel < 1_055_496
        parts = list((tmp_path / "cache").rglob("*.part"))
        kept = sum(p.stat().st_size for p in parts)
        assert kept > 0, parts  # the partial OS image stays for the resume
        assert rec.final()["Upgrade Operating System"] is StepState.PENDING
        assert view.banner.isVisibleTo(view) and "cancelled" in view.banner_label.text()
        assert view.resume_button.isVisibleTo(view)
        assert not view.failure.isVisibleTo(view)

        # A new run is refused calmly while this one waits to be continued.
        problem = when(controller.problem)
        controller.start(HAPPY, FAST)
        assert "has not finished" in await wait(problem)
        assert not controller.running

        # Resume: the download continues from what was kept, then the run goes on.
        restart = when(controller.finished)
        resumed = when(controller.started)
        qtbot.mouseClick(view.resume_button, Qt.MouseButton.LeftButton)
        await wait(resumed)
        assert not view.banner.isVisibleTo(view)
        assert (await wait(restart)).status == "restart_pending"
        after = rec.bytes["NWT00012"]
        assert after[-1] == 1_055_496
        assert max(after[after.index(got_before_cancel) + 1 :]) > got_before_cancel
        # This time nobody clicks: at zero the run resumes by itself (15 s shortened to 1).
        assert controller.counting_down
        controller._seconds_left = 1
        done = when(controller.finished)
        await wait(when(controller.started))
        assert controller.seconds_left == 0
        assert (await wait(done)).status == "succeeded"
        assert rec.final()["Install Company Portal"] is StepState.SUCCEEDED
    # The partial OS image was kept, not fetched again: the run received every byte of its
    # content once (the cancelled part counts too), and not the kept part a second time.
    everything = 132_320 + 1_055_496 + 2_103
    transferred = load_history(tmp_path)[-1].bytes_transferred
    assert everything <= transferred < everything + kept


# --- the admin's restart command -----------------------------------------------------


@pytest.mark.asyncio
async def test_a_restart_command_runs_instead_and_the_next_login_resumes(
    tmp_path: Path, server: str, qtbot: Any
) -> None:
    marker = tmp_path / "restarted"
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]
    async with opened(tmp_path, server, qtbot, Options(restart_command=command)) as (controller, view):
        pending = when(controller.finished)
        controller.start(HAPPY, FAST)
        assert (await wait(pending)).status == "restart_pending"
        assert "when you sign in" in view.countdown.note_label.text()
        ran = when(controller.restartCommandRan)
        qtbot.mouseClick(view.countdown.restart_button, Qt.MouseButton.LeftButton)
        assert await wait(ran) is True
        assert marker.exists()
        assert not controller.running and not controller.counting_down
        assert saved_status(tmp_path) is RunStatus.RESTART_PENDING
        assert "software-center resume" in view.countdown.note_label.text()

    # "The next login": a new window on the same data folder continues from the saved state
    # alone, and lists what happened before the restart.
    async with opened(tmp_path, server, qtbot) as (controller, view):
        assert controller.saved_run_status() is RunStatus.RESTART_PENDING
        started = when(controller.started)
        done = when(controller.finished)
        controller.resume()
        await wait(started)
        rows = {controller.model.index(i).data(): controller.model.index(i) for i in range(controller.model.rowCount())}
        assert rows["Check Readiness"].data(Roles.STATE) is StepState.SUCCEEDED
        assert rows["Check Readiness"].data(Roles.NUMBER) == 1
        assert rows["Set Setup Duration"].data(Roles.SKIP_REASON) is SkipReason.CONDITION
        assert rows["Run Compatibility Scan"].data(Roles.SKIP_REASON) is SkipReason.DISABLED
        assert rows["Upgrade Operating System"].data(Roles.STATE) is StepState.SUCCEEDED
        assert rows["Restart Computer"].data(Roles.NUMBER) == 6
        assert rows["Prepare for Upgrade"].data(Roles.STATE) is StepState.SUCCEEDED
        assert rows["Install Company Portal"].data(Roles.STATE) in (StepState.PENDING, StepState.RUNNING,
                                                                    StepState.DOWNLOADING)
        assert view.step_label.text().startswith("Step 7 of 8")  # the step at the saved pointer
        assert (await wait(done)).status == "succeeded"
        assert view.step_label.text() == "Step 8 of 8"
