"""Installation status: the history kept in the data folder, newest first, and what it changes in the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QPushButton

from core.runstate import HistoryEntry, append_history
from ui.history_model import HistoryRoles
from ui.main_window import Page

pytestmark = pytest.mark.asyncio


def entry(run_id: str, deployment: str, status: str, code: int | None = None, started: str = "10") -> HistoryEntry:
    return HistoryEntry(run_id, deployment, "Upgrade to Windows 11 Enterprise 24H2",
                        f"2026-05-01T{started}:00:00+00:00", f"2026-05-01T{started}:30:00+00:00", status,
                        "setup failed" if code else None, code, 301_989_888)


@pytest.fixture
def history(data_dir: Path) -> None:
    append_history(data_dir, entry("a", "NWT20001", "succeeded", started="08"))
    append_history(data_dir, entry("b", "NWT20008", "failed", 0xC1900208, started="09"))


@pytest.mark.usefixtures("history")
async def test_installation_status_lists_runs_newest_first(make_window: Any) -> None:
    window = await make_window(connection="internet")
    window.show_page(Page.STATUS)
    model = window.status_page.model
    assert model.rowCount() == 2
    newest = model.index(0)
    assert newest.data(HistoryRoles.STATUS) == "failed"
    assert newest.data(HistoryRoles.STATUS_TEXT) == "Failed"
    assert "0xC1900208" in newest.data(HistoryRoles.DETAIL)
    assert "288 MB downloaded" in newest.data(HistoryRoles.DETAIL)
    assert model.index(1).data(HistoryRoles.STATUS_TEXT) == "Succeeded"
    assert window.status_page.stack.currentWidget() is window.status_page.list_view


@pytest.mark.usefixtures("history")
async def test_history_makes_install_reinstall_or_retry(make_window: Any) -> None:
    window = await make_window(connection="internet")
    page = window.catalog_page
    button = window.findChild(QPushButton, "installButton")
    page.select("NWT20001")
    assert button.text().replace("&", "") == "Reinstall"
    page.select("NWT20008")
    assert button.text().replace("&", "") == "Retry"
    page.select("NWT20005")
    assert button.text().replace("&", "") == "Install"


async def test_empty_history_says_so(make_window: Any, qtmodeltester: Any) -> None:
    window = await make_window(connection="internet")
    window.show_page(Page.STATUS)
    assert window.status_page.stack.currentWidget() is window.status_page.empty_label
    qtmodeltester.check(window.status_page.model, force_py=True)
    window.status_page.model.set_entries([entry("a", "NWT20001", "succeeded"), entry("b", "NWT20001", "running")])
    window.status_page.model.retranslate()


@pytest.mark.usefixtures("history")
async def test_a_failed_run_says_why_in_words(make_window: Any) -> None:
    from PySide6.QtCore import Qt

    window = await make_window(connection="internet")
    tip = window.status_page.model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert "not compatible with Windows 11" in tip


async def test_the_run_waiting_to_resume_says_where_it_stands(make_window: Any, data_dir: Path) -> None:
    from core.runstate import RunState, RunStatus, save_state

    append_history(data_dir, entry("a", "NWT20001", "succeeded", started="08"))
    append_history(data_dir, entry("r1", "NWT20001", "restart_pending", started="09"))
    save_state(data_dir, RunState(
        run_id="r1", deployment="NWT20001", task_sequence="NWT00020", name="Upgrade to Windows 11 Enterprise 24H2",
        site=None, connection_setting="internet", launch_mode="software-center", started_at="2026-05-01T09:00:00+00:00",
        ip=8, executed=6, total=8, status=RunStatus.RESTART_PENDING,
    ))
    window = await make_window(connection="internet")
    window.show_page(Page.STATUS)
    model = window.status_page.model
    newest = model.index(0)
    assert newest.data() == "Upgrade to Windows 11 Enterprise 24H2"  # the deployment's name
    assert newest.data(HistoryRoles.DETAIL).startswith("Step 7 of 8 · ")  # the step at the saved pointer
    assert "Step" not in model.index(1).data(HistoryRoles.DETAIL)  # a finished run


async def test_a_run_opens_its_detail_and_retry_starts_it_through_the_question(make_window: Any,
                                                                            data_dir: Path) -> None:
    from dataclasses import replace

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QCheckBox

    from .conftest import until

    failed = replace(entry("b", "NWT20001", "failed", 0xC1900208, started="09"), reason="program_failed",
                     total_steps=6, steps=[
                         {"index": 1, "name": "Check Readiness", "status": "succeeded", "exit_code": 0},
                         {"index": 2, "name": "Upgrade Operating System", "status": "failed", "exit_code": 0xC1900208},
                     ])
    append_history(data_dir, failed)
    append_history(data_dir, entry("a", "NWT20005", "succeeded", started="10"))
    window = await make_window(connection="internet")
    started: list[str] = []
    window.controller.start = started.append
    window.show_page(Page.STATUS)
    page = window.status_page
    view = page.list_view

    # The succeeded run: no error, no Retry.
    view.setCurrentIndex(page.model.index(0))
    QTest.keyClick(view, Qt.Key.Key_Return)
    detail = page.detail
    assert detail is not None and detail.isVisible()
    assert not detail.retry_button.isVisibleTo(detail)
    assert not detail.values["error"].isVisibleTo(detail)
    detail.close_button.click()
    await until(lambda: page.detail is None, 5, "the detail closes")

    # The failed one: how long, its steps, the error with its code, the log, and Retry.
    view.setCurrentIndex(page.model.index(1))
    QTest.keyClick(view, Qt.Key.Key_Return)
    detail = page.detail
    assert detail is not None and detail.isVisible()
    assert detail.values["duration"].text() == "30 min"
    steps = detail.values["steps"].text()
    assert steps.startswith("1 of 6 steps finished") and "2. Upgrade Operating System: Failed" in steps
    assert "0xC1900208" in detail.values["error"].text()
    assert "not compatible with Windows 11" in detail.values["error"].text()
    assert detail.values["downloaded"].text() == "288 MB"
    assert detail.values["log"].text() == str(window.controller.log_path)
    retry = detail.retry_button
    assert retry.isVisibleTo(detail) and retry.isEnabled()
    retry.click()
    # The window's normal path: the question first (high impact), then the run.
    await until(lambda: window.confirm_dialog is not None and window.confirm_dialog.isVisible(), 5, "the question")
    assert started == []
    window.confirm_dialog.findChild(QCheckBox, "savedWorkCheck").setChecked(True)
    window.confirm_dialog.confirm_button.click()
    assert started == ["NWT20001"]
    assert window.current_page() is Page.PROGRESS


async def test_a_run_cancelled_mid_download_counts_what_it_downloaded(make_window: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the window and its agent: cancel while the upgrade media downloads; the run's
    row in Installation status counts the finished packages and the part cut short."""
    from core import DownloadStatus, RunOutcome

    from .conftest import until

    monkeypatch.setenv("SOFTWARE_CENTER_DEMO_RATE", "40")  # the agent serves the demo slowly enough to cancel
    window = await make_window()
    controller = window.controller
    controller.start("NWT20001", {"DemoSetupSeconds": "30"})

    def media() -> Any:
        return next((r.download for r in controller.bridge.rows if r.name == "Upgrade Operating System"
                     and r.download is not None and r.download.status is DownloadStatus.ACTIVE
                     and r.download.bytes > 20_000_000), None)

    partial = (await until(media, 90, "the upgrade media downloads")).bytes
    finished = sum(r.download.total_bytes for r in controller.bridge.rows
                   if r.download is not None and r.download.status is DownloadStatus.FINISHED)
    assert finished > 0
    await controller.cancel()
    await until(lambda: controller.last_result is not None, 30, "the run ends")
    assert controller.last_result.status is RunOutcome.CANCELLED
    window.show_page(Page.STATUS)
    model = window.status_page.model

    def cancelled() -> Any:
        return next((model.entry(r) for r in range(model.rowCount()) if model.entry(r).status == "cancelled"), None)

    entry_ = await until(cancelled, 20, "the cancelled run in the history")
    assert entry_.bytes_transferred >= finished + partial  # before: only the finished packages counted
