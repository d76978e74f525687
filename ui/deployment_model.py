"""The catalog's deployments as a Qt list model, and the proxy that searches and filters it.

`DeploymentModel` holds one row per listed deployment (`core.center.Listing`) plus what
this client remembers about it (the last run's result), and answers by role. It keeps
its rows in the chosen order (`sort`, by name, publisher or status): a proxy that sorted
would ask Python for a sort key at every comparison, and re-inserting thousands of rows
when a search is erased then freezes the window visibly (bench/ui.py measures it).

`DeploymentFilterModel` (a QSortFilterProxyModel) searches and filters. Per keystroke it
decides every row in one Python pass over lower-cased search texts computed when the rows
change; Qt's per-row `filterAcceptsRow` then only looks the answer up.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from core import Listing

from .wording import fill, format_bytes, format_datetime, refusal_summary

__all__ = ["DeploymentFilterModel", "DeploymentModel", "Roles", "RowState", "SortKey"]

Index = QModelIndex | QPersistentModelIndex


class Roles(enum.IntEnum):
    """Data roles of a deployment row (display is the name)."""

    ID = Qt.ItemDataRole.UserRole + 1  # deployment ID
    PUBLISHER = enum.auto()
    VERSION = enum.auto()
    STATUS = enum.auto()  # one translated line: available, installed, or why it is refused
    STATE = enum.auto()  # RowState
    ELIGIBLE = enum.auto()  # bool
    REFUSAL = enum.auto()  # Refusal code or None
    REQUIRED = enum.auto()  # bool: purpose is required
    HIGH_IMPACT = enum.auto()  # bool
    DOWNLOAD_BYTES = enum.auto()  # int: what is not in the cache yet
    LISTING = enum.auto()  # the core Listing itself
    LAST_RUN = enum.auto()  # str | None: the last run's status in the history


class RowState(enum.IntEnum):
    """What a row's status line says, in sort order."""

    AVAILABLE = 0  # may be started
    FAILED = 1  # may be started; the last run failed
    RUNNING = 2  # a run of it is active or waiting to resume
    INSTALLED = 3  # may be started again; the last run succeeded
    REFUSED = 4  # may not run on this client now


class SortKey(enum.Enum):
    """The order of the rows."""

    NAME = "name"
    PUBLISHER = "publisher"  # then name
    STATUS = "status"  # what can be started first (required first among those), then name


_UNFINISHED = ("running", "restart_pending", "cancelled")


class DeploymentModel(QAbstractListModel):
    """Rows are `core.center.Listing`s in `sort_key` order; `set_listings` replaces them all,
    `set_last_runs` annotates them."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Listing] = []
        self._last_run: dict[str, str] = {}
        self._states: list[RowState] = []
        self._search: list[str] = []  # per row: name, publisher, version and ID, lower-cased
        self._required: list[bool] = []
        self.sort_key = SortKey.NAME

    # --- content ----------------------------------------------------------------------

    def set_listings(self, listings: Sequence[Listing]) -> None:
        self.beginResetModel()
        self._rows = sorted(listings, key=self._key_function(self.sort_key, listings))
        self._derive()
        self.endResetModel()

    def set_last_runs(self, last_run: Mapping[str, str]) -> None:
        """Deployment ID → status of its newest run in the history (core.runstate)."""
        self._last_run = dict(last_run)
        self._states = [self._state(it) for it in self._rows]
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))
            if self.sort_key is SortKey.STATUS:
                self.sort_by(SortKey.STATUS, force=True)

    def retranslate(self) -> None:
        """The language changed: every status line reads differently now."""
        if self._rows:
            self.dataChanged.emit(
                self.index(0),
                self.index(len(self._rows) - 1),
                [Roles.STATUS, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole],
            )

    def listing(self, row: int) -> Listing:
        return self._rows[row]

    def row_of(self, deployment_id: str) -> int | None:
        for i, it in enumerate(self._rows):
            if it.deployment.id == deployment_id:
                return i
        return None

    # --- order ------------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Qt's sort entry point: the current key, in `order`."""
        self.sort_by(self.sort_key, descending=order == Qt.SortOrder.DescendingOrder, force=True)

    def sort_by(self, key: SortKey, *, descending: bool = False, force: bool = False) -> None:
        """Reorder the rows; selections and other persistent indexes follow their rows."""
        if key is self.sort_key and not force and not descending:
            return
        self.sort_key = key
        if not self._rows:
            return
        self.layoutAboutToBeChanged.emit()
        key_of = self._key_function(key, self._rows, self._states)
        order = sorted(range(len(self._rows)), key=lambda r: key_of(self._rows[r]), reverse=descending)
        new_row = {old: new for new, old in enumerate(order)}
        self._rows = [self._rows[r] for r in order]
        self._states = [self._states[r] for r in order]
        self._derive(states=False)
        old_indexes = self.persistentIndexList()
        self.changePersistentIndexList(old_indexes, [self.index(new_row[i.row()]) for i in old_indexes])
        self.layoutChanged.emit()

    def _key_function(self, key: SortKey, rows: Sequence[Listing],
                      states: Sequence[RowState] | None = None) -> Callable[[Listing], Any]:
        if key is SortKey.NAME:
            return lambda it: (it.deployment.name.casefold(), it.deployment.id)
        if key is SortKey.PUBLISHER:
            return lambda it: (it.deployment.publisher.casefold(), it.deployment.name.casefold(), it.deployment.id)
        state_of = {
            it.deployment.id: (states[i] if states is not None else self._state(it)) for i, it in enumerate(rows)
        }
        return lambda it: (
            state_of[it.deployment.id],
            it.deployment.purpose != "required",
            it.deployment.name.casefold(),
            it.deployment.id,
        )

    # --- derived per row --------------------------------------------------------------

    def _derive(self, *, states: bool = True) -> None:
        if states:
            self._states = [self._state(it) for it in self._rows]
        self._search = [
            " ".join((it.deployment.name, it.deployment.publisher, it.deployment.version, it.deployment.id)).casefold()
            for it in self._rows
        ]
        self._required = [it.deployment.purpose == "required" for it in self._rows]

    def _state(self, item: Listing) -> RowState:
        if item.verdict.refusal is not None:
            return RowState.REFUSED
        last = self._last_run.get(item.deployment.id)
        if last == "succeeded":
            return RowState.INSTALLED
        if last == "failed":
            return RowState.FAILED
        if last in _UNFINISHED:
            return RowState.RUNNING
        return RowState.AVAILABLE

    # --- filtering, for the proxy -----------------------------------------------------

    def accepted_rows(self, words: Sequence[str], required_only: bool) -> list[bool]:
        """For every row: does it match every word (and is it required, when asked)?"""
        search = self._search
        # Narrow a list of candidate rows word by word: each pass only looks at the survivors.
        rows: Iterable[int] = range(len(search))
        if required_only:
            rows = [r for r in rows if self._required[r]]
        for word in words:
            rows = [r for r in rows if word in search[r]]
        if isinstance(rows, range):
            return [True] * len(search)
        accepted = [False] * len(search)
        for r in rows:
            accepted[r] = True
        return accepted

    # --- Qt model ---------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def roleNames(self) -> dict[int, QByteArray]:  # noqa: N802 - Qt override
        names = super().roleNames()
        names.update({r.value: QByteArray(r.name.lower().encode()) for r in Roles})
        return names

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = index.row()
        item = self._rows[row]
        dep = item.deployment
        if role == Qt.ItemDataRole.DisplayRole:
            return dep.name
        if role == Roles.STATUS:
            return self._status(row)
        if role == Roles.STATE:
            return self._states[row]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{dep.name}\n{self._status(row)}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{dep.name}, {dep.publisher}, {self._status(row)}"
        if role == Roles.ID:
            return dep.id
        if role == Roles.PUBLISHER:
            return dep.publisher
        if role == Roles.VERSION:
            return dep.version
        if role == Roles.ELIGIBLE:
            return item.verdict.eligible
        if role == Roles.REFUSAL:
            return item.verdict.refusal
        if role == Roles.REQUIRED:
            return self._required[row]
        if role == Roles.HIGH_IMPACT:
            return dep.high_impact
        if role == Roles.DOWNLOAD_BYTES:
            return item.download_bytes
        if role == Roles.LISTING:
            return item
        if role == Roles.LAST_RUN:
            return self._last_run.get(dep.id)
        return None

    def _status(self, row: int) -> str:
        item = self._rows[row]
        state = self._states[row]
        if state is RowState.REFUSED:
            assert item.verdict.refusal is not None
            return refusal_summary(item.verdict.refusal)
        if state is RowState.INSTALLED:
            return self.tr("Installed · can be reinstalled")
        if state is RowState.FAILED:
            return self.tr("The last attempt failed · can be tried again")
        if state is RowState.RUNNING:
            return self.tr("Installing · not finished yet")
        deadline = item.deployment.deadline
        if self._required[row] and deadline is not None:
            return fill(self.tr("Required by %1"), format_datetime(deadline))
        if item.download_bytes:
            return fill(self.tr("Available · %1 to download"), format_bytes(item.download_bytes))
        return self.tr("Available · ready to install")


class DeploymentFilterModel(QSortFilterProxyModel):
    """Search (every word must appear in name, publisher, version or ID) and All / Required.

    The order is the source model's (`set_sort_key` reorders it there, see the module).
    """

    def __init__(self, source: DeploymentModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._words: tuple[str, ...] = ()
        self._required_only = False
        self._accepted: list[bool] | None = None
        self.setSourceModel(source)
        self.setDynamicSortFilter(False)  # never sorts: the source is in order already
        # The cached answers follow the source; they are decided again before Qt asks.
        source.modelAboutToBeReset.connect(self._decide)
        source.layoutAboutToBeChanged.connect(self._decide_after_layout)

    @property
    def search_text(self) -> str:
        return " ".join(self._words)

    def set_search(self, text: str) -> None:
        words = tuple(text.casefold().split())
        if words != self._words:
            self._refilter(words, self._required_only)

    def set_required_only(self, required_only: bool) -> None:
        if required_only != self._required_only:
            self._refilter(self._words, required_only)

    def set_sort_key(self, key: SortKey) -> None:
        self._source.sort_by(key)

    def sort_key(self) -> SortKey:
        return self._source.sort_key

    def _refilter(self, words: tuple[str, ...], required_only: bool) -> None:
        # Rows removed and inserted in place (the selection stays): measured against a whole
        # re-layout (`invalidate()`), this halves the median keystroke, bench/ui.py.
        self.beginFilterChange()
        self._words, self._required_only = words, required_only
        self._accepted = self._source.accepted_rows(words, required_only)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def _decide(self) -> None:
        self._accepted = None  # decided when Qt first asks: the new rows are not there yet

    def _decide_after_layout(self, *_args: object) -> None:
        self._accepted = None

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:  # noqa: N802 - Qt override
        # Called once per row on every change: keep it a lookup.
        accepted = self._accepted
        if accepted is None:
            accepted = self._accepted = self._source.accepted_rows(self._words, self._required_only)
        return accepted[source_row]
