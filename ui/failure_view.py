"""The failure view: a failed run's error code in hex, its cause in words, what to do, and the log.

`failure_words(code, error)` is the one function that turns an engine error code into the
sentences a person reads (translated); the engine's own message is shown only as a
technical detail under them. Known codes: the Windows Setup results (compatibility block
0xC1900208, disk space 0xC190020E, compatibility scan only 0xC1900210, driver rollback
0xC1900101, …), the disk, memory and program errors the engine reports for its own steps,
and the content family (download or integrity failures, 0x80091007). Unknown codes fall
back to `core.process.windows_setup_error`, then to a general sentence.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QEvent, QSize, Qt, QUrl
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

from core import Win32Code, windows_setup_error

from .style import Accent, icon

__all__ = ["FailureView", "failure_words", "hex_code"]

ERROR_ACCESS_DENIED = Win32Code.ACCESS_DENIED
ERROR_CANCELLED = Win32Code.CANCELLED
ERROR_CONTENT = Win32Code.CONTENT_FAILED
ERROR_DISK_FULL = Win32Code.DISK_FULL
ERROR_NOT_ENOUGH_MEMORY = Win32Code.NOT_ENOUGH_MEMORY
ERROR_PROGRAM = Win32Code.FILE_NOT_FOUND


def _u32(code: int) -> int:
    return code & 0xFFFFFFFF if -(2**31) <= code < 0 else code


def hex_code(code: int) -> str:
    """Always hex, as admins look codes up: `0xC1900208`; small codes also in decimal: `0x00000BC2 (3010)`."""
    u = _u32(code)
    text = f"0x{u:08X}"
    return f"{text} ({u})" if 0 < u < 0x10000 else text


# Engine error code -> (cause, what to do). Marked here, translated when shown.
_WORDS: dict[int, tuple[str, str]] = {
    0xC1900208: (
        QT_TRANSLATE_NOOP(
            "FailureView",
            "An app or driver on this computer is not compatible with Windows 11 and blocks the upgrade. "
            "Windows Setup stopped after its compatibility check; nothing on the computer was changed.",
        ),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Uninstall or update the app that blocks the upgrade (the log names it), then start the upgrade "
            "again. If you cannot remove it yourself, contact your IT department.",
        ),
    ),
    0xC190020E: (
        QT_TRANSLATE_NOOP(
            "FailureView", "There is not enough free disk space for Windows Setup to upgrade this computer."
        ),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Free up disk space (empty the Recycle Bin, remove large files you no longer need, uninstall unused "
            "apps), then start the upgrade again. What was already downloaded is kept.",
        ),
    ),
    0xC1900210: (
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Windows Setup only ran its compatibility check. It found no problems, but the upgrade itself did "
            "not run.",
        ),
        QT_TRANSLATE_NOOP("FailureView", "Start the upgrade again. If this happens again, contact your IT department."),
    ),
    0xC1900101: (
        QT_TRANSLATE_NOOP(
            "FailureView",
            "A device driver stopped the upgrade, and Windows went back to the previous version. Your files, "
            "apps and settings are as they were.",
        ),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Disconnect external devices (docks, printers, USB drives), install the latest drivers, then start "
            "the upgrade again. If it fails again, contact your IT department.",
        ),
    ),
    ERROR_DISK_FULL: (
        QT_TRANSLATE_NOOP(
            "FailureView",
            "There is not enough space on the disk for the upgrade's content or for the upgrade itself.",
        ),
        QT_TRANSLATE_NOOP(
            "FailureView", "Free up disk space, then start the upgrade again. What was already downloaded is kept."
        ),
    ),
    ERROR_ACCESS_DENIED: (
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Software Center cannot write to its data folder, so the upgrade stopped. Nothing was lost: the "
            "upgrade is kept where it stopped.",
        ),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Make sure the data folder can be written (and its disk is not full), then continue the upgrade with "
            "Resume. If you cannot, contact your IT department.",
        ),
    ),
    ERROR_NOT_ENOUGH_MEMORY: (
        QT_TRANSLATE_NOOP("FailureView", "This computer does not have enough memory for the upgrade."),
        QT_TRANSLATE_NOOP(
            "FailureView", "Contact your IT department: this computer may need more memory before it can be upgraded."
        ),
    ),
    ERROR_CONTENT: (
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Part of the upgrade's content could not be downloaded, or a downloaded file did not match what "
            "your organization published. Nothing that failed the check was used.",
        ),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Check the internet connection, then start the upgrade again: downloads continue where they "
            "stopped. If it keeps failing, contact your IT department.",
        ),
    ),
    ERROR_PROGRAM: (
        QT_TRANSLATE_NOOP("FailureView", "A program the upgrade needs could not be started."),
        QT_TRANSLATE_NOOP("FailureView", "Contact your IT department and give them the log."),
    ),
    ERROR_CANCELLED: (
        QT_TRANSLATE_NOOP("FailureView", "The upgrade was cancelled."),
        QT_TRANSLATE_NOOP("FailureView", "You can continue it later from where it stopped."),
    ),
}
_TIMEOUT = (
    QT_TRANSLATE_NOOP("FailureView", "A step took longer than your IT department allows and was stopped."),
    QT_TRANSLATE_NOOP("FailureView", "Start the upgrade again. If it happens again, contact your IT department."),
)
_NO_CODE_CAUSE = QT_TRANSLATE_NOOP("FailureView", "The upgrade could not finish.")
_OTHER_CAUSE = QT_TRANSLATE_NOOP("FailureView", "A step of the upgrade ended with an error.")
_OTHER_ADVICE = QT_TRANSLATE_NOOP(
    "FailureView", "Start the upgrade again. If it fails again, open the log and give it to your IT department."
)


def _tr(text: str) -> str:
    return QCoreApplication.translate("FailureView", text)


def failure_words(code: int | None, error: str | None) -> tuple[str, str]:
    """(cause, what to do) for a failed run, translated. `error` is the engine's message (for logs)."""
    c = _u32(code) if code is not None else None
    if c in _WORDS:
        cause, advice = _WORDS[c]
        return _tr(cause), _tr(advice)
    if c is None:
        if error and "did not finish within" in error:
            return _tr(_TIMEOUT[0]), _tr(_TIMEOUT[1])
        return _tr(_NO_CODE_CAUSE), _tr(_OTHER_ADVICE)
    setup = windows_setup_error(c)  # English: the engine's words for the codes not worded above
    return (setup + "." if setup else _tr(_OTHER_CAUSE)), _tr(_OTHER_ADVICE)


class FailureView(QFrame):
    """Shows one failure. `show_failure(code, error, step)`; "Open log" opens smsts.log."""

    def __init__(self, log_path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("failureView")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._log_path = log_path
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
        self.heading = QLabel(objectName="failureHeading", wordWrap=True)
        f = QFont(self.heading.font())
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.heading.setFont(f)
        self.code_label = QLabel(objectName="errorCode")
        self.step_label = QLabel(objectName="failedStep", wordWrap=True)
        self.cause_label = QLabel(objectName="failureCause", wordWrap=True)
        self.advice_label = QLabel(objectName="failureAdvice", wordWrap=True)
        self.detail_label = QLabel(objectName="failureDetail", wordWrap=True)
        self.detail_label.setStyleSheet("color: palette(placeholder-text);")
        self.log_label = QLabel(objectName="logPath", wordWrap=True)
        self.log_label.setVisible(False)
        for w in (self.heading, self.code_label, self.step_label, self.cause_label, self.advice_label,
                  self.detail_label, self.log_label):
            w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            w.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
            lay.addWidget(w)
        row = QHBoxLayout()
        self.open_log_button = QPushButton(objectName="openLogButton")
        self.open_log_button.setIcon(icon("folder"))
        self.open_log_button.clicked.connect(self.open_log)
        row.addWidget(self.open_log_button)
        row.addStretch()
        lay.addLayout(row)
        self._retranslate()

    def set_log_path(self, path: Path) -> None:
        self._log_path = path

    def show_failure(self, code: int | None, error: str | None, step: str | None = None) -> None:
        """Fill the view for a failure with engine `code`, engine message `error`, failed `step`."""
        self._code, self._error, self._step = code, error, step
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
            self.log_label.setText(self.tr("The log is in %1").replace("%1", str(self._log_path)))
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
            self.tr("Error code: %1").replace("%1", hex_code(self._code)) if self._code is not None
            else self.tr("Error code: none")
        )
        self.step_label.setText(self.tr("Failed step: %1").replace("%1", self._step) if self._step else "")
        self.step_label.setVisible(bool(self._step))
        cause, advice = failure_words(self._code, self._error)
        self.cause_label.setText(cause)
        self.advice_label.setText(self.tr("What to do: %1").replace("%1", advice))
        # The engine's own message, when it says more than the words above (it often just
        # repeats Windows Setup's description of the code).
        detail = self._error
        if detail and self._code is not None and detail == windows_setup_error(self._code):
            detail = None
        self.detail_label.setText(self.tr("Details: %1").replace("%1", detail) if detail else "")
        self.detail_label.setVisible(bool(detail))
