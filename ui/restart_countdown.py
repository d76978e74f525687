"""The restart card: "Restarting in N s" with **Restart now** and **Snooze**, driven by the
RunController. It never offers a bare Cancel: a restart can be carried out now or later,
not dropped (the run waits for it).

With the agent (the window's normal case) the agent carries the restart out: this card
shows its countdown, Restart now asks it to restart now (a simulated restart continues the
run at once), and Snooze postpones the restart by one of the agent's delays (the admin's
`restart_snooze_minutes`; 15 min, 1 h and 4 h unless set). A postponed restart reads
"Restart your computer to continue", says until when, and keeps Restart now; when the
postponement ends the countdown starts again. In process (the controller's own tests) the
controller owns the countdown and what happens at zero (see RunController).

The countdown's start, a postponement and a failed restart are announced to assistive
technology (ui/announce.py); the seconds ticking are not (they would drown everything).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core import RestartPending

from .announce import announce
from .style import Accent, icon, named, text_label
from .wording import fill, format_datetime, restart_failed_text, snooze_choice_text

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
        self.countdown_label = text_label("countdownLabel", wrap=True)
        f = QFont(self.countdown_label.font())
        f.setBold(True)
        self.countdown_label.setFont(f)
        # The admin's message may be long: it wraps, and never pushes the buttons away.
        self.message_label = text_label("restartMessage", wrap=True)
        self.note_label = text_label("restartNote", wrap=True)
        for w in (self.countdown_label, self.message_label, self.note_label):
            w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            w.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            text.addWidget(w)
        # The actions under the words (not beside them): at 800 px the words keep their width.
        actions = QHBoxLayout()
        actions.setSpacing(8)
        self.restart_button = named(QPushButton(), "restartNowButton")
        self.restart_button.setIcon(icon("restart"))
        self.restart_button.clicked.connect(controller.restart_now)
        actions.addWidget(self.restart_button)
        self.snooze_choice = named(QComboBox(), "snoozeChoice")
        self.snooze_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.snooze_button = named(QPushButton(), "snoozeButton")
        self.snooze_button.clicked.connect(self._snooze)
        actions.addWidget(self.snooze_button)
        actions.addWidget(self.snooze_choice)
        actions.addStretch()
        text.addLayout(actions)
        outer.addLayout(text, 1)

        controller.restartPending.connect(self._on_pending)
        controller.countdownChanged.connect(self._on_tick)
        controller.restartCommandRan.connect(self._on_command)
        controller.snoozedChanged.connect(self._on_snoozed)
        controller.started.connect(self._on_started)
        self.setVisible(False)
        self._retranslate()

    # --- the controller --------------------------------------------------------------

    def _on_pending(self, event: RestartPending) -> None:
        self._event = event
        self._seconds = None
        self._command_result = None
        self._retranslate()
        self.setVisible(True)
        announce(self, self.countdown_label.text(), assertive=True)

    def _on_tick(self, seconds: int) -> None:
        self._seconds = seconds
        self._retranslate()

    def _on_command(self, ok: bool) -> None:
        self._command_result = ok
        self._retranslate()
        announce(self, self.countdown_label.text() + " " + self.note_label.text(), assertive=True)

    def _on_snoozed(self, until: datetime | None) -> None:
        self._retranslate()
        if until is not None:
            announce(self, self.countdown_label.text() + " " + self.note_label.text())

    def _on_started(self, _deployment: str) -> None:
        self._event = None
        self.setVisible(False)

    def _snooze(self) -> None:
        minutes = self.snooze_choice.currentData()
        if isinstance(minutes, int):
            self._controller.snooze(minutes)

    # --- showing ---------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def _fill_choices(self) -> None:
        chosen = self.snooze_choice.currentData()
        choices = self._controller.snooze_choices
        self.snooze_choice.blockSignals(True)
        self.snooze_choice.clear()
        for minutes in choices:
            self.snooze_choice.addItem(snooze_choice_text(minutes), minutes)
        at = self.snooze_choice.findData(chosen) if chosen is not None else -1
        self.snooze_choice.setCurrentIndex(at if at >= 0 else 0)
        self.snooze_choice.blockSignals(False)

    def _retranslate(self) -> None:
        c = self._controller
        self.restart_button.setText(self.tr("&Restart now"))
        self.restart_button.setAccessibleName(self.tr("Restart now"))
        self.snooze_button.setText(self.tr("&Snooze"))
        self.snooze_button.setAccessibleName(self.tr("Postpone the restart"))
        self.snooze_choice.setAccessibleName(self.tr("Postpone the restart by"))
        self._fill_choices()
        ev = self._event
        message = (ev.message if ev is not None and ev.message else
                   self.tr("Your computer restarts to continue the upgrade."))
        self.message_label.setText(message)
        command = c.uses_restart_command
        snoozed = c.snoozed_until
        can_snooze = c.restart_waiting and self._command_result is None
        self.snooze_button.setVisible(can_snooze)
        self.snooze_choice.setVisible(can_snooze)
        self.restart_button.setVisible(True)
        if snoozed is not None:
            self.countdown_label.setText(self.tr("Restart your computer to continue"))
            self.note_label.setText(fill(self.tr("The restart is postponed until %1. Save your work, then choose "
                                                 "Restart now; the upgrade continues from where it stopped."),
                                         format_datetime(snoozed)))
            return
        if c.restart_by_agent:
            # The agent restarts the computer (or, for a user's agent, simulates it) and
            # the run continues by itself; Restart now asks it to restart at once.
            if self._command_result is False:
                self.countdown_label.setText(self.tr("Restart your computer to continue"))
                self.note_label.setText(restart_failed_text(c.restart_failure))
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
