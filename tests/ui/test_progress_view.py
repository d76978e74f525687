"""The progress view's parts: failure words, the log tail, painted rows, and calm problems.

Whole runs are in test_run_controller.py; these are the pieces a run would take long to
reach (every known error code, every row state, a data folder held by another process).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListView, QStyleOptionViewItem

from core.catalog import Catalog, parse_catalog
from core.center import SoftwareCenter
from core.cmtrace import format_entry
from core.demo import DemoServer, build_demo_site
from core.errors import ErrorCode, Win32Code
from core.events import (
    DownloadProgressed,
    DownloadStarted,
    RunStarted,
    StepFinished,
    StepOutcome,
    StepProgressed,
    StepSkipped,
    StepStarted,
)
from core.events import SkipReason as SkipWhy
from core.protocols import LocalEngine
from core.runstate import RunLock
from ui.bridge import EventBridge
from ui.failure_view import FailureView
from ui.progress_view import ProgressView, read_log_tail
from ui.run_controller import RunController
from ui.step_delegate import StepDelegate
from ui.step_model import Roles, StepModel
from ui.wording import failure_words, hex_code

ERROR_CONTENT, ERROR_DISK_FULL = Win32Code.CONTENT_FAILED, Win32Code.DISK_FULL

SETUP = [0xC1900208, 0xC190020E, 0xC1900210, 0xC1900101, 0xC1900107, 0xC1900200, 0xC1900202, 0xC1900204]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_site(tmp_path_factory.mktemp("progress-site") / "demo-site", scale=1 / 256)


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    with DemoServer(site) as s:
        assert s.url is not None
        yield s.url


@asynccontextmanager
async def view_on(data_dir: Path, url: str, qtbot: Any) -> AsyncIterator[tuple[RunController, ProgressView]]:
    center = SoftwareCenter(data_dir, site=url, connection="internet")
    await center.open()
    controller = RunController(LocalEngine(center))
    view = ProgressView(controller)
    qtbot.addWidget(view)
    view.show()
    try:
        yield controller, view
    finally:
        await controller.cancel()
        controller.close()
        await center.aclose()


async def next_problem(controller: RunController) -> str:
    fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def slot(text: str) -> None:
        if not fut.done():
            fut.set_result(text)

    controller.problem.connect(slot)
    try:
        return await asyncio.wait_for(fut, 10)
    finally:
        controller.problem.disconnect(slot)


# --- failure words ---------------------------------------------------------------------


def test_codes_are_shown_in_hex_signed_or_not() -> None:
    assert hex_code(0xC1900208) == "0xC1900208"
    assert hex_code(0xC1900208 - 2**32) == "0xC1900208"  # the same code as a signed 32-bit int
    assert hex_code(3010) == "0x00000BC2 (3010)"
    assert hex_code(1) == "0x00000001 (1)"


def test_every_known_code_has_its_own_cause_and_advice() -> None:
    # A program's failure is worded by its exit code (Windows Setup's); the engine's own by its reason.
    words = {code: failure_words(ErrorCode.PROGRAM_FAILED, code) for code in SETUP}
    words[ERROR_DISK_FULL] = failure_words(ErrorCode.DISK_FULL, ERROR_DISK_FULL)
    words[ERROR_CONTENT] = failure_words(ErrorCode.CONTENT_UNAVAILABLE, ERROR_CONTENT)
    causes = [cause for cause, _ in words.values()]
    assert len(set(causes)) == len(words)
    assert all(cause and advice for cause, advice in words.values())
    assert "not compatible with Windows 11" in words[0xC1900208][0]
    assert "disk space" in words[0xC190020E][0]
    assert "went back to the previous version" in words[0xC1900101][0]
    assert "downloaded" in words[ERROR_CONTENT][0]
    assert words[0xC1900200][0].startswith("The computer does not meet the minimum hardware")
    assert failure_words(ErrorCode.PROGRAM_FAILED, 0x1234)[0] == "A step of the upgrade ended with an error."
    assert "took longer" in failure_words(ErrorCode.PROGRAM_TIMEOUT, None)[0]
    # A history entry saved before failures had codes: the engine's number still words it.
    assert failure_words(None, ERROR_DISK_FULL) == words[ERROR_DISK_FULL]
    assert failure_words(None, None)[0] == "The upgrade could not finish."


def test_failure_view_shows_code_cause_advice_detail_and_opens_the_log(qtbot: Any, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "smsts.log"
    view = FailureView(log)
    qtbot.addWidget(view)
    view.show_failure(ErrorCode.CONTENT_UNAVAILABLE, ERROR_CONTENT, "NWT00012: every location failed",
                      "Upgrade Operating System")
    assert view.code_label.text() == "Error code: 0x80091007"
    assert view.step_label.text() == "Failed step: Upgrade Operating System"
    assert "internet connection" in view.advice_label.text()
    assert view.detail_label.text() == "Details: every location failed"  # not the package ID again
    qtbot.mouseClick(view.open_log_button, Qt.MouseButton.LeftButton)
    assert view.opened_url is not None and Path(view.opened_url.toLocalFile()) == log
    # Offscreen there is no desktop to open it with: the path is shown instead.
    assert str(log) in view.log_label.text()


# --- the log tail ---------------------------------------------------------------------


def test_log_tail_is_the_last_ten_entries_even_with_a_torn_one(tmp_path: Path) -> None:
    log = tmp_path / "smsts.log"
    now = time.time()
    lines = [format_entry(f"line {i}", created=now, severity=3 if i == 13 else 1) for i in range(15)]
    log.write_text("\ufeff" + "\r\n".join(lines) + "\r\n<![LOG[half an entr", encoding="utf-8")
    tail = read_log_tail(log)
    assert [m for _, _, m in tail] == [f"line {i}" for i in range(5, 15)]
    assert tail[8][1] == "3"
    assert read_log_tail(tmp_path / "missing.log") == []


# --- painted rows ---------------------------------------------------------------------


@dataclass
class FakeCenter:
    catalog: Catalog
    data_dir: Path


def test_every_row_state_paints_and_sizes(qtbot: Any, site: Path, tmp_path: Path) -> None:
    catalog = parse_catalog((site / "catalog.json").read_bytes(), "http://127.0.0.1:9/catalog.json")
    model = StepModel()
    bridge = EventBridge(FakeCenter(catalog, tmp_path), model)
    view = QListView()
    qtbot.addWidget(view)
    view.setModel(model)
    delegate = StepDelegate(view)
    view.setItemDelegate(delegate)
    view.resize(700, 700)
    view.show()
    ts = "NWT00020"
    for e in (
        RunStarted("NWT20001", ts, "Upgrade", 8, "internet"),
        StepStarted(1, 8, "Check Readiness", "check_readiness", ip=1),
        StepFinished(1, "Check Readiness", StepOutcome.FAILED, 0x80070070, "not enough disk", ip=1,
                     reason=ErrorCode.DISK_FULL),
        StepSkipped("Set Setup Duration", SkipWhy.CONDITION, 8, ip=2),
        StepStarted(3, 8, "Set Download Retry Count", "set_variable", ip=3),
        StepProgressed(3, 40.0, "Working hard", ip=3),
        StepFinished(3, "Set Download Retry Count", StepOutcome.SUCCEEDED, 3010, ip=3),
        StepSkipped("Run Compatibility Scan", SkipWhy.DISABLED, 8, ip=4),
        StepStarted(4, 8, "Download Drivers", "download_package_content", ip=5),
        DownloadStarted("NWT00015", 132_320, 0, "http://x/"),
        DownloadProgressed("NWT00015", 66_000, 132_320, 1.5e6, 0.04),
    ):
        bridge.sink(e)
    bridge.flush()
    image = view.grab()
    assert not image.isNull()
    texts = [model.index(i).data(Roles.STATUS_TEXT) for i in range(model.rowCount())]
    assert "Failed (0x80070070)" in texts
    assert "Succeeded, restart required" in texts
    assert "Skipped: condition not met" in texts and "Skipped: disabled" in texts
    assert "Downloading" in texts and "Pending" in texts and "Disabled" in texts
    detail = model.index(5).data(Roles.DETAIL_TEXT)
    assert "Northwind laptop driver pack" in detail and "left" in detail and "/s" in detail
    group = model.index(0)
    step = model.index(1)
    opt = QStyleOptionViewItem()
    opt.initFrom(view)
    assert delegate.sizeHint(opt, group).height() < delegate.sizeHint(opt, step).height()


# --- calm problems ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_idle_view_and_a_resume_with_nothing_to_resume(tmp_path: Path, server: str, qtbot: Any) -> None:
    async with view_on(tmp_path, server, qtbot) as (controller, view):
        assert view.title_label.text() == "No task sequence is running"
        assert not view.cancel_button.isEnabled()
        assert not controller.running
        problem = asyncio.ensure_future(next_problem(controller))
        controller.resume()
        assert await problem == "There is no interrupted upgrade to continue."
        assert view.banner.isVisibleTo(view) and view.banner_label.text() == await problem
        assert not view.resume_button.isVisibleTo(view)
        assert not controller.running


@pytest.mark.asyncio
async def test_a_data_folder_held_by_another_process_is_a_sentence_not_a_traceback(
    tmp_path: Path, server: str, qtbot: Any
) -> None:
    async with view_on(tmp_path, server, qtbot) as (controller, view):
        lock = RunLock(tmp_path)
        lock.acquire()  # as another Software Center process would
        try:
            problem = asyncio.ensure_future(next_problem(controller))
            controller.start("NWT20001", {"DemoSetupSeconds": "1"})
            text = await problem
        finally:
            lock.release()
        assert text.startswith("Another Software Center is running a task sequence")
        assert view.banner_label.text() == text


@pytest.mark.asyncio
async def test_a_refused_deployment_says_why(tmp_path: Path, server: str, qtbot: Any) -> None:
    async with view_on(tmp_path, server, qtbot) as (controller, _view):
        results: list[Any] = []
        controller.finished.connect(results.append)
        problem = asyncio.ensure_future(next_problem(controller))
        controller.start("NWT20002")  # intranet only, and this client is on the internet
        assert (await problem).startswith("This upgrade cannot run on this computer now: ")
        while controller.running:
            await asyncio.sleep(0.01)
        assert [r.status for r in results] == ["refused"]
