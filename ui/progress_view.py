"""The progress view: a running task sequence — its name, step x of y, overall percent, the
step list, the restart countdown, the failure, the log tail, and Cancel.

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
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core import RunOutcome, RunResult, RunStatus, parse_cmtrace

from .bridge import RunHeader
from .failure_view import FailureView
from .restart_countdown import RestartCountdown
from .run_controller import RunController
from .step_delegate import StepDelegate
from .style import Accent, accent_color, icon, named, text_label
from .wording import fill, run_title, step_counter_text

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

        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        outer.setSpacing(8)

        self.title_label = text_label("runTitle", wrap=True)
        f = QFont(self.title_label.font())
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.3)
        self.title_label.setFont(f)
        outer.addWidget(self.title_label)

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
        self.step_list.setMouseTracking(True)
        outer.addWidget(self.step_list, 3)

        self.log_heading = text_label("logHeading")
        outer.addWidget(self.log_heading)
        self.log_tail = named(QPlainTextEdit(), "logTail")
        self.log_tail.setReadOnly(True)
        self.log_tail.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log_tail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log_tail.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        fm = self.log_tail.fontMetrics()
        self.log_tail.setFixedHeight(fm.lineSpacing() * (LOG_TAIL_LINES + 1) + 12)
        outer.addWidget(self.log_tail)

        buttons = QHBoxLayout()
        buttons.addStretch()
        self.cancel_button = named(QPushButton(), "cancelButton")
        self.cancel_button.clicked.connect(self.ask_cancel)
        buttons.addWidget(self.cancel_button)
        outer.addLayout(buttons)

        self._log_timer = QTimer(self)
        self._log_timer.setInterval(LOG_REFRESH_MS)
        self._log_timer.timeout.connect(self.refresh_log)

        controller.bridge.headerChanged.connect(self._on_header)
        controller.started.connect(self._on_started)
        controller.finished.connect(self._on_finished)
        controller.problem.connect(self._on_problem)
        controller.runningChanged.connect(self._on_running)
        controller.restartPending.connect(lambda _e: self._update_buttons())
        controller.countdownChanged.connect(lambda _s: self._update_buttons())
        controller.restartCommandRan.connect(self._on_restart_command)
        controller.linkChanged.connect(self._on_link)
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
            self.step_list.scrollTo(self.controller.model.index(row), QAbstractItemView.ScrollHint.EnsureVisible)

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
        elif result.status is RunOutcome.SUCCEEDED:
            self._set_banner("succeeded")
        elif result.status is RunOutcome.CANCELLED:
            self._set_banner("cancelled")
        self.refresh_log()
        self._update_buttons()

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
        """Ask before cancelling (a window-modal dialog opened with open(), answered by signal)."""
        if self.controller.counting_down and not self.controller.restart_by_agent:
            # Nothing runs: stop the countdown; the run stays saved for later.
            self._cancel_task = asyncio.ensure_future(self.controller.cancel())
            self._set_banner("resumable")
            self._update_buttons()
            return
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

    # --- showing ---------------------------------------------------------------------

    def _show_header(self) -> None:
        h = self._header
        self.title_label.setText(run_title(h.status, h.name))
        self.step_label.setText(step_counter_text(h.number, h.total, h.current))
        self.overall.setValue(int(h.percent * 10))
        percent = fill(self.tr("%1 % complete"), int(h.percent))
        self.percent_label.setText(percent if h.name else "")
        self.overall.setAccessibleDescription(percent)

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
            text = self._problem or ""
        self.banner_label.setText(text)

    def _update_buttons(self) -> None:
        c = self.controller
        self.cancel_button.setEnabled((c.running and not c.reconnecting)
                                      or (c.counting_down and not c.restart_by_agent))
        resumable = (
            not c.running
            and not c.counting_down
            and self._banner_kind in ("cancelled", "resumable", "problem")
            and c.saved_run_status() in _RESUMABLE
        )
        self.resume_button.setVisible(resumable)

    def refresh_log(self) -> None:
        """Show the last lines of smsts.log if it changed since the last look (and someone can see it)."""
        if not self.isVisible():
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
        self._show_header()
        self._show_banner()
