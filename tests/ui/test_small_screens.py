"""The window at 800×600 and at its minimum size (sizes through resize()): names elide
instead of being clipped, no horizontal scroll bar, the refusal reads as a paragraph, the
toolbar's controls never overlap, the navigation collapses to its icons, and a status line
keeps its size in bytes when it must be shortened. Geometry is measured, not looked at."""

from __future__ import annotations

import asyncio
import json
from itertools import combinations
from typing import Any

import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QWidget

from ui.deployment_model import Roles

from .conftest import prefs_file

pytestmark = pytest.mark.asyncio


def rect_in(window: Any, widget: QWidget) -> QRect:
    return QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("size", ["800x600", "minimum"])
async def test_the_catalog_fits_a_small_window(make_window: Any, size: str, language: str) -> None:
    prefs_file().write_text(json.dumps({"language": language}))  # Spanish labels are longer
    window = await make_window()
    target = window.minimumSize() if size == "minimum" else QSize(800, 600)
    window.resize(target)
    await settle()
    assert window.size() == target
    page = window.catalog_page
    view = page.list_view

    # Rows are as wide as the list, never wider: no horizontal scroll bar, names elide.
    assert not view.horizontalScrollBar().isVisible()
    assert not window.navigation.horizontalScrollBar().isVisible()
    width = view.viewport().width()
    for row in range(page.proxy.rowCount()):
        rect = view.visualRect(page.proxy.index(row, 0))
        assert rect.left() >= 0 and rect.right() < width, (row, rect, width)
    # ... so the delegate elides each name to the row's width instead of drawing past it
    assert all(view.visualRect(page.proxy.index(r, 0)).width() == width for r in range(page.proxy.rowCount()))

    # Below about 900 px the navigation shows its icons only (names in tool tips, for screen readers).
    nav = window.navigation
    assert nav.width() <= 64
    assert all(nav.item(i).text() == "" and nav.item(i).toolTip() for i in range(3))

    # The toolbar: no two controls overlap, and each is inside the page.
    controls = [page.search_box, page.filter_label, page.filter_combo, page.sort_label, page.sort_combo,
                page.list_button, page.tile_button]
    rects = [rect_in(window, w) for w in controls]
    for (a, ra), (b, rb) in combinations(zip(controls, rects, strict=True), 2):
        assert not ra.intersects(rb), (a.objectName() or a.text(), b.objectName() or b.text())
    page_rect = rect_in(window, page)
    assert all(page_rect.contains(r) for r in rects)
    assert page.search_box.width() >= 160

    # The details pane fits its width: no horizontal scroll bar there either.
    from PySide6.QtWidgets import QScrollArea

    details_area = page.details.findChild(QScrollArea)
    assert not details_area.horizontalScrollBar().isVisible()
    # ... and no fact is cut at its right: each value's longest word fits the width it has.
    inside = details_area.viewport().width()
    for value in page.details._fact_values.values():
        if value.isVisibleTo(page.details) and value.text():
            right = value.mapTo(details_area.widget(), value.rect().topRight()).x()
            assert right <= inside, (value.objectName(), right, inside)
            longest = max(QFontMetrics(value.font()).horizontalAdvance(word) for word in value.text().split())
            assert longest <= value.width(), (value.objectName(), value.text(), value.width())

    # A refusal reads as a paragraph under the button, not a column of single words.
    assert page.select("NWT20003")
    await settle()
    label = page.details.refusal_label
    assert label.isVisible()
    assert label.width() >= page.details.width() * 0.6
    fm = QFontMetrics(label.font())
    lines = fm.boundingRect(QRect(0, 0, label.width(), 10_000), 0x1000, label.text()).height() // fm.lineSpacing()
    assert lines <= 7, lines  # the old layout took 16 lines at 800 px
    assert not rect_in(window, label).intersects(rect_in(window, page.details.install_button))


async def test_the_navigation_collapses_below_900_px_and_comes_back(make_window: Any) -> None:
    window = await make_window()
    window.resize(1000, 700)
    await settle()
    assert window.navigation.width() == 220 and window.navigation.item(0).text() == "Operating Systems"
    window.resize(880, 700)
    await settle()
    assert window.navigation.width() <= 64 and window.navigation.item(0).text() == ""
    assert window.navigation.item(0).toolTip().startswith("Operating Systems")
    window.resize(1000, 700)
    await settle()
    assert window.navigation.width() == 220 and window.navigation.item(0).text() == "Operating Systems"


async def test_a_short_status_line_keeps_its_size_in_bytes(make_window: Any) -> None:
    from ui.style import elide_keeping_last_part

    window = await make_window()
    window.resize(window.minimumSize())
    page = window.catalog_page
    view = page.list_view
    row = page.model.row_of("NWT20001")
    status = page.model.index(row).data(Roles.STATUS)
    assert "288 MB" in status
    fm = QFontMetrics(view.font())
    # The list made narrower than the status line (the splitter's handle, dragged)
    outside = 2 * page.delegate.PAD + page.delegate.ICON + 12 + fm.height() + 4
    total = sum(page.splitter.sizes())
    narrow = fm.horizontalAdvance(status) + outside
    while view.viewport().width() - outside > fm.horizontalAdvance(status) - 30:
        narrow -= 10
        page.splitter.setSizes([narrow, total - narrow])
        await settle()
    available = view.viewport().width() - outside
    assert fm.horizontalAdvance(status) > available  # it must be shortened ...
    shown = elide_keeping_last_part(status, fm, available)
    assert shown.endswith("288 MB to download")  # ... and keeps the size
    assert fm.horizontalAdvance(shown) <= available
