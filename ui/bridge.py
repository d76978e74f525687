"""The one place where the engine's events reach Qt: latest state per step, coalesced repaints.

The engine calls `EventBridge.sink(event)` on the loop thread (the Qt thread under
qasync) for every event. Each event is an immutable fact carrying its full state, so the
bridge only keeps the *latest* state per step and per package (a pure-Python copy of the
rows) and marks what changed. A single-shot timer flushes at most every
`FLUSH_INTERVAL_MS` (≈30 times a second): the changed rows go to the `StepModel`, which
emits `dataChanged` for those rows and the roles whose values changed, and the run's
header (step x of y, overall percent) is sent once if it changed. A burst of a thousand
download events between two flushes costs one repaint.

Events that change the shape of the run (started, restart pending, finished) flush at
once, so whoever listens to `runStarted` / `restartPending` / `runFinished` sees a model
that already agrees with them.

Mapping events to rows. Rows are the flattened step tree (groups included), the same
list the engine walks, so a step event's `ip` (instruction pointer) is its row. Leaves
passed over without an event (a failing group that continues on error leaves the rest of
itself silently) become "not run". Downloads land on the step running when they start.
A deployment that downloads all content before step 1 (`all_before_start`) gets a row of
its own before the steps (`PREFETCH_KIND`, "Downloading content before the first step"):
that download is not attached to a step it does not belong to, and the row ends like any
other (succeeded when step 1 starts, failed, or pending again on cancel). Its rows are then
offset by one from the engine's `ip`. Groups have no events: their state is derived from
their steps.

Resuming. `RunStarted` carries the run's id and its fixed total. When this window watched
the run before (same `run_id`: cancel then Resume, or the simulated restart), the rows it
already has are the run's past and are kept. Only when it did not (a new window after a
restart or a sign-in) is the saved run state read (`core.load_state`): the results of the
steps before the saved instruction pointer, and that pointer, are in no event this
process received.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from core import (
    DownloadFailed,
    DownloadFinished,
    DownloadPackageContentStep,
    DownloadProgressed,
    DownloadRetrying,
    DownloadStarted,
    DownloadStatus,
    ErrorCode,
    Event,
    InstallPackageStep,
    RestartPending,
    RunCommandStep,
    RunError,
    RunFinished,
    RunOutcome,
    RunRefused,
    RunSource,
    RunStarted,
    RunState,
    RunStatus,
    StepFinished,
    StepOutcome,
    StepProgressed,
    StepSkipped,
    StepStarted,
    UpgradeOsStep,
    load_state,
)

from .step_model import (
    PREFETCH_KIND,
    DownloadInfo,
    SkipReason,
    StepModel,
    StepRow,
    StepState,
    step_fraction,
)

__all__ = ["FLUSH_INTERVAL_MS", "PREFETCH_KIND", "EventBridge", "RunHeader"]

log = logging.getLogger("software_center.ui")

FLUSH_INTERVAL_MS = 33  # ≤ ~30 repaints a second

_UNDER_WAY = (StepState.RUNNING, StepState.DOWNLOADING)
_TRANSFERRING = (DownloadStatus.ACTIVE, DownloadStatus.RETRYING)
_DONE = (StepState.SUCCEEDED, StepState.FAILED)


def _error_code(value: object) -> ErrorCode | None:
    """A saved result's failure code; None when absent or unknown to this version."""
    try:
        return ErrorCode(value) if isinstance(value, str) else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class RunHeader:
    """What the top of the progress view shows."""

    deployment: str = ""
    name: str = ""
    number: int = 0  # the current (or last) executable step, 1-based; 0 before the first
    total: int = 0  # executable steps expected
    percent: float = 0.0  # overall, 0..100
    status: RunStatus | None = None  # None: no run yet
    current: str | None = None  # the name of the step under way
    resumed: bool = False
    error: str | None = None  # RunFinished.error (engine words)
    error_code: int | None = None
    failed_step: str | None = None  # the name of the step that failed the run


class EventBridge(QObject):
    """Engine events in, coalesced model updates and a few run-level signals out."""

    runStarted = Signal(object)  # RunStarted, after the rows are set up
    headerChanged = Signal(object)  # RunHeader
    restartPending = Signal(object)  # RestartPending
    runFinished = Signal(object)  # RunFinished, after the last flush
    refused = Signal(object)  # RunRefused
    flushed = Signal(int)  # after each flush: how many rows changed (tests count repaints)

    def __init__(self, center: RunSource, model: StepModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._center = center
        self._model = model
        self._thread = threading.get_ident()
        self._loop: asyncio.AbstractEventLoop | None = None
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            pass
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self.flush)
        self._rows: list[StepRow] = []
        self._ends: list[int] = []
        self._parents: list[int | None] = []
        self._positions: list[int] = []  # counted steps before each instruction (its "Step x" is this + 1)
        self._offset = 0  # rows before the first step's (1: the all_before_start download's row)
        self._dirty: set[int] = set()
        self._cursor = 0
        self._current: int | None = None  # row of the step under way
        self._dl_rows: dict[str, int] = {}  # package -> row its download shows on
        self._before_dl: dict[int, StepState] = {}  # a row's state before its download started
        self._header = RunHeader()
        self._shown_header = RunHeader()
        self._run_id: str | None = None
        self.flush_count = 0

    # --- reading ---------------------------------------------------------------------

    @property
    def header(self) -> RunHeader:
        """The latest header (may be ahead of what was last flushed)."""
        return self._header

    @property
    def current_row(self) -> int | None:
        """The row of the step under way, if any."""
        return self._current

    @property
    def rows(self) -> list[StepRow]:
        """The latest rows (may be ahead of the model until the next flush)."""
        return list(self._rows)

    # --- the sink --------------------------------------------------------------------

    def sink(self, event: Event) -> None:
        """The engine's EventSink. Cheap: records the fact, schedules a flush."""
        if threading.get_ident() != self._thread:
            # Not expected (the engine calls from the loop thread), but never touch Qt elsewhere.
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self.sink, event)
            return
        try:
            self._handle(event)
        except Exception:  # a display problem must never break the run that reports it
            log.exception("The window could not show the event %r", event)

    def _handle(self, event: Event) -> None:
        match event:
            case DownloadProgressed():
                e = event
                self._download(e.package, lambda dl: replace(dl, bytes=e.bytes, total_bytes=e.total_bytes,
                                                             rate_bps=e.rate_bps, eta_s=e.eta_s,
                                                             status=DownloadStatus.ACTIVE))
            case StepProgressed():
                self._step_progress(event)
            case DownloadStarted():
                self._download_started(event)
            case DownloadRetrying():
                r = event
                self._download(r.package, lambda dl: replace(dl, status=DownloadStatus.RETRYING, attempt=r.attempt,
                                                             rate_bps=None, eta_s=None))
            case DownloadFinished():
                self._download_ended(event.package, DownloadStatus.FINISHED)
            case DownloadFailed():
                self._download_ended(event.package, DownloadStatus.FAILED)
            case StepStarted():
                self._step_started(event)
            case StepFinished():
                self._step_finished(event)
            case StepSkipped():
                self._step_skipped(event)
            case RunStarted():
                self._run_started(event)
            case RestartPending():
                self._header = replace(self._header, status=RunStatus.RESTART_PENDING, current=None)
                self.flush()
                self.restartPending.emit(event)
            case RunFinished():
                self._run_finished(event)
            case RunRefused():
                self.refused.emit(event)
            case _:
                pass
        if self._dirty or self._header != self._shown_header:
            self._schedule()

    # --- flushing --------------------------------------------------------------------

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Send what changed since the last flush to the model and the header's listeners."""
        self._timer.stop()
        changed = 0
        if self._dirty:
            self._derive_groups()
            changes = {i: self._rows[i] for i in self._dirty if i < len(self._rows)}
            self._dirty.clear()
            changed = self._model.update_rows(changes)
        self._header = replace(self._header, percent=self._overall_percent())
        if self._header != self._shown_header:
            self._shown_header = self._header
            self.headerChanged.emit(self._header)
        self.flush_count += 1
        self.flushed.emit(changed)

    # --- rows ------------------------------------------------------------------------

    def _set(self, i: int, row: StepRow) -> None:
        if self._rows[i] != row:
            self._rows[i] = row
            self._dirty.add(i)

    def _build(self, event: RunStarted) -> bool:
        # Imported here, not at the top: they live in the engine module, whose content and
        # process layers the window (a client of the agent) does not load before a run.
        from core import flatten, step_type

        catalog = self._center.catalog
        ts = catalog.task_sequences.get(event.task_sequence) if catalog is not None else None
        if catalog is None or ts is None:
            log.warning("The task sequence %s is not in the catalog; steps are not listed", event.task_sequence)
            self._rows, self._ends, self._parents, self._positions = [], [], [], []
            self._offset = 0
            return False
        from core import referenced_packages

        instructions = flatten(ts.steps)
        dep = catalog.deployment(event.deployment)
        off = 1 if dep is not None and dep.download == "all_before_start" else 0
        rows: list[StepRow] = []
        if off:
            rows.append(StepRow(name="Downloading content before the first step", kind=PREFETCH_KIND, depth=0,
                                is_group=False, enabled=True,
                                packages=tuple(sorted(referenced_packages(ts)))))
        for ins in instructions:
            step = ins.step
            enabled = step.enabled and (ins.parent is None or rows[ins.parent + off].enabled)
            kind = step_type(step)
            if isinstance(step, DownloadPackageContentStep):
                pkgs = list(step.packages)
            elif isinstance(step, (RunCommandStep, InstallPackageStep, UpgradeOsStep)) and step.package:
                pkgs = [step.package]
            else:
                pkgs = []
            rows.append(
                StepRow(
                    name=step.name,
                    kind=kind,
                    depth=0 if ins.parent is None else rows[ins.parent + off].depth + 1,
                    is_group=kind == "group",
                    enabled=enabled,
                    description=step.description,
                    packages=tuple(pkgs),
                )
            )
        self._rows = rows
        self._offset = off
        self._ends = [off] * off + [ins.end + off for ins in instructions]
        self._positions = [0] * off + [ins.position for ins in instructions]
        parents: list[int | None] = [None] * off
        self._parents = parents + [None if ins.parent is None else ins.parent + off for ins in instructions]
        return True

    def _restore(self, state: RunState) -> int:
        """Rows before the saved instruction pointer, as the saved run state tells them (a
        window that did not watch the run has no event of them). Returns the pointer."""
        by_ip: dict[int, dict[str, Any]] = {}
        for result in state.results:
            ip_of = result.get("ip")
            if isinstance(ip_of, int):
                by_ip[ip_of] = result  # a step run again (after a failure that continued) keeps its last result
        off = self._offset
        if off:
            self._rows[0] = replace(self._rows[0], state=StepState.SUCCEEDED if state.prepared else StepState.PENDING)
        ip = min(state.ip, len(self._rows) - off)
        for k in range(ip):
            i = k + off
            row = self._rows[i]
            if row.is_group:
                continue
            if not row.enabled:
                self._rows[i] = replace(row, state=StepState.SKIPPED, skip_reason=SkipReason.DISABLED)
                continue
            r = by_ip.get(k)
            if r is not None:
                number, exit_code, error = r.get("index"), r.get("exit_code"), r.get("error")
                self._rows[i] = replace(
                    row,
                    state=StepState.SUCCEEDED if r.get("status") == "succeeded" else StepState.FAILED,
                    number=number if isinstance(number, int) else None,
                    exit_code=exit_code if isinstance(exit_code, int) else None,
                    error=error if isinstance(error, str) else None,
                    reason=_error_code(r.get("reason")),
                )
            else:  # a false condition, or the rest of a failed group that continued on error
                self._rows[i] = replace(row, state=StepState.SKIPPED, skip_reason=SkipReason.CONDITION)
        self._derive_groups(all_groups=True)
        return ip + off

    def _derive_groups(self, *, all_groups: bool = False) -> None:
        """A group's state follows its steps; only groups holding a changed row are looked at."""
        if all_groups:
            groups = {i for i, r in enumerate(self._rows) if r.is_group}
        else:
            groups = set()
            for i in self._dirty:
                p = self._parents[i] if i < len(self._parents) else None
                while p is not None:
                    groups.add(p)
                    p = self._parents[p]
        for g in sorted(groups, reverse=True):  # inner groups first
            group = self._rows[g]
            if group.state is StepState.SKIPPED and group.skip_reason is not SkipReason.NOT_RUN:
                continue  # skipped itself (disabled, condition)
            leaves = [r for r in self._rows[g + 1 : self._ends[g]] if not r.is_group]
            states = {r.state for r in leaves}
            reason = None
            if states & set(_UNDER_WAY):
                new = StepState.RUNNING
            elif StepState.FAILED in states:
                new = StepState.FAILED
            elif not leaves or states == {StepState.SKIPPED}:
                if leaves and all(not r.enabled for r in leaves) and not group.enabled:
                    new, reason = StepState.SKIPPED, SkipReason.DISABLED
                elif leaves and all(r.state is StepState.PENDING for r in leaves):
                    new = StepState.PENDING
                else:
                    new, reason = StepState.SKIPPED, SkipReason.NOT_RUN
            elif StepState.PENDING in states:
                new = StepState.RUNNING if states - {StepState.PENDING} else StepState.PENDING
            else:
                new = StepState.SUCCEEDED
            if (group.state, group.skip_reason) != (new, reason):
                self._rows[g] = replace(group, state=new, skip_reason=reason)
                self._dirty.add(g)

    def _row_at(self, ip: int, name: str, *, leaf: bool) -> int | None:
        """The row of the instruction `ip`; None (logged) when the listed tree has no such step."""
        i = ip + self._offset
        if 0 <= ip and i < len(self._rows) and (not leaf or not self._rows[i].is_group):
            if self._rows[i].name != name:
                log.warning("The step at %d is '%s' in the listed task sequence, the engine says '%s'",
                            ip, self._rows[i].name, name)
            return i
        log.warning("The step '%s' (%d) is not in the listed task sequence", name, ip)
        return None

    def _pass_over(self, stop: int) -> None:
        """Leaves between the cursor and `stop` that never got an event were not run."""
        for i in range(self._cursor, stop):
            r = self._rows[i]
            if not r.is_group and r.state is StepState.PENDING:
                reason = SkipReason.DISABLED if not r.enabled else SkipReason.NOT_RUN
                self._set(i, replace(r, state=StepState.SKIPPED, skip_reason=reason))

    # --- events ----------------------------------------------------------------------

    def _run_started(self, event: RunStarted) -> None:
        previous, previous_run, previous_cursor = self._rows, self._run_id, self._cursor
        self._timer.stop()
        self._dirty.clear()
        self._dl_rows.clear()
        self._before_dl.clear()
        self._current = None
        self._cursor = 0
        self._run_id = event.run_id
        number = 0
        if self._build(event) and event.resumed:
            if event.run_id is not None and event.run_id == previous_run and len(previous) == len(self._rows):
                # This window watched the run: what it saw is the run's past (download figures included).
                self._rows = list(previous)
                self._cursor = previous_cursor
            else:
                self._restore_saved(event)
            # The step at the pointer, the next to run: "Step x of y" as the engine counts it.
            number = (self._positions[self._cursor] + 1 if self._cursor < len(self._positions)
                      else event.total_steps)
        self._model.set_rows(self._rows)
        self._header = RunHeader(
            deployment=event.deployment,
            name=event.name,
            number=number,
            total=event.total_steps,
            status=RunStatus.RUNNING,
            resumed=event.resumed,
        )
        self._shown_header = RunHeader()
        self.flush()
        self.runStarted.emit(event)

    def _restore_saved(self, event: RunStarted) -> None:
        """A resumed run this window did not watch: its past (the results before the saved
        pointer, and that pointer) from the saved state; no event of this process told them."""
        try:
            saved = load_state(self._center.data_dir)
        except RunError as exc:
            log.warning("The saved run state could not be read for the progress view: %s", exc)
            return
        if saved is None or (event.run_id is not None and saved.run_id != event.run_id):
            return
        self._cursor = self._restore(saved)

    def _prefetched(self) -> None:
        """Step 1 (or a skip) came: the all_before_start download is over."""
        if self._offset and self._rows[0].state in (StepState.PENDING, StepState.DOWNLOADING):
            dl = self._rows[0].download
            self._set(0, replace(self._rows[0], state=StepState.SUCCEEDED,
                                 download=replace(dl, status=DownloadStatus.FINISHED, rate_bps=None, eta_s=None)
                                 if dl is not None else None))
            self._cursor = max(self._cursor, 1)

    def _step_started(self, event: StepStarted) -> None:
        self._header = replace(self._header, number=event.index, total=event.total, current=event.name)
        i = self._row_at(event.ip, event.name, leaf=True)
        if i is None:
            return
        self._prefetched()
        self._pass_over(i)
        self._cursor = i
        self._current = i
        r = self._rows[i]
        kept = r.download if r.download is not None and r.download.status is DownloadStatus.FINISHED else None
        self._set(i, replace(r, state=StepState.RUNNING, number=event.index, percent=None, progress_text=None,
                             exit_code=None, error=None, reason=None, skip_reason=None, download=kept))

    def _step_finished(self, event: StepFinished) -> None:
        i = self._row_at(event.ip, event.name, leaf=True)
        if i is None:
            return
        r = self._rows[i]
        ok = event.status is StepOutcome.SUCCEEDED
        dl = r.download
        if dl is not None and dl.status in _TRANSFERRING and not ok:
            dl = replace(dl, status=DownloadStatus.FAILED, rate_bps=None, eta_s=None)
        self._set(i, replace(r, state=StepState.SUCCEEDED if ok else StepState.FAILED,
                             exit_code=event.exit_code, error=event.error, reason=event.reason, download=dl))
        self._before_dl.pop(i, None)
        if not ok:
            self._header = replace(self._header, failed_step=r.name)
        if self._current == i:
            self._current = None
        self._cursor = max(self._cursor, i + 1)
        self._header = replace(self._header, current=None)

    def _step_skipped(self, event: StepSkipped) -> None:
        self._header = replace(self._header, total=event.total)
        i = self._row_at(event.ip, event.name, leaf=False)
        if i is None:
            return
        self._prefetched()
        self._pass_over(i)
        try:
            reason = SkipReason(event.why)
        except ValueError:
            reason = SkipReason.NOT_RUN
        end = self._ends[i]
        for k in range(i, end):
            self._set(k, replace(self._rows[k], state=StepState.SKIPPED, skip_reason=reason))
        self._cursor = max(self._cursor, end)

    def _step_progress(self, event: StepProgressed) -> None:
        i = event.ip + self._offset
        if i != self._current:
            return
        r = self._rows[i]
        state = StepState.RUNNING if r.state is StepState.DOWNLOADING else r.state
        self._set(i, replace(r, percent=event.percent, progress_text=event.text or None, state=state))

    def _download_started(self, event: DownloadStarted) -> None:
        i = self._current
        if i is None and self._offset and self._rows[0].state in (StepState.PENDING, StepState.DOWNLOADING):
            i = 0  # all_before_start: the download's own row
        if i is None:
            i = next(
                (k for k in range(self._cursor, len(self._rows))
                 if event.package in self._rows[k].packages and self._rows[k].enabled
                 and self._rows[k].state is StepState.PENDING),
                None,
            )
        if i is None:
            return
        self._dl_rows[event.package] = i
        r = self._rows[i]
        catalog = self._center.catalog
        pkg = catalog.packages.get(event.package) if catalog is not None else None
        info = DownloadInfo(
            package=event.package,
            package_name=pkg.name if pkg is not None else event.package,
            bytes=min(event.cached_bytes, event.total_bytes),
            total_bytes=event.total_bytes,
        )
        if r.state is not StepState.DOWNLOADING:
            self._before_dl[i] = r.state
        self._set(i, replace(r, state=StepState.DOWNLOADING, download=info))

    def _download(self, package: str, change: Callable[[DownloadInfo], DownloadInfo]) -> None:
        i = self._dl_rows.get(package)
        if i is None:
            return
        r = self._rows[i]
        if r.download is None:
            return
        dl = change(r.download)
        if dl.bytes < r.download.bytes:
            dl = replace(dl, bytes=r.download.bytes)  # bytes never go backwards on screen
        self._set(i, replace(r, download=dl))

    def _download_ended(self, package: str, status: DownloadStatus) -> None:
        i = self._dl_rows.pop(package, None)
        if i is None:
            return
        r = self._rows[i]
        dl = r.download
        if dl is not None:
            dl = replace(dl, status=status, rate_bps=None, eta_s=None,
                         bytes=dl.total_bytes if status is DownloadStatus.FINISHED else dl.bytes)
        state = r.state
        if i < self._offset:  # the all_before_start row: downloading until step 1, unless it failed
            state = StepState.FAILED if status is DownloadStatus.FAILED else state
            self._before_dl.pop(i, None)
        elif state is StepState.DOWNLOADING:
            state = self._before_dl.pop(i, StepState.RUNNING)
        self._set(i, replace(r, download=dl, state=state))

    def _run_finished(self, event: RunFinished) -> None:
        number = self._header.number
        if event.status in (RunOutcome.SUCCEEDED, RunOutcome.FAILED):
            self._pass_over(len(self._rows))
            if event.status is RunOutcome.SUCCEEDED:
                number = self._header.total  # every step was run or passed over: "Step y of y"
        elif event.status is RunOutcome.CANCELLED:
            # The interrupted step (or a download ahead of step 1) runs again on resume: it is
            # pending, not failed, and keeps the figures of what was downloaded so far.
            for i, r in enumerate(self._rows):
                if r.is_group or r.state not in _UNDER_WAY:
                    continue
                dl = r.download
                if dl is not None and dl.status in _TRANSFERRING:
                    dl = replace(dl, rate_bps=None, eta_s=None, status=DownloadStatus.ACTIVE)
                self._set(i, replace(r, state=StepState.PENDING, download=dl))
            self._before_dl.clear()
            self._dl_rows.clear()
            self._current = None
        self._header = replace(
            self._header,
            status=RunStatus(event.status.value),
            number=number,
            current=None,
            error=event.error,
            error_code=event.error_code,
        )
        self.flush()
        self.runFinished.emit(event)

    # --- overall progress ------------------------------------------------------------

    def _overall_percent(self) -> float:
        h = self._header
        if h.status is RunStatus.SUCCEEDED:
            return 100.0
        if h.total <= 0:
            return h.percent
        # Counted steps (enabled leaves) that ran or were passed over: the counter jumps over a skip.
        # A failed run counts what it got through: not the steps it never reached.
        never = SkipReason.NOT_RUN if h.status is RunStatus.FAILED else None
        done = sum(1 for r in self._rows[self._offset:] if not r.is_group and r.enabled
                   and (r.state in _DONE or (r.state is StepState.SKIPPED and r.skip_reason is not never)))
        frac = 0.0
        if self._current is not None:
            frac = step_fraction(self._rows[self._current]) or 0.0
        percent = 100.0 * min(1.0, (done + frac) / h.total)
        if h.status is RunStatus.RUNNING:
            return max(h.percent, percent)  # the overall bar never goes backwards during a run
        return percent
