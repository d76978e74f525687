"""The window's side of the agent's schedule: a new catalog listed without anyone asking,
the countdown of a required deployment at its deadline with "Install now", and the
notifications the tray shows.

`ScheduleWatch` reads the agent's status (polled by the window) and says what changed:
`catalogChanged` when a new catalog came into force (the agent's `policy.version`),
`countdownChanged` with the soonest countdown (or None), and `notice(title, text,
deployment)` for what a person should hear about even with the window closed: a new
required deployment, its countdown beginning, and (from the run controller) a restart
needed or a run finished or failed.

`DeadlineBanner` shows that countdown at the top of the window. It cannot be dismissed:
the deployment starts by itself at the end of it, as ConfigMgr's final countdown.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from core import Refusal

from .style import Accent, IconLabel, named, text_label
from .wording import fill, format_datetime, refusal_summary

__all__ = ["DeadlineBanner", "ScheduleWatch", "countdown_text"]


def countdown_text(seconds: float) -> str:
    """"12:05" (minutes and seconds), or "1:02:05" from an hour on."""
    s = max(0, int(seconds + 0.999))
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ScheduleWatch(QObject):
    catalogChanged = Signal()  # noqa: N815 - Qt signal naming
    countdownChanged = Signal(object)  # noqa: N815 - the soonest countdown entry (dict) or None
    notice = Signal(str, str, str)  # title, text, deployment ID ("" for none)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._version: int | None = None
        self._seen: dict[str, str] = {}  # "ID@deadline" -> the state last seen
        self._first = True
        self.countdown: dict[str, Any] | None = None

    def update(self, status: dict[str, Any]) -> None:
        """One status of the agent (`GET /v1/status`)."""
        policy = status.get("policy")
        version = policy.get("version") if isinstance(policy, dict) else None
        if isinstance(version, int):
            if self._version is not None and version != self._version:
                self.catalogChanged.emit()
            self._version = version
        entries = [e for e in status.get("schedule") or [] if isinstance(e, dict)]
        for entry in entries:
            key = f"{entry.get('deployment')}@{entry.get('deadline')}"
            state = str(entry.get("state"))
            before = self._seen.get(key)
            self._seen[key] = state
            if before == state:
                continue
            name, dep = str(entry.get("name") or ""), str(entry.get("deployment") or "")
            if state == "countdown" and before != "countdown":
                self.notice.emit(self.tr("A required upgrade starts soon"),
                                 fill(self.tr("“%1” starts by itself on %2. Save your work, or install it now."),
                                      name, format_datetime(entry.get("starts_at"))), dep)
            elif before is None and not self._first and state in ("scheduled", "waiting"):
                self.notice.emit(self.tr("A new required upgrade"),
                                 fill(self.tr("“%1” must be installed by %2."), name,
                                      format_datetime(entry.get("deadline"))), dep)
        self._first = False
        counting = [e for e in entries if e.get("state") == "countdown" and e.get("seconds_left") is not None]
        soonest = min(counting, key=lambda e: float(e["seconds_left"]), default=None)
        if soonest is not None:
            soonest = {**soonest, "ends_at": time.monotonic() + float(soonest["seconds_left"])}
        else:  # none counts down: one that is due but may not start here says why
            soonest = next((e for e in entries if e.get("state") == "waiting"), None)
        if (soonest or {}).get("deployment") != (self.countdown or {}).get("deployment") or (soonest or {}).get(
                "state") != (self.countdown or {}).get("state"):
            self.countdown = soonest
            self.countdownChanged.emit(soonest)
        elif soonest is not None:
            self.countdown = soonest  # the same countdown, its end as the agent says now


def _why(entry: dict[str, Any]) -> str:
    """Why a due deployment waits, in the user's language when the agent gave a code."""
    reason = entry.get("reason")
    try:
        return refusal_summary(Refusal(str(reason))) + "."
    except ValueError:
        return str(entry.get("message") or "")


class DeadlineBanner(QWidget):
    """"“Windows 11 24H2 upgrade” is required: it starts by itself in 12:05. [Install now]"."""

    installNow = Signal(str)  # noqa: N815 - Qt signal naming; the deployment ID

    def __init__(self, watch: ScheduleWatch, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deadlineBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.watch = watch
        lay = QHBoxLayout(self)
        lay.setContentsMargins(14, 10, 10, 10)
        lay.setSpacing(12)
        lay.addWidget(IconLabel("clock", Accent.WARNING, 24), 0, Qt.AlignmentFlag.AlignVCenter)
        self.text = text_label("deadlineText", wrap=True)
        lay.addWidget(self.text, 1)
        self.install_button = named(QPushButton(), "installNowButton")
        self.install_button.clicked.connect(self._install)
        lay.addWidget(self.install_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self.retranslate)
        watch.countdownChanged.connect(self._changed)
        self.hide()
        self.retranslate()

    def _changed(self, entry: dict[str, Any] | None) -> None:
        if entry is None:
            self._tick.stop()
            self.hide()
            return
        self.retranslate()
        self.show()
        self._tick.start()

    def _install(self) -> None:
        entry = self.watch.countdown
        if entry is not None:
            self.installNow.emit(str(entry.get("deployment")))

    def seconds_left(self) -> float | None:
        entry = self.watch.countdown
        if entry is None or "ends_at" not in entry:
            return None
        return max(0.0, float(entry["ends_at"]) - time.monotonic())

    def retranslate(self) -> None:
        self.install_button.setText(self.tr("&Install now"))
        self.install_button.setAccessibleName(self.tr("Install the required upgrade now"))
        entry, left = self.watch.countdown, self.seconds_left()
        self.install_button.setVisible(entry is not None and left is not None)
        if entry is None:
            self.text.setText("")
            return
        if left is None:  # waiting: due, but it may not start here now
            text = fill(self.tr("“%1” is required, but it cannot start now: %2 It starts by itself when it can."),
                        entry.get("name"), _why(entry))
        elif left > 0:
            text = fill(self.tr("“%1” is required: it starts by itself in %2."), entry.get("name"),
                        countdown_text(left))
        else:
            text = fill(self.tr("“%1” is required: it is starting now."), entry.get("name"))
        self.text.setText(text)
        self.setAccessibleName(text)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
