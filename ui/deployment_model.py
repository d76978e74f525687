"""The catalog's deployments as a Qt list model: one row per listed deployment, data by role."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from core.center import Listing

from .words import format_bytes, refusal_summary

__all__ = ["DeploymentModel", "Roles"]

Index = QModelIndex | QPersistentModelIndex


class Roles(enum.IntEnum):
    """Data roles of a deployment row (display is the name)."""

    ID = Qt.ItemDataRole.UserRole + 1  # deployment ID
    PUBLISHER = enum.auto()
    VERSION = enum.auto()
    STATUS = enum.auto()  # one translated line: "Available" or why it is refused
    ELIGIBLE = enum.auto()  # bool
    REFUSAL = enum.auto()  # Refusal code or None
    REQUIRED = enum.auto()  # bool: purpose is required
    DOWNLOAD_BYTES = enum.auto()  # int: what is not in the cache yet
    LISTING = enum.auto()  # the core Listing itself


class DeploymentModel(QAbstractListModel):
    """Rows are `core.center.Listing`s; `set_listings` replaces them all."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Listing] = []

    def set_listings(self, listings: Sequence[Listing]) -> None:
        self.beginResetModel()
        self._rows = list(listings)
        self.endResetModel()

    def listing(self, row: int) -> Listing:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def roleNames(self) -> dict[int, bytes]:
        names = super().roleNames()
        names.update({r.value: r.name.lower().encode() for r in Roles})
        return names

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        item = self._rows[index.row()]
        dep, verdict = item.deployment, item.verdict
        if role == Qt.ItemDataRole.DisplayRole:
            return dep.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{dep.name}\n{self._status(item)}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{dep.name}, {self._status(item)}"
        if role == Roles.ID:
            return dep.id
        if role == Roles.PUBLISHER:
            return dep.publisher
        if role == Roles.VERSION:
            return dep.version
        if role == Roles.STATUS:
            return self._status(item)
        if role == Roles.ELIGIBLE:
            return verdict.eligible
        if role == Roles.REFUSAL:
            return verdict.refusal
        if role == Roles.REQUIRED:
            return dep.purpose == "required"
        if role == Roles.DOWNLOAD_BYTES:
            return item.download_bytes
        if role == Roles.LISTING:
            return item
        return None

    def _status(self, item: Listing) -> str:
        if item.verdict.refusal is not None:
            return refusal_summary(item.verdict.refusal)
        if item.download_bytes:
            return self.tr("Available · %1 to download").replace("%1", format_bytes(item.download_bytes))
        return self.tr("Available · content ready")
