"""The Installation status page: every run this computer started, newest first, with its result.

Shows the history the agent keeps (GET /v1/history): the window passes it to
`show_history()` when a run starts or ends and whenever the page is shown.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core import HistoryEntry, RunState

from .history_model import HistoryDelegate, HistoryModel
from .style import named, page_title, text_label

__all__ = ["StatusPage"]


class StatusPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusPage")
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

    def show_history(self, entries: list[HistoryEntry], saved: RunState | None) -> None:
        """The runs (oldest first), and where an unfinished run stands (it is in no entry)."""
        self.model.set_entries(entries, saved)
        self._show()

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
