"""A calm banner at the top of the window offering to continue a saved run.

Shown at start when the data folder holds a run that did not finish (the app or the
computer stopped mid-run, the person cancelled, or it waits after a restart), and after
a cancel. Resume continues exactly where it stopped; Not now only hides the banner.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from core import RunState, RunStatus

from .style import Accent, IconLabel, named, text_label
from .wording import fill

__all__ = ["ResumeBanner"]


class ResumeBanner(QWidget):
    resume_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._state: RunState | None = None
        lay = QHBoxLayout(self)
        lay.setContentsMargins(14, 10, 10, 10)
        lay.setSpacing(12)
        glyph = IconLabel("restart", Accent.INFO, 24)
        lay.addWidget(glyph, 0, Qt.AlignmentFlag.AlignVCenter)
        self.text = text_label("bannerText", wrap=True)
        lay.addWidget(self.text, 1)
        self.resume_button = named(QPushButton(), "bannerResumeButton")
        self.resume_button.clicked.connect(self.resume_requested)
        self.resume_button.clicked.connect(self.hide)
        self.later_button = named(QPushButton(), "notNowButton")
        self.later_button.setFlat(True)
        self.later_button.clicked.connect(self.hide)
        lay.addWidget(self.resume_button, 0, Qt.AlignmentFlag.AlignVCenter)
        lay.addWidget(self.later_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.hide()
        self.retranslate()

    def offer(self, state: RunState) -> None:
        self._state = state
        self.retranslate()
        self.show()

    def withdraw(self) -> None:
        self._state = None
        self.hide()

    def retranslate(self) -> None:
        self.resume_button.setText(self.tr("&Resume"))
        self.resume_button.setAccessibleName(self.tr("Resume the installation"))
        self.later_button.setText(self.tr("&Not now"))
        self.setAccessibleName(self.tr("An installation can be resumed"))
        s = self._state
        if s is None:
            self.text.setText("")
            return
        if s.status is RunStatus.RESTART_PENDING:
            text = self.tr("“%1” is waiting to continue after a restart. Resume it when you are ready.")
        elif s.status is RunStatus.CANCELLED:
            text = self.tr("“%1” was stopped at step %2 of %3. It can continue where it stopped.")
        else:
            text = self.tr("“%1” was interrupted at step %2 of %3. It can continue where it stopped.")
        # The step at the saved pointer, as the engine counts: "Step executed+1 of total".
        total = max(s.total, 1)
        self.text.setText(fill(text, s.name, min(max(s.executed, 0) + 1, total), total))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
