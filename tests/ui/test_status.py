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
