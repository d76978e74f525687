"""Live changes said to assistive technology: a step that starts, the restart countdown, a
run's result.

Qt 6.8 added `QAccessibleAnnouncementEvent` (a screen reader reads its message out without
moving focus); it is sent with `QAccessible.updateAccessibility`. The widget's accessible
description is set to the same words too, so a tool that reads the widget later finds them.
`last_announcement(widget)` is what was said last (tests read it).
"""

from __future__ import annotations

from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QWidget

__all__ = ["announce", "last_announcement"]

_SAID = "_announced"


def announce(widget: QWidget, message: str, *, assertive: bool = False) -> None:
    """Say `message` about `widget` (politely: after what is being read; `assertive`: now)."""
    if not message or widget.property(_SAID) == message:
        return
    widget.setProperty(_SAID, message)
    widget.setAccessibleDescription(message)
    event = QAccessibleAnnouncementEvent(widget, message)
    event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive if assertive
                        else QAccessible.AnnouncementPoliteness.Polite)
    QAccessible.updateAccessibility(event)


def last_announcement(widget: QWidget) -> str | None:
    value = widget.property(_SAID)
    return value if isinstance(value, str) else None
