"""The window as a whole: creation, automation names, site errors, confirmation, resume, closing mid-run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QLineEdit,
    QListView,
    QListWidget,
    QProgressBar,
    QPushButton,
    QWidget,
)

from core.runstate import RunState, RunStatus, save_state
from ui import create_main_window
from ui.confirm_dialog import ConfirmInstallDialog
from ui.main_window import Page

from .conftest import stop_agent, wait_for_signal

pytestmark = pytest.mark.asyncio

NAMES = {
    "navigation": QListWidget,
    "deploymentList": QListView,
    "searchBox": QLineEdit,
    "installButton": QPushButton,
    "connectionSelector": QComboBox,
    "progressView": QWidget,
    "overallProgress": QProgressBar,
    "stepList": QListView,
    "cancelButton": QPushButton,
}


async def test_create_main_window_returns_at_once_and_lists_in_the_background(data_dir: Path) -> None:
    window = create_main_window(None, data_dir, "internet")
    try:
        assert not window.loaded.done()  # nothing was awaited: the catalog loads in the background
        window.show()
        await asyncio.wait_for(window.loaded, 20)
        assert window.catalog_page.model.rowCount() == 8
        # The pages not shown at start are built on first use: visit them (Progress is
        # built when a run is followed; its navigation entry is hidden until then).
        window.show_page(Page.STATUS)
        window.show_page(Page.OPTIONS)
        assert window.progress_page is window.pages.widget(Page.PROGRESS)
        window.show_page(Page.CATALOG)
        for name, cls in NAMES.items():
            assert window.findChild(cls, name) is not None, name
        assert window.findChild(QWidget, "refusalLabel") is not None
        assert window.windowTitle().endswith("Northwind Traders IT")
    finally:
        window.close()
        await window.shutdown()
        await stop_agent(data_dir)  # the user's agent the window started for its data folder


async def test_unreachable_site_shows_a_message_and_retry(make_window: Any, tmp_path: Path, demo_site: Path) -> None:
    site = tmp_path / "site"  # a local site folder that is not there yet
    window = await make_window(site=str(site))
    assert window.catalog_area.currentIndex() == 1
    assert window.error_title.text()
    assert "catalog.json" in window.error_label.text()
    retry = window.findChild(QPushButton, "retryButton")
    assert retry.isVisibleTo(window)
    site.symlink_to(demo_site, target_is_directory=True)
    retry.click()
    await wait_for_signal(window.listed)
    assert window.catalog_page.model.rowCount() == 8

    down = await make_window(site="http://127.0.0.1:9/")  # nothing listens there
    assert down.catalog_area.currentIndex() == 1
    assert "can't reach" in down.error_title.text()


async def test_every_install_asks_first_and_high_impact_asks_explicitly(make_window: Any) -> None:
    window = await make_window(connection="internet")
    started: list[str] = []
    window.controller.start = started.append
    assert window.catalog_page.select("NWT20001")
    window.findChild(QPushButton, "installButton").click()
    dialog = window.confirm_dialog
    assert isinstance(dialog, ConfirmInstallDialog) and dialog.isVisible()
    confirm = dialog.findChild(QPushButton, "confirmInstallButton")
    assert dialog.high_impact
    assert not confirm.isEnabled()  # until the person says their work is saved
    assert dialog.restart_label is not None and dialog.restart_label.font().bold()
    dialog.findChild(QCheckBox, "savedWorkCheck").setChecked(True)
    assert confirm.isEnabled()
    assert started == []
    confirm.click()
    assert started == ["NWT20001"]
    assert window.current_page() is Page.PROGRESS  # non-modal: just another page
    assert not window.navigation.item(Page.PROGRESS).isHidden()

    # Cancelling the question starts nothing.
    window.show_page(Page.CATALOG)
    window.findChild(QPushButton, "installButton").click()
    window.confirm_dialog.findChild(QPushButton, "cancelInstallButton").click()
    assert started == ["NWT20001"]


async def test_normal_confirmation_has_the_install_button_ready(make_window: Any) -> None:
    window = await make_window(connection="internet")
    listing = window.catalog_page.model.listing(window.catalog_page.model.row_of("NWT20005"))
    calm = msgspec.structs.replace(listing.deployment, high_impact=False, restart_required=False)
    dialog = ConfirmInstallDialog(type(listing)(calm, listing.verdict, listing.total_bytes, listing.download_bytes),
                                  window)
    accepted: list[bool] = []
    dialog.accepted.connect(lambda: accepted.append(True))
    dialog.open()
    confirm = dialog.findChild(QPushButton, "confirmInstallButton")
    assert confirm.isEnabled() and confirm.isDefault()
    assert dialog.findChild(QCheckBox, "savedWorkCheck") is None
    assert dialog.restart_label is None
    confirm.click()
    assert accepted == [True]


async def test_saved_run_is_offered_for_resume_at_start(make_window: Any, data_dir: Path) -> None:
    save_state(data_dir, RunState(
        run_id="r1", deployment="NWT20001", task_sequence="NWT00020", name="Upgrade to Windows 11 Enterprise 24H2",
        site=None, connection_setting="internet", launch_mode="software-center", started_at="2026-05-01T10:00:00+00:00",
        executed=3, total=7, status=RunStatus.CANCELLED,
    ))
    window = await make_window(connection="internet")
    assert window.banner.isVisible()
    assert "step 4 of 7" in window.banner.text.text()
    # The catalog offers Resume for it, and nothing else may start before it finishes.
    page = window.catalog_page
    button = window.findChild(QPushButton, "installButton")
    page.select("NWT20001")
    assert button.text().replace("&", "") == "Resume" and button.isEnabled()
    page.select("NWT20005")
    assert not button.isEnabled()
    assert "Resume it first" in window.findChild(QWidget, "refusalLabel").text()

    resumed: list[bool] = []
    window.controller.resume = lambda: resumed.append(True)
    window.findChild(QPushButton, "bannerResumeButton").click()
    assert resumed == [True]
    assert not window.banner.isVisible()
    assert window.current_page() is Page.PROGRESS


async def test_keyboard_pages_and_accessible_names(make_window: Any) -> None:
    window = await make_window(connection="internet")
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() is Page.STATUS
    QTest.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() is Page.OPTIONS
    QTest.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() is Page.CATALOG
    unnamed = []
    for page in (window.catalog_page, window.options_page, window.status_page, window.connection_chip.parent()):
        for w in page.findChildren(QWidget):
            if isinstance(w, (QAbstractButton, QComboBox, QLineEdit, QListView)) and w.isVisibleTo(window):
                if not (w.accessibleName() or (isinstance(w, QAbstractButton) and w.text())):
                    unnamed.append(w.objectName() or type(w).__name__)
    assert unnamed == []


@pytest.mark.parametrize(("value", "expected"), [
    (None, 20e6), ("0", None), ("12.5", 12.5e6), ("fast", 20e6), ("-3", 20e6),
])
async def test_demo_site_rate_is_watchable_by_default_and_overridable(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: float | None
) -> None:
    from core import demo_rate_bps

    if value is None:
        monkeypatch.delenv("SOFTWARE_CENTER_DEMO_RATE", raising=False)
    else:
        monkeypatch.setenv("SOFTWARE_CENTER_DEMO_RATE", value)
    assert demo_rate_bps() == expected


async def test_a_name_holding_a_placeholder_is_shown_as_it_is(make_window: Any, data_dir: Path) -> None:
    # Filled one placeholder after another, "%2" in the name became the step number.
    save_state(data_dir, RunState(
        run_id="r1", deployment="NWT20001", task_sequence="NWT00020", name="Pilot %2 ring",
        site=None, connection_setting="internet", launch_mode="software-center", started_at="2026-05-01T10:00:00+00:00",
        executed=3, total=8, status=RunStatus.CANCELLED,
    ))
    window = await make_window(connection="internet")
    assert "“Pilot %2 ring” was stopped at step 4 of 8." in window.banner.text.text()


async def test_pages_not_shown_at_start_are_built_on_first_use_in_their_place(make_window: Any, data_dir: Path) -> None:
    window = await make_window()
    names = {Page.STATUS: "statusPage", Page.OPTIONS: "optionsPage", Page.PROGRESS: "progressView"}
    assert window.pages.count() == len(Page)
    for page, name in names.items():  # an empty widget holds each one's place until then
        assert window.pages.widget(page).objectName() != name
    window.show_page(Page.OPTIONS)
    assert window.pages.currentWidget() is window.options_page
    # What was known before the page existed: the detected connection, the site, the folder.
    assert "Internet" in window.options_page.detected_label.text()
    assert "demo" in window.options_page.site_field.text().lower()
    assert window.options_page.data_field.text() == str(data_dir)
    window.show_page(Page.STATUS)
    assert window.pages.currentWidget() is window.status_page
    assert window.progress_page.objectName() == "progressView"
    assert window.pages.currentWidget() is window.status_page  # building one leaves the shown page shown
    assert window.pages.count() == len(Page)
    for page, name in names.items():
        assert window.pages.widget(page).objectName() == name
