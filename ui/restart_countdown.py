"""The restart banner: "Restarting in N s" with "Restart now", driven by the RunController.

The controller owns the countdown (a one-second timer started when the engine's task has
returned with RestartPending) and what happens at zero: this app does not reboot, so the
run resumes from its persisted state, exactly as after a reboot; with an admin-configured
`Options.restart_command`, that command runs instead and the run continues at the next
`software-center resume`. This widget only shows it and offers "Restart now".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core import RestartPending

from .style import Accent, icon, named, text_label
from .wording import restart_failed_text

if TYPE_CHECKING:
    from .run_controller import RunController

__all__ = ["RestartCountdown"]


class RestartCountdown(QFrame):
    """Hidden until the controller reports RestartPending; hides again when the run resumes."""

    def __init__(self, controller: RunController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("restartCountdown")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._controller = controller
        self._event: RestartPending | None = None
        self._seconds: int | None = None
        self._command_result: bool | None = None

        outer = QHBoxLayout(self)
        outer.setContentsMargins(12, 10, 12, 10)
        outer.setSpacing(12)
        badge = QLabel()
        badge.setPixmap(icon("restart", Accent.INFO).pixmap(QSize(28, 28), self.devicePixelRatioF()))
        outer.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        self.countdown_label = text_label("countdownLabel")
        f = QFont(self.countdown_label.font())
        f.setBold(True)
        self.countdown_label.setFont(f)
        self.message_label = text_label("restartMessage", wrap=True)
        self.note_label = text_label("restartNote", wrap=True)
        for w in (self.countdown_label, self.message_label, self.note_label):
            w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            text.addWidget(w)
        outer.addLayout(text, 1)
        self.restart_button = named(QPushButton(), "restartNowButton")
        self.restart_button.setIcon(icon("restart"))
        self.restart_button.clicked.connect(controller.restart_now)
        outer.addWidget(self.restart_button, 0, Qt.AlignmentFlag.AlignVCenter)

        controller.restartPending.connect(self._on_pending)
        controller.countdownChanged.connect(self._on_tick)
        controller.restartCommandRan.connect(self._on_command)
        controller.started.connect(self._on_started)
        self.setVisible(False)
        self._retranslate()

    def _on_pending(self, event: RestartPending) -> None:
        self._event = event
        self._seconds = None
        self._command_result = None
        self._retranslate()
        self.setVisible(True)

    def _on_tick(self, seconds: int) -> None:
        self._seconds = seconds
        self._retranslate()

    def _on_command(self, ok: bool) -> None:
        self._command_result = ok
        self._retranslate()

    def _on_started(self, _deployment: str) -> None:
        self._event = None
        self.setVisible(False)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def _retranslate(self) -> None:
        self.restart_button.setText(self.tr("&Restart now"))
        self.restart_button.setAccessibleName(self.tr("Restart now"))
        ev = self._event
        message = (ev.message if ev is not None and ev.message else
                   self.tr("Your computer restarts to continue the upgrade."))
        self.message_label.setText(message)
        command = self._controller.uses_restart_command
        if self._controller.restart_by_agent:
            # The agent restarts the computer (or, for a user's agent, simulates it) and
            # the run continues by itself; Restart now asks it to continue at once.
            self.restart_button.setVisible(True)
            if self._command_result is False:
                self.countdown_label.setText(self.tr("Restart your computer to continue"))
                self.note_label.setText(restart_failed_text(self._controller.restart_failure))
                return
            seconds = self._seconds if self._seconds is not None else (ev.countdown_s if ev is not None else 0)
            self.countdown_label.setText(self.tr("Restarting in %n s", "", max(0, seconds)) if seconds > 0
                                         else self.tr("Restarting…"))
            self.note_label.setText(self.tr("Save your work. The upgrade then continues from where it stopped."))
            return
        if self._command_result is not None:
            self.countdown_label.setText(self.tr("Restarting…") if self._command_result
                                         else self.tr("The computer could not be restarted"))
            self.note_label.setText(
                self.tr("The upgrade continues when you sign in again (software-center resume).")
                if self._command_result
                else self.tr("Restart the computer yourself: the upgrade continues when you sign in again, "
                             "or choose Resume to continue now.")
            )
            self.restart_button.setVisible(False)
            return
        seconds = self._seconds if self._seconds is not None else (ev.countdown_s if ev is not None else 0)
        self.countdown_label.setText(self.tr("Restarting in %n s", "", max(0, seconds)))
        self.note_label.setText(
            self.tr("After the restart, the upgrade continues when you sign in (software-center resume).")
            if command
            else self.tr("Save your work. The upgrade then continues from where it stopped.")
        )
        self.restart_button.setVisible(True)
