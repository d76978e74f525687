"""The failure card: what went wrong in the person's language, what to do, **Retry**, and
the technical details (the error code, the engine's English message, the log) behind
"Show details".

The words come from `ui.wording.failure_words(reason, exit_code)`: the engine's stable
failure code decides them (and, for a program's failure, its exit code), never the text of
the engine's message. A compatibility block names the app when Setup's output named it
(`core.blocking_app_of`: the engine keeps the name at the end of its message). The
engine's own English is shown only under Details, without the package ID it starts with
(the cause above already says which content).

Retry starts the deployment again (`retry_requested`); the progress page decides how.
The labels wrap in a column and the buttons sit on their own row under them, so nothing
overlaps at 800×600 or at the window's minimum size.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core import ErrorCode, blocking_app_of, windows_setup_error

from .style import Accent, icon, named, text_label
from .wording import failure_words, fill, hex_code

__all__ = ["FailureView", "without_package_id"]

# "NWT00012: sources/install.wim could not be downloaded …": the engine's messages about
# content start with the package ID.
_PACKAGE_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*\d(?:\.\d+)?: ")


def without_package_id(text: str) -> str:
    """The engine's message without the package ID it starts with (if it does)."""
    return _PACKAGE_PREFIX.sub("", text, count=1)


class FailureView(QFrame):
    """Shows one failure. `show_failure(reason, code, error, step)`; Retry emits `retry_requested`."""

    retry_requested = Signal()

    def __init__(self, log_path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("failureView")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._log_path = log_path
        self._reason: ErrorCode | str | None = None  # a saved run's code comes as text
        self._code: int | None = None
        self._error: str | None = None
        self._step: str | None = None
        self._log_shown = False
        self.opened_url: QUrl | None = None  # the last URL "Open log" asked for

        outer = QHBoxLayout(self)
        outer.setContentsMargins(12, 12, 12, 12)
        outer.setSpacing(12)
        self._icon = QLabel()
        self._icon.setPixmap(icon("error", Accent.NEGATIVE).pixmap(QSize(32, 32), self.devicePixelRatioF()))
        self._icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        outer.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)

        lay = QVBoxLayout()
        lay.setSpacing(6)
        outer.addLayout(lay, 1)
        self.heading = text_label("failureHeading", wrap=True)
        f = QFont(self.heading.font())
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.heading.setFont(f)
        self.cause_label = text_label("failureCause", wrap=True)
        self.blocker_label = text_label("blockingApp", wrap=True)
        self.advice_label = text_label("failureAdvice", wrap=True)
        self.step_label = text_label("failedStep", wrap=True)
        # Details: the code admins look up, the engine's English, where the log is.
        self.details = named(QWidget(), "failureDetails")
        d = QVBoxLayout(self.details)
        d.setContentsMargins(0, 0, 0, 0)
        d.setSpacing(4)
        self.code_label = text_label("errorCode", wrap=True)
        self.detail_label = text_label("failureDetail", wrap=True)
        self.detail_label.setStyleSheet("color: palette(placeholder-text);")
        self.log_label = text_label("logPath", wrap=True)
        for w in (self.code_label, self.detail_label, self.log_label):
            d.addWidget(w)
        self.details.setVisible(False)
        for w in (self.heading, self.cause_label, self.blocker_label, self.advice_label, self.step_label,
                  self.code_label, self.detail_label, self.log_label):
            w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            # Ignored width: a label's long text wraps to the card's width instead of widening it.
            w.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        for w in (self.heading, self.cause_label, self.blocker_label, self.advice_label, self.step_label):
            lay.addWidget(w)
        lay.addWidget(self.details)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.retry_button = named(QPushButton(), "retryButton")
        self.retry_button.setIcon(icon("restart"))
        self.retry_button.clicked.connect(self.retry_requested)
        row.addWidget(self.retry_button)
        self.details_button = named(QPushButton(), "failureDetailsButton")
        self.details_button.setCheckable(True)
        self.details_button.setFlat(True)
        self.details_button.toggled.connect(self._toggle_details)
        row.addWidget(self.details_button)
        self.open_log_button = named(QPushButton(), "openLogButton")
        self.open_log_button.setIcon(icon("folder"))
        self.open_log_button.setFlat(True)
        self.open_log_button.clicked.connect(self.open_log)
        row.addWidget(self.open_log_button)
        row.addStretch()
        lay.addLayout(row)
        self._retranslate()

    def set_log_path(self, path: Path) -> None:
        self._log_path = path

    def show_failure(self, reason: ErrorCode | str | None, code: int | None, error: str | None,
                     step: str | None = None) -> None:
        """Fill the view for a failure: the engine's `reason`, its number `code` (a program's
        exit code), its English message `error` (a detail), the failed `step`'s name."""
        self._reason, self._code, self._error, self._step = reason, code, error, step
        self._log_shown = False
        self.details_button.setChecked(False)
        self._retranslate()

    @property
    def code(self) -> int | None:
        return self._code

    @property
    def blocking_app(self) -> str | None:
        """The app Setup said blocks the upgrade (None when it named none)."""
        return blocking_app_of(self._code, self._error)

    def open_log(self) -> None:
        """Open smsts.log with the desktop's handler; when there is none, show where it is."""
        if self._log_path is None:
            return
        url = QUrl.fromLocalFile(str(self._log_path))
        self.opened_url = url
        if not QDesktopServices.openUrl(url):
            self._log_shown = True
            self.details_button.setChecked(True)
            self._retranslate()

    def _toggle_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self._retranslate()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def _retranslate(self) -> None:
        self.heading.setText(self.tr("The upgrade could not finish"))
        self.retry_button.setText(self.tr("Re&try"))
        self.retry_button.setAccessibleName(self.tr("Start the upgrade again"))
        shown = self.details_button.isChecked()
        self.details_button.setText(self.tr("Hide technical &details") if shown
                                    else self.tr("Technical &details"))
        self.open_log_button.setText(self.tr("Open &log"))
        self.open_log_button.setAccessibleName(self.tr("Open the task sequence log"))
        self.code_label.setText(
            fill(self.tr("Error code: %1"), hex_code(self._code)) if self._code is not None
            else self.tr("Error code: none")
        )
        self.step_label.setText(fill(self.tr("Failed step: %1"), self._step) if self._step else "")
        self.step_label.setVisible(bool(self._step))
        cause, advice = failure_words(self._reason, self._code)
        self.cause_label.setText(cause)
        app = self.blocking_app
        self.blocker_label.setText(fill(self.tr("The app that blocks it, as Windows Setup names it: “%1”."), app)
                                   if app else "")
        self.blocker_label.setVisible(bool(app))
        self.advice_label.setText(fill(self.tr("What to do: %1"), advice) if advice else "")
        self.advice_label.setVisible(bool(advice))
        # The engine's own message, when it says more than the words above (it often just
        # repeats Windows Setup's description of the code, or names the blocking app shown above).
        detail = self._error
        if detail and self._code is not None and (detail == windows_setup_error(self._code) or app):
            detail = None
        detail = without_package_id(detail) if detail else None
        self.detail_label.setText(fill(self.tr("Details: %1"), detail) if detail else "")
        self.detail_label.setVisible(bool(detail))
        self.log_label.setText(fill(self.tr("The log is in %1"), self._log_path)
                               if self._log_shown and self._log_path is not None else "")
        self.log_label.setVisible(self._log_shown and self._log_path is not None)
        self.setAccessibleName(self.heading.text())
        self.setAccessibleDescription(" ".join(t for t in (cause, self.blocker_label.text(),
                                                           self.advice_label.text()) if t))
