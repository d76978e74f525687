"""The failure view: a failed run's error code in hex, its cause in words, what to do, and the log.

The words come from `ui.wording.failure_words(reason, exit_code)`: the engine's stable
failure code decides them (and, for a program's failure, its exit code), never the text of
the engine's message, which is shown only as a technical detail under them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, QUrl
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

from core import ErrorCode, windows_setup_error

from .style import Accent, icon, named, text_label
from .wording import failure_words, fill, hex_code

__all__ = ["FailureView"]


class FailureView(QFrame):
    """Shows one failure. `show_failure(code, error, step)`; "Open log" opens smsts.log."""

    def __init__(self, log_path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("failureView")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._log_path = log_path
        self._reason: ErrorCode | None = None
        self._code: int | None = None
        self._error: str | None = None
        self._step: str | None = None
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
        self.code_label = text_label("errorCode")
        self.step_label = text_label("failedStep", wrap=True)
        self.cause_label = text_label("failureCause", wrap=True)
        self.advice_label = text_label("failureAdvice", wrap=True)
        self.detail_label = text_label("failureDetail", wrap=True)
        self.detail_label.setStyleSheet("color: palette(placeholder-text);")
        self.log_label = text_label("logPath", wrap=True)
        self.log_label.setVisible(False)
        for w in (self.heading, self.code_label, self.step_label, self.cause_label, self.advice_label,
                  self.detail_label, self.log_label):
            w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            w.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
            lay.addWidget(w)
        row = QHBoxLayout()
        self.open_log_button = named(QPushButton(), "openLogButton")
        self.open_log_button.setIcon(icon("folder"))
        self.open_log_button.clicked.connect(self.open_log)
        row.addWidget(self.open_log_button)
        row.addStretch()
        lay.addLayout(row)
        self._retranslate()

    def set_log_path(self, path: Path) -> None:
        self._log_path = path

    def show_failure(self, reason: ErrorCode | None, code: int | None, error: str | None,
                     step: str | None = None) -> None:
        """Fill the view for a failure: the engine's `reason`, its number `code` (a program's
        exit code), its English message `error` (a detail), the failed `step`'s name."""
        self._reason, self._code, self._error, self._step = reason, code, error, step
        self.log_label.setVisible(False)
        self._retranslate()

    @property
    def code(self) -> int | None:
        return self._code

    def open_log(self) -> None:
        """Open smsts.log with the desktop's handler; when there is none, show where it is."""
        if self._log_path is None:
            return
        url = QUrl.fromLocalFile(str(self._log_path))
        self.opened_url = url
        if not QDesktopServices.openUrl(url):
            self.log_label.setText(fill(self.tr("The log is in %1"), self._log_path))
            self.log_label.setVisible(True)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def _retranslate(self) -> None:
        self.heading.setText(self.tr("The upgrade could not finish"))
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
        self.advice_label.setText(fill(self.tr("What to do: %1"), advice) if advice else "")
        self.advice_label.setVisible(bool(advice))
        # The engine's own message, when it says more than the words above (it often just
        # repeats Windows Setup's description of the code).
        detail = self._error
        if detail and self._code is not None and detail == windows_setup_error(self._code):
            detail = None
        self.detail_label.setText(fill(self.tr("Details: %1"), detail) if detail else "")
        self.detail_label.setVisible(bool(detail))
