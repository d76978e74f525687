"""The Options page: connection type (re-detect and re-list), cache use and Clear, language."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QComboBox, QPushButton

from core import ContentStore, HttpSession
from core.eligibility import Refusal
from ui.deployment_model import Roles
from ui.main_window import Page

from .conftest import prefs_file, until, wait_for_signal

pytestmark = pytest.mark.asyncio


def refusals(window: Any) -> dict[str, Any]:
    m = window.catalog_page.model
    return {m.index(r).data(Roles.ID): m.index(r).data(Roles.REFUSAL) for r in range(m.rowCount())}


async def test_changing_the_connection_detects_again_and_lists_again(make_window: Any, data_dir: Path) -> None:
    window = await make_window(connection="internet")
    assert refusals(window)["NWT20002"] == Refusal.INTRANET_ONLY
    window.show_page(Page.OPTIONS)
    selector = window.findChild(QComboBox, "connectionSelector")
    assert selector.currentIndex() == 1  # always internet
    assert "Internet" in window.options_page.detected_label.text()
    selector.setCurrentIndex(2)
    selector.activated.emit(2)  # what a person's choice emits
    assert "Detecting" in window.connection_chip.text()
    await wait_for_signal(window.listed)
    assert refusals(window)["NWT20002"] is None
    assert "Corporate network" in window.connection_chip.text()
    assert "Corporate network" in window.options_page.detected_label.text()
    assert json.loads((data_dir / "options.json").read_text())["connection"] == "intranet"

    # auto: the demo site's intranet probe does not answer here, so the internet is detected.
    selector.setCurrentIndex(0)
    selector.activated.emit(0)
    await wait_for_signal(window.listed)
    assert "(detected)" in window.connection_chip.text()
    assert refusals(window)["NWT20002"] == Refusal.INTRANET_ONLY


async def test_cache_use_and_clear_asks_first(make_window: Any, data_dir: Path) -> None:
    window = await make_window(connection="internet")
    engine = window.engine
    catalog = engine.catalog
    # Put a small package in the agent's cache the way a run would.
    session = HttpSession()
    try:
        await ContentStore(data_dir / "cache", session).fetch(
            "NWT00018", catalog.packages["NWT00018"], catalog.url, "internet", on_event=lambda _e: None)
    finally:
        await session.aclose()
    window.show_page(Page.OPTIONS)
    page = window.options_page
    clear = window.findChild(QPushButton, "clearCacheButton")
    await until(clear.isEnabled, what="the cache is measured")
    assert "in use" in page.cache_value.text() and not page.cache_value.text().startswith("0")
    clear.click()
    question = window.question
    assert question is not None and question.isVisible()
    question.findChild(QPushButton, "questionYesButton").click()
    await until(lambda: not clear.isEnabled(), what="the cache is cleared")
    assert await engine.cache_usage() == 0  # the agent cleared it
    assert page.cache_value.text().startswith("0")


async def test_clear_and_connection_are_refused_while_a_run_is_active(make_window: Any) -> None:
    window = await make_window(connection="internet")
    window.options_page.set_cache_usage(1000)
    assert window.options_page.clear_button.isEnabled()
    window.options_page.set_run_active(True)
    assert not window.options_page.clear_button.isEnabled()
    assert not window.findChild(QComboBox, "connectionSelector").isEnabled()
    assert window.options_page.connection_note.text()


async def test_switching_to_spanish_translates_the_window_at_once(make_window: Any, data_dir: Path) -> None:
    window = await make_window(connection="internet")
    window.show_page(Page.OPTIONS)
    languages = window.findChild(QComboBox, "languageSelector")
    index = languages.findText("Español")
    languages.setCurrentIndex(index)
    languages.activated.emit(index)
    assert json.loads(prefs_file().read_text())["language"] == "es"
    await until(lambda: window.navigation.item(Page.CATALOG).text() == "Sistemas operativos",
                what="the navigation in Spanish")
    page = window.catalog_page
    assert page.search_box.placeholderText().startswith("Buscar")
    assert window.navigation.item(Page.OPTIONS).text() == "Opciones"
    page.select("NWT20002")
    assert page.details.install_button.text().replace("&", "") == "Instalar"
    assert "red corporativa" in window.findChild(QComboBox, "connectionSelector").itemText(2)
    status = page.model.index(page.model.row_of("NWT20002")).data(Roles.STATUS)
    assert status == "Necesita la red corporativa"
    assert "Internet" in window.connection_chip.text()

    # Back to the system language (English here).
    languages.setCurrentIndex(0)
    languages.activated.emit(0)
    await until(lambda: window.navigation.item(Page.CATALOG).text() == "Operating Systems", what="English again")
    assert json.loads(prefs_file().read_text())["language"] is None
    assert json.loads((data_dir / "options.json").read_text())["language"] == "en"  # the agent's file: untouched
