"""The Operating Systems page on the real demo site: verdicts, search, filter, sort, views, details."""

from __future__ import annotations

import json
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QListView, QPushButton

from core.eligibility import Refusal
from ui.deployment_model import Roles, SortKey
from ui.wording import refusal_explanation, refusal_summary

from .conftest import prefs_file, until

pytestmark = pytest.mark.asyncio

LISTED = {f"NWT2000{i}" for i in range(1, 10)} - {"NWT20007"}
REFUSED_ON_INTERNET = {
    "NWT20002": Refusal.INTRANET_ONLY,
    "NWT20003": Refusal.DIRECT_ACCESS_ON_INTERNET,
    "NWT20004": Refusal.CONTENT_NOT_ON_INTERNET,
    "NWT20009": Refusal.NOT_YET_AVAILABLE,
}


def shown(window: Any, role: int = Roles.ID) -> list[Any]:
    proxy = window.catalog_page.proxy
    return [proxy.index(r, 0).data(role) for r in range(proxy.rowCount())]


def rows_by_id(window: Any) -> dict[str, Any]:
    proxy = window.catalog_page.proxy
    return {proxy.index(r, 0).data(Roles.ID): proxy.index(r, 0) for r in range(proxy.rowCount())}


async def test_internet_lists_every_deployment_with_its_verdict(make_window: Any) -> None:
    window = await make_window(connection="internet")
    rows = rows_by_id(window)
    assert set(rows) == LISTED  # NWT20007 (media/PXE only) is never listed
    assert window.heading.text() == "Northwind Traders IT"
    assert "Internet" in window.connection_chip.text()
    for dep_id, index in rows.items():
        refusal = REFUSED_ON_INTERNET.get(dep_id)
        assert index.data(Roles.REFUSAL) == refusal, dep_id
        assert index.data(Roles.ELIGIBLE) is (refusal is None)
        if refusal is not None:
            assert index.data(Roles.STATUS) == refusal_summary(refusal)  # the row says why, in one line
        else:
            assert index.data(Roles.STATUS).startswith(("Available", "Required"))


async def test_intranet_refuses_only_what_is_not_yet_available(make_window: Any) -> None:
    window = await make_window(connection="intranet")
    rows = rows_by_id(window)
    assert set(rows) == LISTED
    refused = {dep_id: i.data(Roles.REFUSAL) for dep_id, i in rows.items() if i.data(Roles.REFUSAL)}
    assert refused == {"NWT20009": Refusal.NOT_YET_AVAILABLE}
    assert "Corporate network" in window.connection_chip.text()
    # On the corporate network the upgrade media comes from the distribution point first.
    window.catalog_page.select("NWT20001")
    assert "on-premises" in window.catalog_page.details._fact_values["source"].text().lower()


async def test_refused_deployment_has_install_disabled_and_the_full_reason_beside_it(make_window: Any) -> None:
    window = await make_window(connection="internet")
    page = window.catalog_page
    button = window.findChild(QPushButton, "installButton")
    label = window.findChild(QLabel, "refusalLabel")
    assert page.select("NWT20004")
    assert not button.isEnabled()
    assert label.isVisible()
    assert label.text() == refusal_explanation(Refusal.CONTENT_NOT_ON_INTERNET)
    assert button.accessibleDescription() == label.text()
    assert page.select("NWT20001")
    assert button.isEnabled()
    assert button.text().replace("&", "") == "Install"
    assert not label.isVisible()


async def test_details_show_size_time_restart_deadline_and_source(make_window: Any) -> None:
    window = await make_window(connection="internet")
    page = window.catalog_page
    facts = page.details._fact_values
    assert page.select("NWT20006")
    assert "288 MB" in facts["size"].text() and "nothing downloaded yet" in facts["size"].text()
    assert facts["time"].text() == "About 1 h 15 min"
    assert facts["restart"].text().startswith("Yes")
    assert "2099" in facts["deadline"].text()  # the shared demo site's (its deadlines count from 2099)
    assert facts["source"].text().startswith("Cloud")
    assert "Sales" in page.details.description_label.text()


async def test_search_per_keystroke_and_ctrl_f(make_window: Any) -> None:
    window = await make_window(connection="internet")
    window.activateWindow()
    box = window.catalog_page.search_box
    assert box.objectName() == "searchBox"
    QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    await until(box.hasFocus, what="Ctrl+F focuses the search box")
    QTest.keyClicks(box, "fin")
    assert shown(window) == ["NWT20004"]  # "Finance tools"
    QTest.keyClick(box, Qt.Key.Key_Backspace)
    QTest.keyClicks(box, "x")
    assert shown(window) == []
    assert window.catalog_page.empty_label.isVisibleTo(window.catalog_page)
    box.clear()
    QTest.keyClicks(box, "24h2 pilot")  # every word must match, case ignored
    assert shown(window) == ["NWT20008"]
    QTest.keyClick(box, Qt.Key.Key_Escape)
    assert box.text() == ""
    assert set(shown(window)) == LISTED


async def test_filter_required(make_window: Any) -> None:
    window = await make_window(connection="internet")
    page = window.catalog_page
    page.filter_combo.setCurrentIndex(1)
    assert shown(window) == ["NWT20006"]
    assert page.current_id() == "NWT20006"  # the details follow what is shown
    page.filter_combo.setCurrentIndex(0)
    assert set(shown(window)) == LISTED


async def test_sort_by_name_publisher_and_status(make_window: Any) -> None:
    window = await make_window(connection="internet")
    page = window.catalog_page
    names = shown(window, Qt.ItemDataRole.DisplayRole)
    assert names == sorted(names, key=str.casefold)
    page.sort_combo.setCurrentIndex(page.sort_combo.findData(SortKey.STATUS))
    eligible = shown(window, Roles.ELIGIBLE)
    assert eligible == sorted(eligible, reverse=True)  # what can be started comes first
    assert shown(window)[0] == "NWT20006"  # required first among those
    page.sort_combo.setCurrentIndex(page.sort_combo.findData(SortKey.PUBLISHER))
    publishers = shown(window, Roles.PUBLISHER)
    assert publishers == sorted(publishers, key=str.casefold)


async def test_list_and_tile_views_and_the_choice_is_remembered(make_window: Any, data_dir: Any) -> None:
    window = await make_window(connection="internet")
    view = window.findChild(QListView, "deploymentList")
    assert view.viewMode() is QListView.ViewMode.ListMode
    window.catalog_page.tile_button.click()
    assert view.viewMode() is QListView.ViewMode.IconMode
    assert json.loads(prefs_file().read_text())["view"] == "tiles"
    # The rows are painted (not widgets) in both modes and have a size.
    assert view.visualRect(window.catalog_page.proxy.index(0, 0)).height() > 0
    again = await make_window(connection="internet")
    assert again.findChild(QListView, "deploymentList").viewMode() is QListView.ViewMode.IconMode
    again.catalog_page.list_button.click()
    assert json.loads(prefs_file().read_text())["view"] == "list"


@pytest.mark.parametrize("which", ["model", "proxy"])
async def test_models_pass_the_model_tester(make_window: Any, qtmodeltester: Any, which: str) -> None:
    window = await make_window(connection="internet")
    page = window.catalog_page
    qtmodeltester.check(getattr(page, which), force_py=True)
    # The checks run again on every change: filter, sort, re-list, annotate.
    page.search_box.setText("upgrade")
    page.filter_combo.setCurrentIndex(1)
    page.filter_combo.setCurrentIndex(0)
    page.sort_combo.setCurrentIndex(2)
    page.set_last_runs({"NWT20001": "succeeded", "NWT20005": "failed"})
    window.relist()
