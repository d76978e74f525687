"""Past and current runs (core.runstate's history) as a list model, and the delegate painting them.

Newest first. Each row: the result's icon in its accent, the deployment's name, when
it started, the result in words, for the run waiting to be resumed the step it stands
at ("Step x of y", as the engine counts), the bytes downloaded and, for a failure, the
error code in hex (its cause, from the entry's failure code, is in the tool tip).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
)
from PySide6.QtGui import QFont, QFontMetrics, QIcon, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from core import HistoryEntry, RunState

from .style import Accent, accent_color, icon, item_background
from .wording import failure_words, fill, format_bytes, format_datetime, hex_code, run_status_text, step_counter_text

__all__ = ["HistoryDelegate", "HistoryModel", "HistoryRoles"]

Index = QModelIndex | QPersistentModelIndex

_ACCENT = {
    "succeeded": Accent.POSITIVE,
    "failed": Accent.NEGATIVE,
    "running": Accent.INFO,
    "restart_pending": Accent.INFO,
    "cancelled": Accent.WARNING,
}
_ICON = {
    "succeeded": "success",
    "failed": "error",
    "running": "progress",
    "restart_pending": "restart",
    "cancelled": "warning",
}


class HistoryRoles(enum.IntEnum):
    ENTRY = Qt.ItemDataRole.UserRole + 1  # the HistoryEntry
    STATUS = enum.auto()  # raw status ("succeeded", …)
    STATUS_TEXT = enum.auto()  # translated status
    WHEN = enum.auto()  # translated start time
    DETAIL = enum.auto()  # one translated line: bytes, error code


class HistoryModel(QAbstractListModel):
    """`set_entries(load_history(...))`; shows them newest first."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[HistoryEntry] = []
        self._step: tuple[str, int, int] | None = None  # (run_id, step at its pointer, total) of the saved run

    def set_entries(self, entries: Sequence[HistoryEntry], saved: RunState | None = None) -> None:
        """`saved`: the run waiting in the data folder, if any; its entry shows where it stands."""
        rows = list(reversed(entries))
        step = (saved.run_id, saved.executed + 1, saved.total) if saved is not None else None
        if rows == self._rows and step == self._step:
            return
        self.beginResetModel()
        self._rows = rows
        self._step = step
        self.endResetModel()

    def entry(self, row: int) -> HistoryEntry:
        return self._rows[row]

    def retranslate(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def roleNames(self) -> dict[int, QByteArray]:  # noqa: N802 - Qt override
        names = super().roleNames()
        names.update({r.value: QByteArray(r.name.lower().encode()) for r in HistoryRoles})
        return names

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        e = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return e.name
        if role == HistoryRoles.ENTRY:
            return e
        if role == HistoryRoles.STATUS:
            return e.status
        if role == HistoryRoles.STATUS_TEXT:
            return run_status_text(e.status)
        if role == HistoryRoles.WHEN:
            return fill(self.tr("Started %1"), format_datetime(e.started_at))
        if role == HistoryRoles.DETAIL:
            return self._detail(e)
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            cause = failure_words(e.reason, e.error_code)[0] if e.status == "failed" else ""
            return ", ".join(
                x for x in (e.name, run_status_text(e.status), format_datetime(e.started_at), self._detail(e), cause)
                if x
            )
        return None

    def _detail(self, e: HistoryEntry) -> str:
        parts = []
        if self._step is not None and self._step[0] == e.run_id and e.status not in ("succeeded", "failed"):
            parts.append(step_counter_text(self._step[1], self._step[2]))  # where the unfinished run stands
        parts.append(fill(self.tr("%1 downloaded"), format_bytes(e.bytes_transferred)))
        if e.status == "failed" and e.error_code is not None:
            parts.append(fill(self.tr("error %1"), hex_code(e.error_code)))
        parts.append(e.deployment)
        return " · ".join(parts)


class HistoryDelegate(QStyledItemDelegate):
    """One row per run: icon, name and time on the first line, result and details on the second."""

    PAD = 10
    ICON = 28

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._icons = {s: icon(name, _ACCENT[s]) for s, name in _ICON.items()}
        self._unknown = icon("info", Accent.INFO)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802 - Qt override
        fm = QFontMetrics(option.font)
        return QSize(320, max(self.ICON, 2 * fm.height() + 4) + 2 * self.PAD)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        painter.save()
        opt, _style = item_background(painter, option)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        text = opt.palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        dim = text if selected else opt.palette.color(QPalette.ColorRole.PlaceholderText)
        status = index.data(HistoryRoles.STATUS)
        accent = text if selected else accent_color(_ACCENT.get(status, Accent.INFO), opt.palette)
        r = opt.rect.adjusted(self.PAD + 4, self.PAD, -self.PAD - 4, -self.PAD)
        mode = QIcon.Mode.Selected if selected else QIcon.Mode.Normal
        self._icons.get(status, self._unknown).paint(
            painter, QRect(r.left(), r.top() + 2, self.ICON, self.ICON), Qt.AlignmentFlag.AlignCenter, mode
        )
        x = r.left() + self.ICON + 12
        bold = QFont(opt.font)
        bold.setWeight(QFont.Weight.DemiBold)
        fm_b, fm = QFontMetrics(bold), QFontMetrics(opt.font)
        when = index.data(HistoryRoles.WHEN) or ""
        when_w = fm.horizontalAdvance(when)
        painter.setFont(opt.font)
        painter.setPen(dim)
        painter.drawText(QRect(r.right() - when_w, r.top(), when_w, fm_b.height()),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, when)
        painter.setFont(bold)
        painter.setPen(text)
        name_w = r.right() - when_w - 16 - x
        painter.drawText(
            QRect(x, r.top(), name_w, fm_b.height()),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            fm_b.elidedText(index.data(Qt.ItemDataRole.DisplayRole) or "", Qt.TextElideMode.ElideRight, name_w),
        )
        y = r.top() + fm_b.height() + 4
        status_text = index.data(HistoryRoles.STATUS_TEXT) or ""
        painter.setFont(opt.font)
        painter.setPen(accent)
        sw = fm.horizontalAdvance(status_text)
        painter.drawText(
            QRect(x, y, sw, fm.height()), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, status_text
        )
        painter.setPen(dim)
        rest = " · " + (index.data(HistoryRoles.DETAIL) or "")
        painter.drawText(
            QRect(x + sw, y, r.right() - x - sw, fm.height()),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            fm.elidedText(rest, Qt.TextElideMode.ElideRight, r.right() - x - sw),
        )
        painter.restore()
