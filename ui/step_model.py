"""The running task sequence's steps as a Qt list model: one row per step or group, data by role.

Rows are immutable `StepRow`s in the order of the flattened step tree (a group, then its
children, as the engine runs them), so disabled and skipped steps are listed too. The
bridge (`ui/bridge.py`) is the only writer: it replaces whole rows with `update_rows`,
and the model announces exactly the rows and roles whose values changed. Words a person
reads (the status line, tool tips, accessible text) come from `data()`, translated in the
language that is current when they are asked for.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from core import DownloadStatus, ErrorCode

from .wording import (
    failure_words,
    format_percent,
    package_download_text,
    step_status_text,
    working_text,
)

__all__ = [
    "PREFETCH_KIND",
    "DownloadInfo",
    "Roles",
    "SkipReason",
    "StepModel",
    "StepRow",
    "StepState",
    "bar_fraction",
    "step_fraction",
]

Index = QModelIndex | QPersistentModelIndex



# The kind of the row an all_before_start download gets before the steps (ui/bridge.py): no
# step of the catalog has it. Its name is the model's own words, in the current language.
PREFETCH_KIND = "prefetch_content"


def row_name(row: StepRow) -> str:
    """The name a person reads: the step's, or for the download before step 1 the model's words."""
    if row.kind == PREFETCH_KIND:
        return QCoreApplication.translate("StepModel", "Downloading content before the first step")
    return row.name


class StepState(enum.Enum):
    """Where a step (or group) stands in this run."""

    PENDING = "pending"  # not reached yet
    SKIPPED = "skipped"  # will not run: disabled, condition false, or the run ended before it
    DOWNLOADING = "downloading"  # the step is fetching a package it needs (or, for all_before_start, will need)
    RUNNING = "running"  # the step is executing (for a group: one of its steps is)
    SUCCEEDED = "succeeded"  # ended with a success code (for a group: every step that ran did)
    FAILED = "failed"  # ended with a failure (for a group: one of its steps failed)


class SkipReason(enum.Enum):
    """Why a row is SKIPPED; the first two are the engine's `StepSkipped.why`."""

    DISABLED = "disabled"  # the step or an enclosing group is disabled in the task sequence
    CONDITION = "condition"  # its condition was false
    NOT_RUN = "not_run"  # the run ended (or a failing group moved on) before reaching it


@dataclass(frozen=True, slots=True)
class DownloadInfo:
    """The latest known state of one package download, as the engine's events told it."""

    package: str
    package_name: str
    bytes: int
    total_bytes: int
    rate_bps: float | None = None  # None: unknown
    eta_s: float | None = None  # None: unknown
    status: DownloadStatus = DownloadStatus.ACTIVE
    attempt: int = 0  # of the current retry, when retrying

    @property
    def fraction(self) -> float:
        if self.status is DownloadStatus.FINISHED:
            return 1.0
        return min(1.0, self.bytes / self.total_bytes) if self.total_bytes > 0 else 0.0


@dataclass(frozen=True, slots=True)
class StepRow:
    """One step or group of the task sequence and what this run made of it."""

    name: str
    kind: str  # the catalog's step type: group, upgrade_os, download_package_content, ...
    depth: int  # 0 for top-level items
    is_group: bool
    enabled: bool  # false when it or an enclosing group is disabled
    description: str | None = None
    packages: tuple[str, ...] = ()  # packages the step needs (downloads land on this row)
    state: StepState = StepState.PENDING
    skip_reason: SkipReason | None = None
    number: int | None = None  # "step x of y": its executable index in this run
    percent: float | None = None  # the program's own PROGRESS percent, None until it reports one
    progress_text: str | None = None  # the program's own PROGRESS text
    download: DownloadInfo | None = None  # the package download of this step (the latest one)
    exit_code: int | None = None
    error: str | None = None  # engine words, for the tool tip and logs
    reason: ErrorCode | None = None  # why it failed: the stable code its words come from


class Roles(enum.IntEnum):
    """Data roles of a step row (Qt.DisplayRole is the name)."""

    STATE = Qt.ItemDataRole.UserRole + 1  # StepState
    SKIP_REASON = enum.auto()  # SkipReason | None
    DEPTH = enum.auto()  # int
    IS_GROUP = enum.auto()  # bool
    ENABLED = enum.auto()  # bool
    KIND = enum.auto()  # str: the step type
    NUMBER = enum.auto()  # int | None
    PERCENT = enum.auto()  # float | None: the program's own progress
    PROGRESS_TEXT = enum.auto()  # str | None: the program's own progress text
    DOWNLOAD = enum.auto()  # DownloadInfo | None
    EXIT_CODE = enum.auto()  # int | None
    ERROR = enum.auto()  # str | None: engine words
    STATUS_TEXT = enum.auto()  # str: the short state, translated ("Succeeded", "Skipped: disabled")
    DETAIL_TEXT = enum.auto()  # str: the second line, translated (download figures, program progress)
    FRACTION = enum.auto()  # float | None: the bar of the step under way (its download, then its program), 0..1
    ROW = enum.auto()  # the StepRow itself
    REASON = enum.auto()  # str | None: why it failed (the ErrorCode value; Qt hands a StrEnum over as str)


_TEXT_ROLES = (
    int(Roles.STATUS_TEXT),
    int(Roles.DETAIL_TEXT),
    int(Roles.FRACTION),
    int(Qt.ItemDataRole.ToolTipRole),
    int(Qt.ItemDataRole.AccessibleTextRole),
    int(Roles.ROW),
)

# Which roles change when a field of StepRow changes (derived roles included).
_FIELD_ROLES: dict[str, tuple[int, ...]] = {
    "name": (int(Qt.ItemDataRole.DisplayRole), *_TEXT_ROLES),
    "kind": (int(Roles.KIND), *_TEXT_ROLES),
    "depth": (int(Roles.DEPTH), int(Roles.ROW)),
    "is_group": (int(Roles.IS_GROUP), *_TEXT_ROLES),
    "enabled": (int(Roles.ENABLED), *_TEXT_ROLES),
    "description": (*_TEXT_ROLES,),
    "packages": (int(Roles.ROW),),
    "state": (int(Roles.STATE), *_TEXT_ROLES),
    "skip_reason": (int(Roles.SKIP_REASON), *_TEXT_ROLES),
    "number": (int(Roles.NUMBER), *_TEXT_ROLES),
    "percent": (int(Roles.PERCENT), *_TEXT_ROLES),
    "progress_text": (int(Roles.PROGRESS_TEXT), *_TEXT_ROLES),
    "download": (int(Roles.DOWNLOAD), *_TEXT_ROLES),
    "exit_code": (int(Roles.EXIT_CODE), *_TEXT_ROLES),
    "error": (int(Roles.ERROR), *_TEXT_ROLES),
    "reason": (int(Roles.REASON), *_TEXT_ROLES),
}
assert set(_FIELD_ROLES) == {f.name for f in fields(StepRow)}


def changed_roles(old: StepRow, new: StepRow) -> list[int]:
    """The roles whose data differs between two versions of a row, in a stable order."""
    out: dict[int, None] = {}
    for name, roles in _FIELD_ROLES.items():
        if getattr(old, name) != getattr(new, name):
            out.update(dict.fromkeys(roles))
    return list(out)


def step_fraction(row: StepRow) -> float | None:
    """How far a step under way is (0..1), from its download and its program's progress.

    A step that downloads and then runs a program counts the download as its first half.
    None when the step is not under way.
    """
    if row.is_group or row.state not in (StepState.RUNNING, StepState.DOWNLOADING):
        return None
    program = None if row.percent is None else max(0.0, min(1.0, row.percent / 100))
    dl = row.download
    if row.kind == "download_package_content":
        return dl.fraction if dl is not None else 0.0
    if dl is None:
        return program or 0.0
    if program is None:
        return 0.5 * dl.fraction
    return 0.5 + 0.5 * program


def bar_fraction(row: StepRow) -> float | None:
    """What the row's bar shows: the download while downloading, then the program's percent.

    None when there is no bar (not under way, or a program that has not reported progress).
    """
    if row.is_group:
        return None
    if row.state is StepState.DOWNLOADING and row.download is not None:
        return row.download.fraction
    if row.state is StepState.RUNNING and row.percent is not None:
        return max(0.0, min(1.0, row.percent / 100))
    return None


def status_text(row: StepRow) -> str:
    """The row's state in a few translated words."""
    return step_status_text(row.state.value, row.skip_reason.value if row.skip_reason is not None else None,
                            enabled=row.enabled, exit_code=row.exit_code)


def download_text(dl: DownloadInfo) -> str:
    """'Windows 11 media: 120 MB of 256 MB · 35 MB/s · 4 s left' (or retrying / done)."""
    return package_download_text(dl.package_name, dl.bytes, dl.total_bytes, dl.status, attempt=dl.attempt,
                                 rate_bps=dl.rate_bps, eta_s=dl.eta_s)


def detail_text(row: StepRow) -> str:
    """The second line of a row: what the step is doing now, or what it did."""
    if row.is_group:
        return ""
    dl = row.download
    if row.state is StepState.DOWNLOADING and dl is not None:
        return download_text(dl)
    if row.state is StepState.RUNNING:
        if row.progress_text:
            return row.progress_text  # its percent is on the bar
        if row.percent is not None:
            return format_percent(row.percent)
        if dl is not None:
            return download_text(dl)
        return working_text()
    if row.state is StepState.FAILED:
        if dl is not None and dl.status is DownloadStatus.FAILED:
            return download_text(dl)
        return row.progress_text or ""
    if row.state is StepState.SUCCEEDED and dl is not None:
        return download_text(dl)
    if row.state is StepState.SUCCEEDED and row.progress_text:
        return row.progress_text
    if row.state is StepState.PENDING and dl is not None:  # fetched ahead (all_before_start)
        return download_text(dl)
    return row.description or ""


class StepModel(QAbstractListModel):
    """Rows are `StepRow`s. `set_rows` replaces them all; `update_rows` changes some in place."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[StepRow] = []

    # --- writing (the bridge) --------------------------------------------------------

    def set_rows(self, rows: Sequence[StepRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def update_rows(self, changes: Mapping[int, StepRow]) -> int:
        """Replace the given rows; emit dataChanged per changed row with its changed roles only.

        Returns how many dataChanged signals were emitted.
        """
        emitted = 0
        for row in sorted(changes):
            if not 0 <= row < len(self._rows):
                continue
            old, new = self._rows[row], changes[row]
            roles = changed_roles(old, new)
            if not roles:
                continue
            self._rows[row] = new
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, roles)
            emitted += 1
        return emitted

    def retranslate(self) -> None:
        """The language changed: every translated role of every row is new."""
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1), list(_TEXT_ROLES))

    def rows(self) -> list[StepRow]:
        return list(self._rows)

    def row_data(self, row: int) -> StepRow:
        return self._rows[row]

    # --- QAbstractListModel ----------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        match role:
            case Qt.ItemDataRole.DisplayRole:
                return row_name(r)
            case Qt.ItemDataRole.ToolTipRole:
                return self._tooltip(r)
            case Qt.ItemDataRole.AccessibleTextRole:
                detail = detail_text(r)
                return f"{row_name(r)}: {status_text(r)}" + (f". {detail}" if detail else "")
            case Roles.STATE:
                return r.state
            case Roles.SKIP_REASON:
                return r.skip_reason
            case Roles.DEPTH:
                return r.depth
            case Roles.IS_GROUP:
                return r.is_group
            case Roles.ENABLED:
                return r.enabled
            case Roles.KIND:
                return r.kind
            case Roles.NUMBER:
                return r.number
            case Roles.PERCENT:
                return r.percent
            case Roles.PROGRESS_TEXT:
                return r.progress_text
            case Roles.DOWNLOAD:
                return r.download
            case Roles.EXIT_CODE:
                return r.exit_code
            case Roles.ERROR:
                return r.error
            case Roles.STATUS_TEXT:
                return status_text(r)
            case Roles.DETAIL_TEXT:
                return detail_text(r)
            case Roles.FRACTION:
                return bar_fraction(r)
            case Roles.ROW:
                return r
            case Roles.REASON:
                return r.reason
        return None

    def roleNames(self) -> dict[int, QByteArray]:  # noqa: N802 - Qt API
        names = dict(super().roleNames())
        for role in Roles:
            names[int(role)] = QByteArray(role.name.lower().encode())
        return names

    @staticmethod
    def _tooltip(r: StepRow) -> str:
        lines = [row_name(r)]
        if r.description:
            lines.append(r.description)
        lines.append(status_text(r))
        if r.state is StepState.FAILED:
            if r.reason is not None:
                lines.append(failure_words(r.reason, r.exit_code)[0])  # the cause, from its code
            if r.error:
                lines.append(r.error)  # the engine's detail
        return "\n".join(lines)
