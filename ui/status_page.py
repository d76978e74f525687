"""The Installation status page: every run this computer started, newest first, with its result.

Shows the history the agent keeps (GET /v1/history): the window passes it to
`show_history()` when a run starts or ends and whenever the page is shown. Enter or a
double-click on a run opens its detail (`HistoryDetailDialog`): when and how long, its
steps, the error, the log, and Retry for a failed run (`retry_requested(deployment_id)`,
which the window sends through its normal start path: the confirmation, then the run).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QEvent, QModelIndex, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QListView,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core import HistoryEntry, RunState

from .history_model import HistoryDelegate, HistoryModel, HistoryRoles
from .style import Accent, accent_color, add_fact_rows, emphasize, named, page_title, text_label
from .wording import (
    failure_words,
    fill,
    format_bytes,
    format_datetime,
    format_elapsed,
    hex_code,
    run_status_text,
    step_status_text,
)

__all__ = ["HistoryDetailDialog", "StatusPage"]

_ACCENT = {"succeeded": Accent.POSITIVE, "failed": Accent.NEGATIVE, "cancelled": Accent.WARNING}


class StatusPage(QWidget):
    """`retry_requested(deployment_id)` from a failed run's detail."""

    retry_requested = Signal(str)

    def __init__(self, log_path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusPage")
        self.log_path = log_path
        self.model = HistoryModel(self)
        self.detail: HistoryDetailDialog | None = None  # the open one, for tests and automation
        self._can_retry: set[str] = set()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.title = page_title()
        lay.addWidget(self.title)
        self.hint = text_label("historyHint", wrap=True)
        self.hint.setContentsMargins(16, 2, 16, 0)
        self.hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        lay.addWidget(self.hint)
        lay.addSpacing(10)
        self.stack = QStackedWidget()
        self.list_view = named(QListView(), "historyList")
        self.list_view.setModel(self.model)
        self.list_view.setItemDelegate(HistoryDelegate(self.list_view))
        self.list_view.setUniformItemSizes(True)
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list_view.activated.connect(self.open_detail)
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

    def set_retryable(self, deployment_ids: set[str]) -> None:
        """The deployments Retry may start now (listed, eligible, no other run going)."""
        self._can_retry = set(deployment_ids)
        if self.detail is not None:
            self.detail.retry_button.setEnabled(self.detail.entry.deployment in self._can_retry)

    def _show(self) -> None:
        self.stack.setCurrentWidget(self.list_view if self.model.rowCount() else self.empty_label)
        if self.model.rowCount() and not self.list_view.currentIndex().isValid():
            self.list_view.setCurrentIndex(self.model.index(0))

    def open_detail(self, index: QModelIndex) -> None:
        """The run's detail, window-modal (opened with `open()`)."""
        if not index.isValid():
            return
        entry = index.data(HistoryRoles.ENTRY)
        dialog = HistoryDetailDialog(entry, self.log_path, self)
        dialog.retry_button.setEnabled(entry.deployment in self._can_retry)
        dialog.retry_button.clicked.connect(lambda: self._retry(dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.destroyed.connect(lambda: setattr(self, "detail", None))
        self.detail = dialog
        dialog.open()

    def _retry(self, dialog: HistoryDetailDialog) -> None:
        dialog.accept()
        self.retry_requested.emit(dialog.entry.deployment)

    def retranslate(self) -> None:
        self.title.setText(self.tr("Installation status"))
        self.hint.setText(self.tr("Press Enter or double-click a run to see its details."))
        self.empty_label.setText(self.tr("Nothing has been installed from Software Center on this computer yet."))
        self.list_view.setAccessibleName(self.tr("Installations"))
        self.model.retranslate()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


class HistoryDetailDialog(QDialog):
    """One run of the history: result, start, duration, steps, download, error, log, Retry."""

    def __init__(self, entry: HistoryEntry, log_path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry = entry
        self.log_path = log_path
        self.opened_url: QUrl | None = None  # what "Open log" asked the desktop to open
        self.setObjectName("historyDetail")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(460)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(22, 20, 22, 16)
        lay.setSpacing(12)
        self.title_label = text_label("historyDetailTitle", wrap=True)
        emphasize(self.title_label, 1.2)
        lay.addWidget(self.title_label)
        self.status_label = text_label("historyDetailStatus", wrap=True)
        accent = _ACCENT.get(entry.status, Accent.INFO)
        self.status_label.setStyleSheet(f"color: {accent_color(accent, self.palette()).name()};")
        lay.addWidget(self.status_label)
        self.facts = QFormLayout()
        self.facts.setHorizontalSpacing(16)
        self.facts.setVerticalSpacing(8)
        self._labels, self.values = add_fact_rows(
            self.facts, ("started", "duration", "steps", "downloaded", "error", "log"), "history")
        lay.addLayout(self.facts)
        buttons = QDialogButtonBox()
        self.retry_button = named(QPushButton(), "historyRetryButton")
        self.log_button = named(QPushButton(), "historyLogButton")
        self.close_button = named(QPushButton(), "historyCloseButton")
        buttons.addButton(self.retry_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.log_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.retry_button.setVisible(entry.status == "failed")
        self.log_button.setVisible(log_path is not None)
        self.log_button.clicked.connect(self.open_log)
        buttons.rejected.connect(self.reject)
        self.close_button.setDefault(True)
        lay.addWidget(buttons)
        self.retranslate()

    def open_log(self) -> None:
        if self.log_path is None:
            return
        self.opened_url = QUrl.fromLocalFile(str(self.log_path))
        QDesktopServices.openUrl(self.opened_url)

    def _steps_text(self) -> str:
        e = self.entry
        if not e.total_steps:
            return ""
        done = sum(1 for s in e.steps if s.get("status") == "succeeded")
        lines = [fill(self.tr("%1 of %2 steps finished"), done, e.total_steps)]
        for step in e.steps:
            exit_code = step.get("exit_code")
            state = str(step.get("status") or "")
            lines.append(fill(self.tr("%1. %2: %3"), step.get("index", ""), step.get("name", ""),
                              step_status_text(state, None, enabled=True,
                                               exit_code=exit_code if isinstance(exit_code, int) else None)))
        return "\n".join(lines)

    def _error_text(self) -> str:
        e = self.entry
        if e.status != "failed":
            return ""
        cause, advice = failure_words(e.reason, e.error_code)
        text = " ".join(x for x in (cause, advice) if x)
        if e.error_code is not None:
            text = fill(self.tr("%1 (error %2)"), text, hex_code(e.error_code))
        return text

    def _duration_text(self) -> str:
        try:
            seconds = (datetime.fromisoformat(self.entry.finished_at)
                       - datetime.fromisoformat(self.entry.started_at)).total_seconds()
        except (TypeError, ValueError):
            return ""
        return format_elapsed(seconds)

    def retranslate(self) -> None:
        e = self.entry
        self.setWindowTitle(e.name)
        self.title_label.setText(e.name)
        self.status_label.setText(run_status_text(e.status))
        names = {
            "started": self.tr("Started"),
            "duration": self.tr("Duration"),
            "steps": self.tr("Steps"),
            "downloaded": self.tr("Downloaded"),
            "error": self.tr("Error"),
            "log": self.tr("Log"),
        }
        values = {
            "started": format_datetime(e.started_at),
            "duration": self._duration_text(),
            "steps": self._steps_text(),
            "downloaded": format_bytes(e.bytes_transferred),
            "error": self._error_text(),
            "log": str(self.log_path) if self.log_path is not None else "",
        }
        for row, (key, name) in enumerate(names.items()):
            self._labels[key].setText(name)
            self.values[key].setText(values[key])
            self.values[key].setAccessibleName(name)
            self.facts.setRowVisible(row, bool(values[key]))
        self.retry_button.setText(self.tr("&Retry"))
        self.log_button.setText(self.tr("Open &log"))
        self.close_button.setText(self.tr("&Close"))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
