"""The window with the keyboard only, on the real window with its real agent: Enter in the
high-impact question, visible focus on every focusable control, the first focus and the
Tab order, no unnamed Tab stops, and moving from the search box into the results."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QPushButton, QWidget

from ui.main_window import Page

from .conftest import until

pytestmark = pytest.mark.asyncio


async def test_ticking_the_saved_work_box_makes_enter_install(make_window: Any) -> None:
    window = await make_window()
    started: list[str] = []
    window.controller.start = started.append
    assert window.catalog_page.select("NWT20001")
    window.findChild(QPushButton, "installButton").click()
    dialog = window.confirm_dialog
    await until(dialog.isVisible, 5, "the question")
    check = dialog.findChild(QCheckBox, "savedWorkCheck")
    confirm = dialog.findChild(QPushButton, "confirmInstallButton")
    cancel = dialog.findChild(QPushButton, "cancelInstallButton")
    assert cancel.isDefault() and not confirm.isDefault()  # before the tick, Enter cancels
    QTest.keyClick(check, Qt.Key.Key_Space)
    assert check.isChecked() and confirm.isEnabled()
    assert confirm.isDefault() and not cancel.isDefault()
    QTest.keyClick(check, Qt.Key.Key_Return)
    await until(lambda: started == ["NWT20001"], 5, "Enter installs")
    assert window.current_page() is Page.PROGRESS


async def focused_window(make_window: Any) -> Any:
    window = await make_window()
    window.activateWindow()
    await until(lambda: QApplication.activeWindow() is window, 5, "the window is active")
    await asyncio.sleep(0)
    return window


def looks_different_with_focus(widget: Any, elsewhere: Any, area: Any = None) -> bool:
    """Whether `widget` (or its `area`, e.g. a view's viewport) is drawn differently with the focus."""
    area = area or widget
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    assert widget.hasFocus(), widget.objectName()
    focused = area.grab().toImage()
    elsewhere.setFocus(Qt.FocusReason.TabFocusReason)
    assert not widget.hasFocus()
    unfocused = area.grab().toImage()
    return focused != unfocused


async def test_focus_is_visible_on_every_focusable_control(make_window: Any) -> None:
    window = await focused_window(make_window)
    page = window.catalog_page
    page.select("NWT20001")
    search = page.search_box
    checked: list[str] = []
    for widget, area in ((window.navigation, window.navigation.viewport()),
                         (page.list_view, page.list_view.viewport()),
                         (window.connection_chip, None), (window.trust_chip, None),
                         (page.list_button, None), (page.tile_button, None)):
        assert widget.focusPolicy() != Qt.FocusPolicy.NoFocus
        assert looks_different_with_focus(widget, search, area), widget.objectName()
        checked.append(widget.objectName())
    assert checked == ["navigation", "deploymentList", "connectionChip", "trustChip", "listViewButton",
                       "tileViewButton"]


async def test_first_focus_is_the_search_box_and_tab_follows_the_visual_order(make_window: Any) -> None:
    window = await focused_window(make_window)
    page = window.catalog_page
    await until(lambda: page.search_box.hasFocus(), 5, "the first focus in the search box")
    order = []
    for _ in range(14):
        widget = QApplication.focusWidget()
        order.append(widget.objectName())
        # Every Tab stop has a name for assistive technology (no bare scroll area).
        assert widget.accessibleName() or getattr(widget, "text", lambda: "")(), widget
        QTest.keyClick(widget, Qt.Key.Key_Tab)
    # The list / tiles pair is one stop (its checked button; the arrow keys choose), as radio buttons are.
    assert order[:8] == ["searchBox", "filterSelector", "sortSelector", "listViewButton",
                         "deploymentList", "installButton", "trustChip", "connectionChip"]
    assert order[8:10] == ["navigation", "searchBox"]  # and round again
    # Left to right, top to bottom: each stop's place on screen agrees with the order.
    def place(name: str) -> Any:
        w = window.findChild(QWidget, name)
        return w.mapTo(window, w.rect().topLeft())
    assert place("filterSelector").x() > place("searchBox").x()
    assert place("deploymentList").y() > place("searchBox").y()
    assert place("installButton").x() > place("deploymentList").x()


async def test_down_and_enter_in_the_search_box_move_into_the_results(make_window: Any) -> None:
    window = await focused_window(make_window)
    page = window.catalog_page
    page.focus_search()
    QTest.keyClicks(page.search_box, "finance")
    await until(lambda: page.proxy.rowCount() == 1, 5, "one result")
    QTest.keyClick(page.search_box, Qt.Key.Key_Down)
    assert page.list_view.hasFocus()
    assert page.current_id() == "NWT20004"
    page.focus_search()
    QTest.keyClicks(page.search_box, "24H2")
    await until(lambda: page.proxy.rowCount() > 1, 5, "the results")
    QTest.keyClick(page.search_box, Qt.Key.Key_Return)
    assert page.list_view.hasFocus() and page.list_view.currentIndex().isValid()


async def test_no_scroll_area_is_an_unnamed_tab_stop(make_window: Any) -> None:
    from PySide6.QtWidgets import QAbstractScrollArea

    window = await make_window()
    pages = [window.catalog_page, window.status_page, window.options_page]
    unnamed = [f"{type(area).__name__} in {page.objectName()}"
               for page in pages for area in page.findChildren(QAbstractScrollArea)
               if area.isVisibleTo(page)  # not a combo box's closed pop-up
               and area.focusPolicy() & Qt.FocusPolicy.TabFocus and not area.accessibleName()]
    assert unnamed == []
