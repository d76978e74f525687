"""Run states that never dead-end, through the real window, a real agent process and the
real demo site on loopback: the restart countdown's Restart now and Snooze, a failure
that leads somewhere (Retry, the blocking app, advice by cause), a paused run whose
Progress page stays reachable, and the progress page for end users (summary first, the
log behind Show details, a page that scrolls), at 800×600 and at the minimum size."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton, QWidget

from core import AgentClient, ErrorCode, RunOutcome, RunStatus
from ui.announce import last_announcement
from ui.failure_view import FailureView
from ui.main_window import Page
from ui.step_model import Roles, StepState

from .conftest import until

UPGRADE = "Upgrade Operating System"


def state_of(window: Any, name: str) -> StepState | None:
    return next((r.state for r in window.controller.bridge.rows if r.name == name), None)


async def agent_run(window: Any) -> dict[str, Any]:
    async with AgentClient(window.engine.place.socket) as client:
        return dict(await client.current() or {})


def press(widget: QWidget, key: Qt.Key = Qt.Key.Key_Space) -> None:
    """A key on a widget, as the keyboard gives it (Space clicks a button)."""
    widget.setFocus()
    QTest.keyClick(widget, key)


def overlaps(widgets: list[QWidget], within: QWidget) -> list[tuple[str, str]]:
    """Pairs of visible widgets whose rectangles (in `within`'s coordinates) intersect."""
    shown = [w for w in widgets if w.isVisibleTo(within) and w.width() > 0 and w.height() > 0]
    rects = [(w, QRect(w.mapTo(within, w.rect().topLeft()), w.size())) for w in shown]
    found = []
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1:]:
            if ra.intersects(rb):
                found.append((a.objectName(), b.objectName()))
    return found


@pytest.mark.asyncio
async def test_the_restart_countdown_offers_restart_now_and_snooze_never_a_dead_end(make_window: Any) -> None:
    window = await make_window()
    window.resize(800, 600)
    c = window.controller
    c.start("NWT20001", {"DemoSetupSeconds": "1"})
    page = window.progress_page
    countdown = page.countdown
    await until(lambda: c.counting_down and countdown.isVisible(), 120, "the restart countdown")
    # The step's countdown (15 s), in step with the agent's.
    assert countdown.countdown_label.text().startswith("Restarting in ")
    assert last_announcement(countdown) is not None and "Restarting in" in last_announcement(countdown)
    # Restart now and Snooze; no Cancel (nothing runs: a restart is not cancelled).
    assert countdown.findChild(QPushButton, "restartNowButton").isVisible()
    snooze = countdown.findChild(QPushButton, "snoozeButton")
    assert snooze.isVisible()
    choice = countdown.snooze_choice
    assert [choice.itemText(i) for i in range(choice.count())] == ["15 minutes", "1 hour", "4 hours"]
    assert not page.cancel_button.isVisible()
    assert "Choose Resume" not in page.banner_label.text() or page.resume_button.isVisible()
    assert page.summary_label.text() == "Restarting the computer to continue"
    # Nothing may start meanwhile, and the window says why (not a silent Install).
    assert window._run_active()

    # Snooze by an hour, with the keyboard.
    choice.setFocus()
    QTest.keyClick(choice, Qt.Key.Key_Down)
    assert choice.currentData() == 60
    press(snooze)
    await until(lambda: c.snoozed_until is not None, 20, "the snooze")
    assert not c.counting_down
    assert countdown.countdown_label.text() == "Restart your computer to continue"
    assert "postponed until" in countdown.note_label.text()
    assert countdown.restart_button.isVisible()  # the way on
    assert page.summary_label.text() == "Waiting for you to restart the computer"
    assert not page.cancel_button.isVisible() and not page.resume_button.isVisible()
    assert "Restart your computer to continue" in (last_announcement(countdown) or "")
    for size in ((800, 600), (window.minimumSize().width(), window.minimumSize().height())):
        window.resize(*size)
        await asyncio.sleep(0.05)
        parts = [countdown.countdown_label, countdown.message_label, countdown.note_label, countdown.restart_button,
                 snooze, choice]
        assert overlaps(parts, countdown) == [], size
        for label in (countdown.countdown_label, countdown.message_label, countdown.note_label):
            assert label.heightForWidth(label.width()) <= label.height() + 1, (size, label.objectName())
    run = await agent_run(window)
    assert run["status"] == "restart_pending" and run["restart"]["snoozed_until"] is not None
    assert window._run_active()  # still a restart to carry out
    # Install elsewhere says why it cannot start now: a restart is pending.
    window.catalog_page.select("NWT20006")
    details = window.catalog_page.details
    assert not details.install_button.isEnabled()
    assert details.refusal_label.text().startswith("A restart is pending: “Upgrade to Windows 11 Enterprise 24H2”")

    # Restart now: the simulated restart is over at once and the run goes on to its end.
    press(countdown.restart_button)
    await until(lambda: c.header.status is RunStatus.SUCCEEDED, 120, "the run's end after Restart now")
    await until(lambda: c.last_result is not None and c.last_result.status is RunOutcome.SUCCEEDED, 20)
    assert not countdown.isVisible()
    assert c.snoozed_until is None
    assert not page.cancel_button.isVisible()


@pytest.mark.asyncio
async def test_a_failure_names_the_blocking_app_retries_and_fits_small_windows(make_window: Any) -> None:
    window = await make_window()
    c = window.controller
    c.start("NWT20008", {"DemoSetupSeconds": "1"})
    page = window.progress_page
    f = page.failure
    await until(lambda: f.isVisibleTo(page) and c.last_result is not None, 120, "the failure")
    first = (await agent_run(window))["run_id"]
    assert f.findChild(QPushButton, "retryButton").isVisible()
    assert f.blocking_app == "Northwind Legacy VPN 3.1"
    assert f.blocker_label.text() == "The app that blocks it, as Windows Setup names it: “Northwind Legacy VPN 3.1”."
    # The engine's English only under Details, and not the same words twice.
    assert not f.details.isVisible()
    assert "blocking the upgrade" not in f.cause_label.text() + f.advice_label.text()
    # No disabled Cancel left behind; the bar stops looking busy.
    assert not page.cancel_button.isVisible()
    assert not page.overall.isEnabled()
    assert page.summary_label.text() == "Stopped: the upgrade could not finish"
    assert "could not finish" in (last_announcement(f) or "")

    for size in ((800, 600), (window.minimumSize().width(), window.minimumSize().height())):
        window.resize(*size)
        await asyncio.sleep(0.05)
        parts = [f.heading, f.cause_label, f.blocker_label, f.advice_label, f.step_label,
                 f.retry_button, f.details_button, f.open_log_button]
        assert overlaps(parts, f) == [], size
        for label in (f.cause_label, f.blocker_label, f.advice_label):
            assert label.heightForWidth(label.width()) <= label.height() + 1, (size, label.objectName())
        # The failed step is in view of the scrolling page.
        failed = page._failed_row()
        assert failed is not None
        page.show_row(failed)
        await asyncio.sleep(0.05)
        assert page.row_in_view(failed), size

    # Retry starts the deployment again through the agent.
    press(f.retry_button)
    await until(lambda: c.running, 20, "the run again")
    assert not f.isVisibleTo(page)
    await until(lambda: c.last_result is not None and f.isVisibleTo(page), 120, "the second failure")
    assert (await agent_run(window))["run_id"] != first


def test_advice_follows_the_cause_content_missing_is_not_a_connection_problem(qtbot: Any, tmp_path: Path) -> None:
    view = FailureView(tmp_path / "smsts.log")
    qtbot.addWidget(view)
    view.show_failure(ErrorCode.CONTENT_MISSING, 0x80091007,
                      "NWT00012: sources/install.wim is missing on the server at every location (…: HTTP 404)")
    assert "missing on your organization's server" in view.cause_label.text()
    assert "connection" not in view.advice_label.text()
    assert "IT department" in view.advice_label.text()
    assert view.detail_label.text().startswith("Details: sources/install.wim is missing")  # no package ID
    view.show_failure(ErrorCode.CONTENT_UNAVAILABLE, 0x80091007, "NWT00012: every location failed")
    assert "internet connection" in view.advice_label.text()


@pytest.mark.asyncio
async def test_a_paused_run_keeps_its_progress_page_with_the_way_on(make_window: Any) -> None:
    window = await make_window()
    c = window.controller
    c.start("NWT20001", {"DemoSetupSeconds": "30"})
    await until(lambda: c.running and state_of(window, UPGRADE) is StepState.RUNNING, 120, "the upgrade step")
    page = window.progress_page
    assert page.cancel_button.isVisible() and page.cancel_button.isEnabled()
    page.ask_cancel()
    page.confirmation.findChild(QPushButton, "confirmCancelButton").click()
    await until(lambda: c.last_result is not None, 30, "cancelled")
    await until(lambda: page.resume_button.isVisibleTo(page), 10, "Resume")
    assert not page.cancel_button.isVisible()
    assert page.summary_label.text() == "Paused: you can continue it from where it stopped"
    window.close()
    await window.shutdown()

    again = await make_window()
    await until(lambda: again._history_read, 20, "the history")
    assert not again.navigation.item(Page.PROGRESS).isHidden()  # still reachable
    again.show_page(Page.PROGRESS)
    p = again.progress_page
    assert p.title_label.text() == "Cancelled: Upgrade to Windows 11 Enterprise 24H2"
    assert p.resume_button.isVisibleTo(p)
    assert not p.cancel_button.isVisible()
    press(p.resume_button)
    await until(lambda: again.controller.running, 20, "resumed")


@pytest.mark.asyncio
async def test_the_progress_page_summary_first_log_behind_details_and_a_page_that_scrolls(
        make_window: Any) -> None:
    window = await make_window()
    window.resize(800, 600)
    c = window.controller
    c.start("NWT20001", {"DemoSetupSeconds": "30"})
    page = window.progress_page
    await until(lambda: c.running and state_of(window, UPGRADE) is StepState.RUNNING, 120, "the upgrade step")
    assert page.title_label.objectName() == "runTitle"
    await until(lambda: page.summary_label.text() == "Installing the upgrade", 5, "the phase in words")
    # The summary comes before the steps.
    assert page.summary_label.mapTo(page, page.summary_label.rect().topLeft()).y() < \
        page.step_list.mapTo(page, page.step_list.rect().topLeft()).y()
    # Every step row fits the list: the page scrolls, the list is not squeezed to one row.
    rows = c.model.rowCount()
    assert rows > 8
    assert page.step_list.height() >= sum(page.step_list.sizeHintForRow(i) for i in range(rows))
    assert page.page_scroll.verticalScrollBar().maximum() > 0
    # The log is collapsed behind Show details.
    log_view = page.findChild(QWidget, "logView")
    assert not log_view.isVisible()
    press(page.show_log_button)
    await until(lambda: log_view.isVisible() and log_view.toPlainText(), 10, "the log")
    press(page.show_log_button)
    assert not log_view.isVisible()
    # The step under way was announced.
    assert "Upgrade Operating System" in (last_announcement(page.step_list) or "")
    # Focus in the step list is drawn (the delegate paints State_HasFocus).
    page.step_list.setFocus()
    page.step_list.setCurrentIndex(c.model.index(1))
    image = page.step_list.viewport().grab().toImage()
    rect = page.step_list.visualRect(c.model.index(1))
    assert image.pixelColor(rect.left(), rect.center().y()) != image.pixelColor(rect.left() + 3, rect.center().y())
    await c.cancel()
    await until(lambda: not c.running, 30)
    assert c.model.data(c.model.index(0), Roles.STATE) is not None


@pytest.mark.asyncio
async def test_switching_language_with_the_window_open_updates_every_label_on_the_run_pages(
        make_window: Any) -> None:
    window = await make_window()
    c = window.controller
    c.start("NWT20008", {"DemoSetupSeconds": "1"})
    page = window.progress_page
    f = page.failure
    await until(lambda: f.isVisibleTo(page) and c.last_result is not None, 120, "the failure")
    f.open_log()  # offscreen there is no desktop: the path is shown
    assert f.log_label.text().startswith("The log is in ")
    busy = []
    c.problem.connect(busy.append)
    c._say(lambda: c.tr("The software catalog is not loaded yet. Try again in a moment."))
    assert page.banner_label.text() == "The software catalog is not loaded yet. Try again in a moment."
    window.set_language("es")
    await asyncio.sleep(0.05)
    assert f.log_label.text().startswith("El registro está en ")
    assert f.retry_button.text().replace("&", "") == "Reintentar"
    assert page.show_log_button.text().replace("&", "") == "Mostrar detalles"
    assert page.banner_label.text() != "The software catalog is not loaded yet. Try again in a moment."
    assert page.summary_label.text() == "Detenido: la actualización no pudo terminar"
    window.set_language("en")


@pytest.mark.asyncio
async def test_a_download_before_step_one_is_its_own_row_and_every_row_settles_on_cancel(
        make_window: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOFTWARE_CENTER_DEMO_RATE", "20")  # the agent serves the demo slowly enough to cancel
    window = await make_window()
    c = window.controller
    c.start("NWT20005", {"DemoSetupSeconds": "1"})  # download: all_before_start
    page = window.progress_page
    m = c.model

    def prefetch_row() -> Any:
        rows = c.bridge.rows
        return rows[0] if rows else None

    await until(lambda: prefetch_row() is not None and prefetch_row().state is StepState.DOWNLOADING
                and prefetch_row().download is not None and prefetch_row().download.bytes > 0, 60,
                "the download before step 1")
    await until(lambda: m.rowCount() and m.data(m.index(0), Roles.STATE) is StepState.DOWNLOADING, 5)
    assert m.data(m.index(0)) == "Downloading content before the first step"
    # The header says it, and no step of the task sequence carries it.
    await until(lambda: "Downloading content before the first step" in page.step_label.text(), 5, "the header")
    assert page.summary_label.text().startswith("Downloading content")
    assert "Preparing" not in page.step_label.text()
    assert [r.name for r in c.bridge.rows[1:] if r.state is not StepState.PENDING or r.download is not None] == []

    page.ask_cancel()
    page.confirmation.findChild(QPushButton, "confirmCancelButton").click()
    await until(lambda: c.last_result is not None, 30, "cancelled")
    assert c.last_result.status is RunOutcome.CANCELLED
    await until(lambda: not c.running, 10)
    # Every row and group has settled: nothing says Downloading or Running any more.
    for i in range(m.rowCount()):
        state = m.data(m.index(i), Roles.STATE)
        assert state not in (StepState.DOWNLOADING, StepState.RUNNING), m.data(m.index(i))
        assert m.data(m.index(i), Roles.STATUS_TEXT) not in ("Downloading", "Running")
        assert m.data(m.index(i), Roles.FRACTION) is None
    assert m.data(m.index(0), Roles.STATE) is StepState.PENDING  # it runs again on resume
    assert page.summary_label.text() == "Paused: you can continue it from where it stopped"
    assert page.resume_button.isVisibleTo(page) and not page.cancel_button.isVisible()


def test_a_long_package_name_is_elided_before_the_download_figures(qtbot: Any) -> None:
    from PySide6.QtGui import QFont, QFontMetrics

    from core import DownloadStatus
    from ui.step_delegate import elide_keeping_figures
    from ui.step_model import DownloadInfo
    from ui.wording import package_download_text

    name = "Windows 11 Enterprise 24H2 upgrade media for the finance department's laptops (x64, all languages)"
    dl = DownloadInfo("NWT00012", name, 120 << 20, 256 << 20, rate_bps=3.5e6, eta_s=40)
    text = package_download_text(name, dl.bytes, dl.total_bytes, DownloadStatus.ACTIVE, rate_bps=dl.rate_bps,
                                 eta_s=dl.eta_s)
    fm = QFontMetrics(QFont())
    figures = text[len(name):]
    width = fm.horizontalAdvance(figures) + fm.horizontalAdvance("Windows…")
    shown = elide_keeping_figures(fm, text, dl, width)
    assert shown.endswith(figures) and "…" in shown  # the name lost characters, not the figures
    assert "120 MB of 256 MB" in shown and "s left" in shown
    assert fm.horizontalAdvance(shown) <= width
