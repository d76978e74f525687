"""The question asked before every install, and the stronger one for high-impact upgrades.

Window-modal and opened with `open()` (never `exec()`, which would nest an event loop
under qasync): the caller connects `accepted`. A high-impact deployment's dialog says in
bold that the computer restarts, and its Install button stays disabled until the person
ticks "I have saved my work and closed my apps".
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core import Listing

from .style import Accent, IconLabel, emphasize, named, text_label
from .wording import fill, format_bytes, format_duration

__all__ = ["ConfirmInstallDialog"]


class ConfirmInstallDialog(QDialog):
    """Asks whether to start `listing`. `reinstall` words it as installing again."""

    def __init__(self, listing: Listing, parent: QWidget | None = None, *, reinstall: bool = False) -> None:
        super().__init__(parent)
        dep = listing.deployment
        self.high_impact = dep.high_impact
        self.setObjectName("confirmDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setWindowTitle(fill(self.tr("Install %1?"), dep.name))
        self.setMinimumWidth(480)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(22, 20, 22, 16)
        lay.setSpacing(12)
        head = QHBoxLayout()
        head.setSpacing(12)
        glyph = IconLabel("warning" if self.high_impact else "info",
                          Accent.WARNING if self.high_impact else Accent.INFO, 32)
        head.addWidget(glyph, 0, Qt.AlignmentFlag.AlignTop)
        title = text_label("confirmTitle", wrap=True)
        emphasize(title, 1.2)
        if self.high_impact:
            title.setText(self.tr("This upgrade changes your computer's operating system"))
        elif reinstall:
            title.setText(fill(self.tr("Install %1 again?"), dep.name))
        else:
            title.setText(fill(self.tr("Install %1?"), dep.name))
        head.addWidget(title, 1)
        lay.addLayout(head)

        facts = []
        if self.high_impact:
            facts.append(fill(self.tr("%1 will be installed on this computer."), dep.name))
        if listing.download_bytes:
            facts.append(
                fill(self.tr("It downloads %1, each part just before it is needed."),
                     format_bytes(listing.download_bytes))
            )
        if dep.estimated_minutes:
            facts.append(fill(self.tr("It takes about %1."), format_duration(dep.estimated_minutes)))
        if dep.restart_required:
            facts.append(self.tr("You can keep using the computer until it restarts."))
        body = text_label("confirmText", wrap=True)
        body.setText(" ".join(facts))
        lay.addWidget(body)

        self.restart_label: QLabel | None = None
        if dep.restart_required:
            self.restart_label = text_label("restartWarning", wrap=True)
            self.restart_label.setText(
                self.tr("Your computer will restart during the upgrade. Save your work and close your apps first.")
            )
            rf = self.restart_label.font()
            rf.setBold(True)
            self.restart_label.setFont(rf)
            lay.addWidget(self.restart_label)

        self.saved_check: QCheckBox | None = None
        if self.high_impact:
            self.saved_check = named(QCheckBox(self.tr("I have &saved my work and closed my apps")), "savedWorkCheck")
            lay.addWidget(self.saved_check)

        buttons = QDialogButtonBox()
        self.confirm_button = named(QPushButton(self.tr("&Reinstall") if reinstall else self.tr("&Install")),
                                    "confirmInstallButton")
        self.cancel_button = named(QPushButton(self.tr("&Cancel")), "cancelInstallButton")
        buttons.addButton(self.confirm_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addSpacing(4)
        lay.addWidget(buttons)

        if self.saved_check is not None:
            # The explicit step: nothing starts until the person says their work is safe.
            # Until then Enter cancels; once ticked, Enter installs (Install is the default).
            self.confirm_button.setEnabled(False)
            self.saved_check.toggled.connect(self._saved_toggled)
            self.cancel_button.setDefault(True)
            self.saved_check.setFocus()
        else:
            self.confirm_button.setDefault(True)
            self.confirm_button.setFocus()

    def _saved_toggled(self, saved: bool) -> None:
        self.confirm_button.setEnabled(saved)
        self.confirm_button.setDefault(saved)
        self.cancel_button.setDefault(not saved)
