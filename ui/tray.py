"""The notification-area (system tray) icon: the window can keep running there when it is
closed, and what a person should hear about with the window closed is said there as a
notification (a required upgrade coming, its countdown, a restart needed, a run finished or
failed). Clicking a notification opens the window on the deployment it is about.

Where the desktop has no notification area (`QSystemTrayIcon.isSystemTrayAvailable()` is
False, as on a server or with no display), the icon is never shown and closing the window
closes it, as before; the notices are still kept in `notices` (the newest last), which
the window's tests read.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

__all__ = ["Tray"]

NOTICE_MS = 15_000


class Tray(QObject):
    openRequested = Signal(str)  # noqa: N815 - Qt signal naming; a deployment ID, or "" for the window
    quitRequested = Signal()  # noqa: N815 - Qt signal naming

    def __init__(self, icon: QIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.icon = QSystemTrayIcon(icon, self)
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        self.notices: list[tuple[str, str, str]] = []
        self._about = ""  # the deployment the last notification was about
        self.menu = QMenu()
        self.open_action = QAction(self.menu)
        self.open_action.triggered.connect(lambda: self.openRequested.emit(""))
        self.quit_action = QAction(self.menu)
        self.quit_action.triggered.connect(self.quitRequested)
        self.menu.addAction(self.open_action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.icon.messageClicked.connect(lambda: self.openRequested.emit(self._about))
        self.retranslate()
        if self.available:
            self.icon.show()

    @property
    def keeps_running(self) -> bool:
        """Closing the window leaves the app running here (only with a notification area)."""
        return self.available and self.icon.isVisible()

    def notify(self, title: str, text: str, deployment: str = "") -> None:
        self.notices.append((title, text, deployment))
        del self.notices[:-50]
        self._about = deployment
        if self.keeps_running:
            self.icon.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, NOTICE_MS)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.openRequested.emit("")

    def retranslate(self) -> None:
        self.icon.setToolTip(self.tr("Software Center"))
        self.open_action.setText(self.tr("&Open Software Center"))
        self.quit_action.setText(self.tr("&Quit"))

    def close(self) -> None:
        self.icon.hide()
