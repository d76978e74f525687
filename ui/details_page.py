"""The details pane beside the catalog: what one deployment is, what it costs, and its Install button.

Shows the description, download size (and how much is already on this computer),
estimated time, whether it restarts the computer, the deadline, where the content comes
from on the current connection, and Install / Reinstall / Retry / Resume. A refused
deployment's button is disabled with the full explanation beside it (`refusalLabel`).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core import Catalog, ConnectionType, HistoryEntry, Listing, Refusal, ordered_locations, referenced_packages

from .deployment_model import RowState
from .style import Accent, IconLabel, accent_color, add_fact_rows, emphasize, named, scroll_body, text_label
from .wording import (
    content_source_text,
    failure_words,
    fill,
    format_bytes,
    format_datetime,
    format_duration,
    hex_code,
    refusal_explanation,
    relative_time_text,
)

__all__ = ["Action", "DetailsPane"]


class Action(enum.Enum):
    """What the details button does for the shown deployment."""

    INSTALL = "install"  # never run here
    REINSTALL = "reinstall"  # the last run succeeded
    RETRY = "retry"  # the last run failed
    RESUME = "resume"  # its run stopped and is saved; continue it


FACTS = ("size", "time", "restart", "start", "deadline", "source", "last", "id")
STACK_FACTS_BELOW = 440  # pane width under which each fact's name goes above its value
URGENT_S = 3 * 86400  # a deadline closer than this is shown in the warning color


class DetailsPane(QWidget):
    """Shows one `Listing`. `action_requested(deployment_id, Action)` when its button is pressed."""

    action_requested = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailsPane")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._listing: Listing | None = None
        self._catalog: Catalog | None = None
        self._connection: ConnectionType | None = None
        self._allow_cloud = True
        self._state = RowState.AVAILABLE
        self._blocked: str | None = None
        self._action = Action.INSTALL
        self._status_text = ""
        self._failure: HistoryEntry | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        body = scroll_body(outer)
        body.setObjectName("detailsBody")
        body.setBackgroundRole(QPalette.ColorRole.Base)
        body.setAutoFillBackground(True)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(24, 20, 24, 20)
        lay.setSpacing(12)

        self.placeholder = text_label("emptyLabel", wrap=True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.placeholder)

        self.content = QWidget()
        c = QVBoxLayout(self.content)
        c.setContentsMargins(0, 0, 0, 0)
        c.setSpacing(12)
        lay.addWidget(self.content)
        lay.addStretch(1)

        head = QHBoxLayout()
        head.setSpacing(14)
        self.icon_label = IconLabel("os", QPalette.ColorRole.Highlight, 48)
        head.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        self.title_label = text_label("detailsTitle", wrap=True)
        emphasize(self.title_label, 1.35)
        self.sub_label = text_label("detailsSubtitle", wrap=True)
        self.sub_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.status_label = text_label("detailsStatus", wrap=True)
        titles.addWidget(self.title_label)
        titles.addWidget(self.sub_label)
        titles.addWidget(self.status_label)
        head.addLayout(titles, 1)
        c.addLayout(head)

        self.install_button = named(QPushButton(), "installButton")
        self.install_button.setMinimumWidth(130)
        self.install_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.install_button.clicked.connect(self._clicked)
        self.install_button.setAutoDefault(True)
        c.addWidget(self.install_button, 0, Qt.AlignmentFlag.AlignLeft)
        # The explanation goes under the button, across the pane's whole width: beside it, a
        # narrow pane turned it into a column of one word per line.
        why = QHBoxLayout()
        why.setSpacing(8)
        self.refusal_icon = IconLabel("warning", Accent.WARNING, 20)
        why.addWidget(self.refusal_icon, 0, Qt.AlignmentFlag.AlignTop)
        self.refusal_label = text_label("refusalLabel", wrap=True)
        self.refusal_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.refusal_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        why.addWidget(self.refusal_label, 1)
        c.addLayout(why)

        self.facts = QFormLayout()
        self.facts.setHorizontalSpacing(16)
        self.facts.setVerticalSpacing(8)
        self.facts.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self._fact_labels, self._fact_values = add_fact_rows(self.facts, FACTS, "fact")
        c.addLayout(self.facts)

        self.description_heading = text_label("sectionHeading")
        emphasize(self.description_heading)
        c.addWidget(self.description_heading)
        self.description_label = text_label("detailsDescription", wrap=True)
        self.description_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.description_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.description_label.setTextFormat(Qt.TextFormat.PlainText)
        c.addWidget(self.description_label)

        self.retranslate()
        self.clear()

    # --- content ----------------------------------------------------------------------

    def set_context(self, catalog: Catalog | None, connection: ConnectionType | None, allow_cloud: bool) -> None:
        """The catalog and connection the shown deployment is judged against."""
        self._catalog, self._connection, self._allow_cloud = catalog, connection, allow_cloud

    def clear(self) -> None:
        self._listing = None
        self.content.hide()
        self.placeholder.show()

    def show_listing(self, listing: Listing, state: RowState, status_text: str, blocked: str | None = None,
                     failure: HistoryEntry | None = None) -> None:
        """Show `listing` in `state`. `blocked`: why it cannot start now though eligible (another run);
        `failure`: its last run, when that failed (its error code is shown)."""
        self._listing, self._state, self._blocked = listing, state, blocked
        self._failure = failure
        self._status_text = status_text
        self.placeholder.hide()
        self.content.show()
        self._fill()

    @property
    def listing(self) -> Listing | None:
        return self._listing

    @property
    def action(self) -> Action:
        return self._action

    def _fill(self) -> None:
        item = self._listing
        if item is None:
            return
        dep = item.deployment
        self.title_label.setText(dep.name)
        self.sub_label.setText(" · ".join(x for x in (dep.publisher, dep.version) if x))
        accent = {
            RowState.REFUSED: Accent.WARNING,
            RowState.FAILED: Accent.NEGATIVE,
            RowState.RUNNING: Accent.INFO,
        }.get(self._state, Accent.POSITIVE)
        self.status_label.setText(self._status_text)
        # A style sheet, not the palette: the window's style sheet would override a palette color.
        self.status_label.setStyleSheet(f"color: {accent_color(accent, self.palette()).name()};")

        # Complete packages, or (the agent's pre-cache) also what is partly downloaded.
        cached = max(item.total_bytes - item.download_bytes, min(item.present_bytes, item.total_bytes))
        if item.total_bytes == 0:
            size = self.tr("Nothing to download")
        elif 0 < cached < item.total_bytes and dep.wants_precache:
            size = fill(self.tr("Downloaded in advance: %1 of %2"), format_bytes(cached),
                        format_bytes(item.total_bytes))
        elif cached == 0:
            size = fill(self.tr("%1 · nothing downloaded yet"), format_bytes(item.total_bytes))
        elif cached >= item.total_bytes:
            size = fill(self.tr("%1 · all of it is already on this computer"), format_bytes(item.total_bytes))
        else:
            size = (
                fill(self.tr("%1 · %2 already on this computer"), format_bytes(item.total_bytes), format_bytes(cached))
            )
        self._fact_values["size"].setText(size)
        self._fact_values["time"].setText(fill(self.tr("About %1"), format_duration(dep.estimated_minutes)))
        self._fact_values["restart"].setText(
            self.tr("Yes, your computer restarts during the installation") if dep.restart_required else self.tr("No")
        )
        self._show_dates()
        self._show_last_failure()
        self._fact_values["source"].setText(self._source_text())
        self._fact_values["id"].setText(dep.id)
        self.description_label.setText(dep.description)

        refusal = item.verdict.refusal
        if self._state is RowState.RUNNING:
            self._action = Action.RESUME
        elif self._state is RowState.INSTALLED:
            self._action = Action.REINSTALL
        elif self._state is RowState.FAILED:
            self._action = Action.RETRY
        else:
            self._action = Action.INSTALL
        self.install_button.setText(
            {
                Action.INSTALL: self.tr("&Install"),
                Action.REINSTALL: self.tr("Re&install"),
                Action.RETRY: self.tr("&Retry"),
                Action.RESUME: self.tr("&Resume"),
            }[self._action]
        )
        explanation = refusal_explanation(refusal) if refusal is not None else self._blocked
        self.install_button.setEnabled(explanation is None)
        self.install_button.setAccessibleDescription(explanation or "")
        self.refusal_label.setText(explanation or "")
        self.refusal_label.setVisible(explanation is not None)
        self.refusal_icon.setVisible(refusal is not None)

    def _show_fact(self, key: str, text: str | None, accent: Accent | None = None) -> None:
        """A fact's row, shown with `text` (in `accent`'s color), or hidden when there is none."""
        value = self._fact_values[key]
        value.setText(text or "")
        value.setStyleSheet(f"color: {accent_color(accent, self.palette()).name()};" if accent else "")
        self.facts.setRowVisible(FACTS.index(key), bool(text))

    def _show_dates(self) -> None:
        """The start date of a deployment not available yet; the deadline, with how long is left."""
        item = self._listing
        assert item is not None
        dep = item.deployment
        now = datetime.now(UTC)
        start = dep.available_from
        later = start is not None and _aware(start) > now
        self._show_fact("start", format_datetime(start) if later else None,
                        Accent.WARNING if item.verdict.refusal == Refusal.NOT_YET_AVAILABLE else None)
        if dep.deadline is None:
            self._show_fact("deadline", self.tr("No deadline"))
            return
        deadline = _aware(dep.deadline)
        left, overdue = relative_time_text(deadline, now)
        urgent = overdue or (deadline - now).total_seconds() < URGENT_S
        accent = Accent.NEGATIVE if overdue else Accent.WARNING if urgent else None
        self._show_fact("deadline", fill(self.tr("%1 (%2)"), format_datetime(deadline), left), accent)

    def _show_last_failure(self) -> None:
        """A failed deployment's last error: its cause in words and its code, as admins look it up."""
        failure = self._failure
        if self._state is not RowState.FAILED or failure is None:
            self._show_fact("last", None)
            return
        cause = failure_words(failure.reason, failure.error_code)[0]
        code = hex_code(failure.error_code) if failure.error_code is not None else ""
        text = fill(self.tr("Failed on %1: %2"), format_datetime(failure.finished_at or failure.started_at), cause)
        if code:
            text = fill(self.tr("%1 (error %2)"), text, code)
        self._show_fact("last", text, Accent.NEGATIVE)

    def _source_text(self) -> str:
        """Where the content would come from on the current connection (the first usable location)."""
        item, catalog = self._listing, self._catalog
        connection = self._connection
        if item is None or catalog is None or connection is None:
            return ""
        ts = catalog.task_sequences.get(item.deployment.task_sequence)
        if ts is None:
            return ""
        kinds: set[str] = set()
        every: set[str] = set()
        for pid in referenced_packages(ts):
            pkg = catalog.packages[pid]
            every.update(loc.kind for loc in pkg.locations)
            usable = ordered_locations(pkg, connection, self._allow_cloud)
            if usable:
                kinds.add(usable[0].kind)
            else:  # not reachable now: where it is (a refusal says why it cannot come from there)
                kinds.update(loc.kind for loc in pkg.locations)
        if not kinds:
            return content_source_text(every)
        return content_source_text(kinds)

    def _clicked(self) -> None:
        if self._listing is not None and self.install_button.isEnabled():
            self.action_requested.emit(self._listing.deployment.id, self._action)

    # --- language ---------------------------------------------------------------------

    def retranslate(self) -> None:
        self.placeholder.setText(self.tr("Select an operating system to see its details."))
        names = {
            "size": self.tr("Download size"),
            "time": self.tr("Estimated time"),
            "restart": self.tr("Restart"),
            "start": self.tr("Available from"),
            "deadline": self.tr("Deadline"),
            "source": self.tr("Content source"),
            "last": self.tr("Last attempt"),
            "id": self.tr("Deployment ID"),
        }
        for key, text in names.items():
            self._fact_labels[key].setText(text)
            self._fact_values[key].setAccessibleName(text)
        self.description_heading.setText(self.tr("About this upgrade"))
        self.install_button.setAccessibleName(self.tr("Install"))
        self.refusal_label.setAccessibleName(self.tr("Why this cannot be installed"))
        self._fill()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """In a narrow pane each fact's name goes above its value: beside it, the values were
        squeezed into a column narrower than their longest word, and clipped."""
        policy = (QFormLayout.RowWrapPolicy.WrapAllRows if event.size().width() < STACK_FACTS_BELOW
                  else QFormLayout.RowWrapPolicy.DontWrapRows)
        if self.facts.rowWrapPolicy() != policy:
            self.facts.setRowWrapPolicy(policy)
        super().resizeEvent(event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        elif event.type() == QEvent.Type.PaletteChange:
            self._fill()  # the status accent has a light and a dark shade
        super().changeEvent(event)


def _aware(moment: datetime) -> datetime:
    """A catalog time without a zone is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
