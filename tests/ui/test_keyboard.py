"""The window with the keyboard only, on the real window with its real agent: Enter in the
high-impact question, visible focus on every focusable control, the first focus and the
Tab order, no unnamed Tab stops, and moving from the search box into the results."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QPushButton

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
