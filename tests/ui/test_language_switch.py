"""Switching the language with the window open updates every label of the catalog, details,
Installation status and Options pages and the window's own: each text is what a window
opened in that language shows. And the dark palette keeps progress-bar troughs visible."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QLineEdit, QListWidget, QWidget

from ui.main_window import Page

from .conftest import prefs_file

pytestmark = pytest.mark.asyncio


def _path(widget: QWidget, root: QWidget) -> str:
    parts = []
    w: QWidget | None = widget
    while w is not None and w is not root:
        parent = w.parentWidget()
        siblings = [c for c in (parent.findChildren(QWidget) if parent else []) if c.parentWidget() is parent
                    and type(c) is type(w)]
        parts.append(f"{type(w).__name__}:{w.objectName()}:{siblings.index(w) if w in siblings else 0}")
        w = parent
    return "/".join(reversed(parts))


def texts(window: Any) -> dict[str, tuple[str, ...]]:
    """Every user-visible text of the window's widgets, by the widget's place in the tree."""
    out: dict[str, tuple[str, ...]] = {}
    for w in window.findChildren(QWidget):
        if not w.isVisibleTo(window):
            continue
        parts: list[str] = [w.toolTip(), w.accessibleName(), w.accessibleDescription()]
        if isinstance(w, (QLabel, QAbstractButton)):
            parts.append(w.text())
        if isinstance(w, QLineEdit):
            parts.append(w.placeholderText())
        if isinstance(w, QComboBox):
            parts.extend(w.itemText(i) for i in range(w.count()))
        if isinstance(w, QListWidget):
            parts.extend(f"{w.item(i).text()}|{w.item(i).toolTip()}" for i in range(w.count()))
        out[_path(w, window)] = tuple(parts)
    out["windowTitle"] = (window.windowTitle(),)
    return out


async def visit(window: Any, deployment: str) -> None:
    window.resize(1120, 720)
    for page in (Page.STATUS, Page.OPTIONS, Page.CATALOG):
        window.show_page(page)
        await asyncio.sleep(0.3)  # the history and the cache usage are read from the agent
    assert window.catalog_page.select(deployment)
    await asyncio.sleep(0.1)


@pytest.mark.parametrize("deployment", ["NWT20004", "NWT20006"])
async def test_switching_the_language_updates_every_label(make_window: Any, data_dir: Path, tmp_path: Path,
                                                          deployment: str) -> None:
    window = await make_window()
    await visit(window, deployment)
    english = texts(window)
    window.options_page.language_changed.emit("es")  # as choosing Español in Options does
    await asyncio.sleep(0.1)
    switched = texts(window)
    assert switched["windowTitle"] == english["windowTitle"] or switched != english

    # A window opened in Spanish, on the same data folder (its agent, its history), at the same place.
    assert json.loads(prefs_file().read_text())["language"] == "es"
    fresh = await make_window()
    await visit(fresh, deployment)
    expected = texts(fresh)
    stale = {path: (switched.get(path), value) for path, value in expected.items() if switched.get(path) != value}
    assert stale == {}


async def test_switching_the_language_updates_the_site_error(make_window: Any) -> None:
    down = "http://127.0.0.1:9/"  # nothing listens there
    window = await make_window(site=down)
    assert window.catalog_area.currentIndex() == 1
    english = texts(window)
    window.set_language("es")
    await asyncio.sleep(0.1)
    switched = texts(window)
    assert switched != english
    fresh = await make_window(site=down)
    expected = texts(fresh)
    stale = {path: (switched.get(path), value) for path, value in expected.items() if switched.get(path) != value}
    assert stale == {}


@pytest.fixture
def dark_palette() -> Any:
    """A dark system palette (as Breeze Dark's), for the test's windows; the old one after."""
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    old = app.palette()
    dark = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#202326", QPalette.ColorRole.WindowText: "#fcfcfc",
        QPalette.ColorRole.Base: "#141618", QPalette.ColorRole.AlternateBase: "#1d1f22",
        QPalette.ColorRole.Text: "#fcfcfc", QPalette.ColorRole.Button: "#292c30",
        QPalette.ColorRole.ButtonText: "#fcfcfc", QPalette.ColorRole.Highlight: "#3daee9",
        QPalette.ColorRole.HighlightedText: "#fcfcfc", QPalette.ColorRole.Mid: "#3a3e43",
        QPalette.ColorRole.Midlight: "#33373b", QPalette.ColorRole.Dark: "#101112",
        QPalette.ColorRole.Light: "#40454a", QPalette.ColorRole.Shadow: "#0a0b0c",
        QPalette.ColorRole.PlaceholderText: "#a1a9b1",
    }
    for role, color in colors.items():
        dark.setColor(role, QColor(color))
    app.setPalette(dark)
    yield dark
    app.setPalette(old)


def contrast(a: Any, b: Any) -> float:
    """The WCAG contrast ratio of two colors (1: the same; 21: black on white)."""
    def luminance(c: Any) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("when", ["dark at start", "switched to dark with the window open"])
async def test_a_dark_palette_keeps_the_progress_trough_visible(make_window: Any, request: Any, when: str) -> None:
    from PySide6.QtGui import QPalette

    if when == "dark at start":
        request.getfixturevalue("dark_palette")
    window = await make_window()
    page = window.progress_page
    window.pages.setCurrentWidget(page)
    bar = page.overall
    bar.setValue(bar.minimum() + (bar.maximum() - bar.minimum()) * 3 // 10)
    await asyncio.sleep(0.1)
    if when != "dark at start":
        request.getfixturevalue("dark_palette")
        await asyncio.sleep(0.1)
    assert bar.isVisible()
    assert bar.parentWidget().palette().color(QPalette.ColorRole.Window).name() == "#202326"
    image = bar.grab().toImage()
    background = bar.parentWidget().palette().color(QPalette.ColorRole.Window)
    trough = image.pixelColor(image.width() * 9 // 10, image.height() // 2)
    chunk = image.pixelColor(image.width() // 10, image.height() // 2)
    edge = image.pixelColor(image.width() * 9 // 10, 0)
    # The empty part shows against the window (the style's own trough: 1.15), its outline
    # as a component's edge should (3:1), and the filled part stands out from the trough.
    assert contrast(trough, background) >= 1.5, (trough.name(), background.name())
    assert contrast(edge, background) >= 3, (edge.name(), background.name())
    assert contrast(chunk, trough) >= 2, (chunk.name(), trough.name())


async def test_an_open_run_detail_and_the_deadline_follow_the_language(make_window: Any, data_dir: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from core.runstate import HistoryEntry, append_history

    append_history(data_dir, HistoryEntry(
        "r1", "NWT20001", "Upgrade to Windows 11 Enterprise 24H2", "2026-05-01T09:00:00+00:00",
        "2026-05-01T09:40:00+00:00", "failed", "setup failed", 0xC1900208, 1000, "program_failed", 6, []))
    window = await make_window()
    window.show_page(Page.STATUS)
    view = window.status_page.list_view
    await asyncio.sleep(0.2)
    view.setCurrentIndex(window.status_page.model.index(0))
    QTest.keyClick(view, Qt.Key.Key_Return)
    detail = window.status_page.detail
    assert detail is not None and detail.retry_button.text() == "&Retry"
    window.set_language("es")
    await asyncio.sleep(0.1)
    assert detail.retry_button.text() == "&Reintentar"
    assert detail._labels["duration"].text() == "Duración"
    assert detail.values["duration"].text() == "40 min"
    detail.close_button.click()
    window.show_page(Page.CATALOG)
    window.catalog_page.select("NWT20006")  # its deadline: in some months
    deadline = window.catalog_page.details._fact_values["deadline"].text()
    assert " días)" in deadline or " día)" in deadline, deadline
