"""The progress view: a running task sequence for the person at the computer — first a
summary (its name, the phase in words and the time left, step x of y, the overall bar),
then the restart card or the failure card when there is one, then the steps; the
`smsts.log` tail (English admin text) only behind "Show details". The page scrolls as a
whole, so the step list shows every step instead of being squeezed to a row; it follows
the step under way, and after a failure the failed step is brought into view. Cancel is
shown only while a run is under way (a restart is not cancelled: see RestartCountdown).
A step that starts, and the run's result, are announced to assistive technology.

Non-modal: it is a plain widget the main window places (and a person may leave it, or
minimize the window, while the run goes on). Everything it shows comes from the
`RunController`: the step list is the controller's `StepModel`, painted by `StepDelegate`;
the header follows the bridge's coalesced `RunHeader`. Cancel asks first, with a dialog
opened by `open()` and answered through its signals (never `exec()` from the loop). The
log tail re-reads the end of `smsts.log` at most a few times a second, only while a run
is going and only when the file changed.
"""

from __future__ import annotations

import asyncio
import html
import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QSize, Qt, QTimer
from PySide6.QtGui import QFont, QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core import DownloadStatus, RunOutcome, RunResult, RunState, RunStatus, parse_cmtrace

from .announce import announce
from .bridge import RunHeader
from .failure_view import FailureView
from .restart_countdown import RestartCountdown
from .run_controller import RunController
from .step_delegate import StepDelegate
from .step_model import PREFETCH_KIND, Roles, StepState, row_name
from .style import Accent, accent_color, icon, named, text_label
from .wording import fill, format_eta, run_title, step_counter_text

__all__ = ["ProgressView", "StepListView", "read_log_tail"]

_RESUMABLE = (RunStatus.CANCELLED, RunStatus.RESTART_PENDING, RunStatus.RUNNING)
LOG_TAIL_LINES = 10
LOG_REFRESH_MS = 300  # ≈3 times a second
_TAIL_BYTES = 32 * 1024  # ten entries, even long ones


def read_log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[tuple[str, str, str]]:
    """The last `lines` entries of a CMTrace log as (time, type, message); [] when unreadable."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - _TAIL_BYTES))
            data = f.read()
    except OSError:
        return []
    entries = parse_cmtrace(data.decode("utf-8", errors="replace"))
    return [(e["time"][:8], e["type"], e["message"]) for e in entries[-lines:]]


class StepListView(QListView):
    """The step list. Repaints only the rows that changed.

    QListView's own `dataChanged` repaints the whole viewport (and, with rows of different
    heights, lays every row out again) even for one row; during a download that is a dozen
    delegate paints per progress event instead of one, which stalled the loop visibly
    (bench/ui_responsiveness.py measures it). Rows here never change height (the delegate sizes
    them by kind only), so QAbstractItemView's handling — update the changed row's
    rectangle — is all that is needed.
    """

    def dataChanged(self, top_left: QModelIndex | QPersistentModelIndex,  # noqa: N802 - Qt API
                    bottom_right: QModelIndex | QPersistentModelIndex, roles: Sequence[int] = ()) -> None:
        QAbstractItemView.dataChanged(self, top_left, bottom_right, list(roles))


class ProgressView(QWidget):
    """Shows the controller's current (or last) run; `objectName` "progressView"."""

    def __init__(self, controller: RunController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("progressView")
        self.controller = controller
        self._header: RunHeader = controller.header
        self._banner_kind: str | None = None  # succeeded | cancelled | problem | resumable
        self._problem: str | None = None
        self._confirm: QMessageBox | None = None
        self._cancel_task: asyncio.Future[None] | None = None
        self._log_stamp: tuple[int, int] | None = None
        self._scrolled_to: int | None = None

        page = QVBoxLayout(self)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(0)
        # The whole page scrolls (not the step list alone): at 800×600 every part keeps its size.
        self.page_scroll = named(QScrollArea(), "progressScroll")
        self.page_scroll.setWidgetResizable(True)
        self.page_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.page_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # not an extra, unnamed Tab stop
        self.page_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = named(QWidget(), "progressBody")
        self.page_scroll.setWidget(body)
        self._body = body
        page.addWidget(self.page_scroll, 1)
        outer = QVBoxLayout(body)
        outer.setContentsMargins(16, 12, 16, 12)
        outer.setSpacing(8)

        self.title_label = text_label("runTitle", wrap=True)
        f = QFont(self.title_label.font())
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.3)
        self.title_label.setFont(f)
        outer.addWidget(self.title_label)
        # The phase in words and the time left: what a person wants to know first.
        self.summary_label = text_label("runSummary", wrap=True)
        sf = QFont(self.summary_label.font())
        sf.setPointSizeF(sf.pointSizeF() * 1.1)
        self.summary_label.setFont(sf)
        outer.addWidget(self.summary_label)

        row = QHBoxLayout()
        self.step_label = text_label("stepCounter")
        self.step_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        row.addWidget(self.step_label, 1)
        self.percent_label = text_label("overallPercent")
        row.addWidget(self.percent_label)
        outer.addLayout(row)

        self.overall = named(QProgressBar(), "overallProgress")
        self.overall.setRange(0, 1000)
        self.overall.setTextVisible(False)  # the percent is in words above, in the current language
        outer.addWidget(self.overall)

        self.link_label = text_label("reconnectingLabel", wrap=True)
        self.link_label.setVisible(controller.reconnecting)  # built while the agent is away: say so
        outer.addWidget(self.link_label)

        self.countdown = RestartCountdown(controller, self)
        outer.addWidget(self.countdown)
        self.failure = FailureView(controller.log_path, self)
        self.failure.retry_requested.connect(self._retry)
        self.failure.setVisible(False)
        outer.addWidget(self.failure)

        self.banner = named(QFrame(), "runBanner")
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        b = QHBoxLayout(self.banner)
        b.setContentsMargins(12, 8, 12, 8)
        self.banner_icon = QLabel()
        b.addWidget(self.banner_icon)
        self.banner_label = text_label("runMessage", wrap=True)
        self.banner_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        b.addWidget(self.banner_label, 1)
        self.resume_button = named(QPushButton(), "resumeButton")
        self.resume_button.setIcon(icon("restart"))
        self.resume_button.clicked.connect(self._resume)
        b.addWidget(self.resume_button)
        self.banner.setVisible(False)
        outer.addWidget(self.banner)

        self.steps_heading = text_label("stepsHeading")
        outer.addWidget(self.steps_heading)
        self.step_list = named(StepListView(), "stepList")
        self.step_list.setModel(controller.model)
        self.step_list.setItemDelegate(StepDelegate(self.step_list))
        self.step_list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.step_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.step_list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.step_list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.step_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.step_list.setMouseTracking(True)
        self.step_list.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        for sig in (controller.model.modelReset, controller.model.rowsInserted, controller.model.rowsRemoved,
                    controller.model.layoutChanged):
            sig.connect(self._fit_step_list)
        outer.addWidget(self.step_list)

        self.show_log_button = named(QPushButton(), "showLogButton")
        self.show_log_button.setCheckable(True)
        self.show_log_button.setFlat(True)
        self.show_log_button.toggled.connect(self._toggle_log)
        log_row = QHBoxLayout()
        log_row.addWidget(self.show_log_button)
        log_row.addStretch()
        outer.addLayout(log_row)
        self.log_heading = text_label("logHeading")
        self.log_heading.setVisible(False)
        outer.addWidget(self.log_heading)
        self.log_tail = named(QPlainTextEdit(), "logView")
        self.log_tail.setReadOnly(True)
        self.log_tail.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log_tail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log_tail.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        fm = self.log_tail.fontMetrics()
        self.log_tail.setFixedHeight(fm.lineSpacing() * (LOG_TAIL_LINES + 1) + 12)
        self.log_tail.setVisible(False)
        outer.addWidget(self.log_tail)
        outer.addStretch(1)

        # Cancel stays in sight under the scrolling page, and only while something can be cancelled.
        buttons = QHBoxLayout()
        buttons.setContentsMargins(16, 6, 16, 10)
        buttons.addStretch()
        self.cancel_button = named(QPushButton(), "cancelButton")
        self.cancel_button.clicked.connect(self.ask_cancel)
        buttons.addWidget(self.cancel_button)
        page.addLayout(buttons)

        self._log_timer = QTimer(self)
        self._log_timer.setInterval(LOG_REFRESH_MS)
        self._log_timer.timeout.connect(self.refresh_log)

        controller.bridge.headerChanged.connect(self._on_header)
        controller.bridge.flushed.connect(self._on_flushed)  # a row's phase changed (download → running)
        controller.started.connect(self._on_started)
        controller.finished.connect(self._on_finished)
        controller.problem.connect(self._on_problem)
        controller.runningChanged.connect(self._on_running)
        controller.restartPending.connect(lambda _e: self._update_buttons())
        controller.countdownChanged.connect(lambda _s: self._update_buttons())
        controller.restartCommandRan.connect(self._on_restart_command)
        controller.snoozedChanged.connect(lambda _u: self._show_header())
        controller.linkChanged.connect(self._on_link)
        self._announced_step: str | None = None
        self._fit_step_list()
        self._retranslate()
        self._update_buttons()
        if controller.running:
            self._log_timer.start()

    # --- controller signals ----------------------------------------------------------

    def _on_started(self, _deployment: str) -> None:
        self._scrolled_to = None
        self.failure.setVisible(False)
        self._set_banner(None)
        self._log_stamp = None
        self.refresh_log()
        self._update_buttons()

    def _on_running(self, running: bool) -> None:
        if running:
            self._log_timer.start()
        else:
            self._log_timer.stop()
            self.refresh_log()
        self._update_buttons()

    def _on_header(self, header: RunHeader) -> None:
        self._header = header
        self._show_header()
        row = self.controller.bridge.current_row
        if row is not None and row != self._scrolled_to:
            # Follow the run: the step under way stays in sight (once per step, not per repaint).
            self._scrolled_to = row
            self.show_row(row)
        if header.current and header.current != self._announced_step:
            self._announced_step = header.current
            announce(self.step_list, self.step_label.text())

    def _on_flushed(self, _changed: int) -> None:
        text = self.summary_text()
        if text != self.summary_label.text():
            self.summary_label.setText(text)
            self.summary_label.setVisible(bool(text))
        step = self._step_text()
        if step != self.step_label.text():
            self.step_label.setText(step)

    def show_row(self, row: int) -> None:
        """Scroll the page so the step list's `row` is in view."""
        rect = self.step_list.visualRect(self.controller.model.index(row))
        if not rect.isValid():
            return
        centre = self.step_list.mapTo(self._body, rect.center())
        self.page_scroll.ensureVisible(centre.x(), centre.y(), 0, rect.height() // 2 + 8)

    def row_in_view(self, row: int) -> bool:
        """The step list's `row` can be seen in the page's viewport now (tests ask)."""
        rect = self.step_list.visualRect(self.controller.model.index(row))
        if not rect.isValid():
            return False
        top = self.step_list.mapTo(self.page_scroll.viewport(), rect.topLeft())
        bottom = self.step_list.mapTo(self.page_scroll.viewport(), rect.bottomLeft())
        return top.y() >= 0 and bottom.y() <= self.page_scroll.viewport().height()

    def _fit_step_list(self, *_args: object) -> None:
        """The list as tall as its rows: the page scrolls, the list never squeezes to a row."""
        model = self.controller.model
        height = sum(self.step_list.sizeHintForRow(i) for i in range(model.rowCount()))
        self.step_list.setFixedHeight(max(height, 48) + 2 * self.step_list.frameWidth())

    def _on_finished(self, result: RunResult) -> None:
        if result.status is RunOutcome.FAILED:
            self.failure.set_log_path(self.controller.log_path)
            self.failure.show_failure(
                result.reason, result.error_code, result.error, self.controller.header.failed_step
            )
            self.failure.setVisible(True)
            # A run stopped by its data folder (full, read-only) is kept and can be continued.
            kept = self.controller.saved_run_status() in _RESUMABLE
            self._set_banner("resumable" if kept else None)
            failed = self._failed_row()
            if failed is not None:
                QTimer.singleShot(0, lambda: self.show_row(failed))  # once the page is laid out again
            announce(self.failure, self.failure.heading.text() + " " + self.failure.cause_label.text(),
                     assertive=True)
        elif result.status is RunOutcome.SUCCEEDED:
            self._set_banner("succeeded")
        elif result.status is RunOutcome.CANCELLED:
            self._set_banner("cancelled")
        if result.status is not RunOutcome.FAILED:
            announce(self.banner, self.banner_label.text(), assertive=True)
        self._show_header()
        self.refresh_log()
        self._update_buttons()

    def show_saved(self, state: RunState) -> None:
        """A run this window did not follow waits (cancelled, or interrupted): say where it
        stands, with Resume (or, for a failed one, what failed and Retry)."""
        c = self.controller
        if c.running or c.restart_waiting or c.header.name:
            return  # this page follows a run of its own
        c.note_saved_run(state.status)
        total = max(state.total, 0)
        self._header = RunHeader(deployment=state.deployment, name=state.name,
                                 number=min(max(state.executed, 0) + 1, total) if total else 0, total=total,
                                 percent=100.0 * max(state.executed, 0) / total if total else 0.0,
                                 status=state.status)
        if state.status is RunStatus.FAILED:
            self.failure.show_failure(state.error_reason, state.error_code, state.error)
            self.failure.setVisible(True)
            self._set_banner(None)
        else:
            self.failure.setVisible(False)
            self._set_banner("cancelled" if state.status is RunStatus.CANCELLED else "resumable")
        self._show_header()
        self._update_buttons()

    def _failed_row(self) -> int | None:
        model = self.controller.model
        rows = [i for i in range(model.rowCount())
                if model.data(model.index(i), Roles.STATE) is StepState.FAILED
                and not model.data(model.index(i), Roles.IS_GROUP)]
        return rows[-1] if rows else None

    def _on_problem(self, text: str) -> None:
        self._problem = text
        self._set_banner("problem")
        self._update_buttons()

    def _on_link(self, up: bool) -> None:
        self.link_label.setVisible(not up)
        self._update_buttons()

    def _on_restart_command(self, ok: bool) -> None:
        if self.controller.restart_by_agent:
            self._update_buttons()  # the countdown says it; the agent tries again by itself
            return
        if not ok:
            self._set_banner("resumable")
        self._update_buttons()

    # --- actions ---------------------------------------------------------------------

    def ask_cancel(self) -> None:
        """Ask before cancelling (a window-modal dialog opened with open(), answered by signal).
        Only a run under way is cancelled: a restart is carried out now or snoozed."""
        if not self.controller.running:
            return
        box = QMessageBox(self)
        box.setObjectName("cancelConfirmation")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(self.tr("Cancel the upgrade?"))
        box.setText(self.tr("Cancel the upgrade?"))
        box.setInformativeText(
            self.tr("The step that is running now stops. Nothing is lost: what was downloaded is kept, "
                    "and you can continue the upgrade later from where it stopped.")
        )
        yes = box.addButton(self.tr("Cancel upgrade"), QMessageBox.ButtonRole.DestructiveRole)
        yes.setObjectName("confirmCancelButton")
        no = box.addButton(self.tr("Keep running"), QMessageBox.ButtonRole.RejectRole)
        no.setObjectName("keepRunningButton")
        box.setDefaultButton(no)
        box.setEscapeButton(no)
        box.setWindowModality(Qt.WindowModality.WindowModal)

        def answered(_result: int) -> None:
            self._confirm = None
            box.deleteLater()
            if box.clickedButton() == yes and self.controller.running:
                self.cancel_button.setEnabled(False)
                self._cancel_task = asyncio.ensure_future(self.controller.cancel())

        box.finished.connect(answered)
        self._confirm = box
        box.open()

    @property
    def confirmation(self) -> QMessageBox | None:
        """The open cancel confirmation, if any (tests and automation click its buttons)."""
        return self._confirm

    def _resume(self) -> None:
        self._set_banner(None)
        self.controller.resume()

    def _retry(self) -> None:
        self.failure.setVisible(False)
        self._set_banner(None)
        self.controller.retry(self._header.deployment or None)

    def _toggle_log(self, shown: bool) -> None:
        self.log_heading.setVisible(shown)
        self.log_tail.setVisible(shown)
        self._log_stamp = None
        self.refresh_log()
        self._retranslate_log_button()

    def _retranslate_log_button(self) -> None:
        shown = self.show_log_button.isChecked()
        self.show_log_button.setText(self.tr("Hide &details") if shown else self.tr("Show &details"))
        self.show_log_button.setAccessibleName(self.tr("Hide the log") if shown
                                               else self.tr("Show the log (smsts.log)"))

    # --- showing ---------------------------------------------------------------------

    def _show_header(self) -> None:
        h = self._header
        self.title_label.setText(run_title(h.status, h.name))
        self.summary_label.setText(self.summary_text())
        self.summary_label.setVisible(bool(self.summary_label.text()))
        self.step_label.setText(self._step_text())
        self.overall.setValue(int(h.percent * 10))
        percent = fill(self.tr("%1 % complete"), int(h.percent))
        self.percent_label.setText(percent if h.name else "")
        self.overall.setAccessibleDescription(percent)
        # A bar that ended stops looking busy: no run, no restart, no animation; a failed one shows where it stopped.
        ended = h.status in (RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.SUCCEEDED)
        self.overall.setEnabled(not ended or h.status is RunStatus.SUCCEEDED)

    def _step_text(self) -> str:
        """"Step 5 of 8 · Upgrade Operating System"; before step 1 the download's own words."""
        h = self._header
        prefetch = self._prefetching()
        if prefetch and not h.current and h.number == 0:
            return prefetch
        return step_counter_text(h.number, h.total, h.current)

    def _prefetching(self) -> str | None:
        """The all_before_start download's row name while it downloads (the header says it)."""
        rows = self.controller.bridge.rows
        if rows and rows[0].kind == PREFETCH_KIND and rows[0].state is StepState.DOWNLOADING:
            return row_name(rows[0])
        return None

    def summary_text(self) -> str:
        """The phase in words, and the time left when it is known: "Downloading content · 3 min left"."""
        h, c = self._header, self.controller
        if not h.name:
            return ""
        if c.restart_waiting or h.status is RunStatus.RESTART_PENDING:
            if c.snoozed_until is not None:
                return self.tr("Waiting for you to restart the computer")
            return self.tr("Restarting the computer to continue")
        if h.status is RunStatus.SUCCEEDED:
            return self.tr("Finished: everything is done")
        if h.status is RunStatus.FAILED:
            return self.tr("Stopped: the upgrade could not finish")
        if h.status is RunStatus.CANCELLED:
            return self.tr("Paused: you can continue it from where it stopped")
        left = None
        downloading = False
        for r in c.bridge.rows:
            dl = r.download
            if r.state is StepState.DOWNLOADING and dl is not None and dl.status is not DownloadStatus.FINISHED:
                downloading = True
                left = dl.eta_s if dl.eta_s is not None else left
        if downloading:
            phase = self.tr("Downloading content")
        elif h.current is None and h.number == 0:
            phase = self.tr("Preparing")
        else:
            row = c.bridge.current_row
            kind = c.bridge.rows[row].kind if row is not None and row < len(c.bridge.rows) else ""
            phase = self.tr("Installing the upgrade") if kind == "upgrade_os" else self.tr("Working on the upgrade")
        eta = format_eta(left)
        return fill(self.tr("%1 · %2"), phase, eta) if eta else phase

    def _set_banner(self, kind: str | None) -> None:
        self._banner_kind = kind
        self.banner.setVisible(kind is not None)
        self._show_banner()

    def _show_banner(self) -> None:
        kind = self._banner_kind
        if kind is None:
            return
        name, accent = {
            "succeeded": ("success", Accent.POSITIVE),
            "cancelled": ("info", Accent.INFO),
            "resumable": ("info", Accent.INFO),
            "problem": ("warning", Accent.WARNING),
        }[kind]
        self.banner_icon.setPixmap(icon(name, accent).pixmap(QSize(24, 24), self.devicePixelRatioF()))
        color = accent_color(accent, self.palette()).name()
        self.banner.setStyleSheet(f"#runBanner {{ border: 1px solid {color}; border-radius: 6px; }}")
        if kind == "succeeded":
            text = self.tr("The upgrade finished successfully.")
        elif kind == "cancelled":
            text = self.tr("The upgrade was cancelled. Nothing is lost: you can continue it from where it "
                           "stopped.")
        elif kind == "resumable":
            text = self.tr("The upgrade is waiting to continue. Choose Resume to continue it now.")
        else:
            text = self.controller.problem_text() or self._problem or ""
        self.banner_label.setText(text)

    def _update_buttons(self) -> None:
        c = self.controller
        self.cancel_button.setEnabled(c.running and not c.reconnecting)
        self.cancel_button.setVisible(c.running)  # no disabled Cancel left behind
        resumable = (
            not c.running
            and not c.restart_waiting
            and self._banner_kind in ("cancelled", "resumable", "problem")
            and c.saved_run_status() in _RESUMABLE
        )
        self.resume_button.setVisible(resumable)
        if self._banner_kind == "resumable" and not resumable:
            self._set_banner(None)  # "Choose Resume" is never said without a Resume button
        self._show_header()

    def refresh_log(self) -> None:
        """Show the last lines of smsts.log if it changed since the last look (and someone can see it)."""
        if not self.isVisible() or not self.log_tail.isVisibleTo(self):
            self._log_stamp = None  # look again when shown
            return
        path = self.controller.log_path
        try:
            st = path.stat()
            stamp = (st.st_size, st.st_mtime_ns)
        except OSError:
            return
        if stamp == self._log_stamp:
            return
        self._log_stamp = stamp
        warn = accent_color(Accent.WARNING, self.palette()).name()
        err = accent_color(Accent.NEGATIVE, self.palette()).name()
        lines = []
        for time, kind, message in read_log_tail(path):
            text = html.escape(f"{time}  {message}")
            if kind == "3":
                text = f'<span style="color:{err}">{text}</span>'
            elif kind == "2":
                text = f'<span style="color:{warn}">{text}</span>'
            lines.append(text)
        self.log_tail.clear()
        for line in lines:
            self.log_tail.appendHtml(line)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
            self.controller.model.retranslate()
        elif event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_step_list()  # rows are as tall as the font makes them
        super().changeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.refresh_log()

    def _retranslate(self) -> None:
        self.link_label.setText(self.tr("Reconnecting… The Software Center service stopped answering; the "
                                        "upgrade goes on, and this page follows it again as soon as the "
                                        "service answers."))
        self.steps_heading.setText(self.tr("Steps"))
        self.log_heading.setText(self.tr("Log (smsts.log)"))
        self.cancel_button.setText(self.tr("&Cancel"))
        self.cancel_button.setAccessibleName(self.tr("Cancel the upgrade"))
        self.resume_button.setText(self.tr("&Resume"))
        self.resume_button.setAccessibleName(self.tr("Continue the upgrade"))
        self.overall.setAccessibleName(self.tr("Overall progress"))
        self.step_list.setAccessibleName(self.tr("Steps of the task sequence"))
        self.log_tail.setAccessibleName(self.tr("Last lines of the log"))
        self._retranslate_log_button()
        self._show_header()
        self._show_banner()
