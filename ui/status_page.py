"""The Installation status page: every run this computer started, newest first, with its result.

Reads the history the engine keeps in the data folder (core.runstate.load_history); the
window calls `refresh()` when a run starts or ends and whenever the page is shown.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core import HistoryEntry, RunError, load_history, load_state

from .history_model import HistoryDelegate, HistoryModel
from .style import named, page_title, text_label

__all__ = ["StatusPage"]


class StatusPage(QWidget):
    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusPage")
        self._data_dir = data_dir
        self.model = HistoryModel(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.title = page_title()
        lay.addWidget(self.title)
        lay.addSpacing(10)
        self.stack = QStackedWidget()
        self.list_view = named(QListView(), "historyList")
        self.list_view.setModel(self.model)
        self.list_view.setItemDelegate(HistoryDelegate(self.list_view))
        self.list_view.setUniformItemSizes(True)
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.stack.addWidget(self.list_view)
        self.empty_label = text_label("emptyLabel", wrap=True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.empty_label)
        lay.addWidget(self.stack, 1)
        self.model.modelReset.connect(self._show)
        self.retranslate()

    def refresh(self) -> list[HistoryEntry]:
        """Read the history again; returns it (oldest first), for callers that need it too."""
        entries = load_history(self._data_dir)
        try:
            saved = load_state(self._data_dir)  # where an unfinished run stands: in no history entry
        except RunError:
            saved = None
        self.model.set_entries(entries, saved)
        self._show()
        return entries

    def _show(self) -> None:
        self.stack.setCurrentWidget(self.list_view if self.model.rowCount() else self.empty_label)

    def retranslate(self) -> None:
        self.title.setText(self.tr("Installation status"))
        self.empty_label.setText(self.tr("Nothing has been installed from Software Center on this computer yet."))
        self.list_view.setAccessibleName(self.tr("Installations"))
        self.model.retranslate()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
