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
