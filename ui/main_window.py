"""The main window: heading, connection type, navigation, the pages, and the run's lifecycle.

It is a client of the agent (`core.RemoteEngine`): the agent at the socket it was given,
else the user's agent for its data folder, started on demand. Only the window's explicit
site and connection travel to the agent, as the requests' profile. It opens without
blocking: the window shows at once with a progress indicator, then the catalog the agent
read; a site that is down (or an agent that cannot start) shows the reason and Retry.
On open it attaches to the agent's current run: the Progress page shows it, every step
so far and the live download. Installing goes: details button → confirmation dialog
(opened with `open()`, never `exec()`) → `RunController.start` → the Progress page.
A run belongs to the agent: closing the window never affects it, Cancel asks the agent.
A cancelled run is offered for resume in a banner. The connection choice in Options is
the agent's `connection` setting; the cache and the history are the agent's.
In a window narrower than COLLAPSE_BELOW the navigation shows its icons only (the names
stay in tool tips and for assistive technology). The first focus is the search box; Tab
goes through the header's chips, the navigation, the banner, then the page, as read.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Coroutine
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core import (
    AgentError,
    AgentStartError,
    ConnectionSetting,
    ErrorCode,
    HistoryEntry,
    RemoteEngine,
    RunOutcome,
    RunState,
    RunStatus,
    client_profile,
    locate_agent,
)

from .catalog_page import CatalogPage
from .confirm_dialog import ConfirmInstallDialog
from .deployment_delegate import ViewMode
from .details_page import Action
from .i18n import apply_language
from .prefs import load_prefs, save_prefs
from .resume_banner import ResumeBanner
from .run_controller import RunController
from .schedule import DeadlineBanner, ScheduleWatch
from .style import Accent, IconLabel, app_style_sheet, emphasize, icon, named, text_label
from .tray import Tray
from .wording import agent_error_text, connection_text, error_words, fill

if TYPE_CHECKING:
    from core import RunResult

    from .options_page import OptionsPage
    from .progress_view import ProgressView
    from .status_page import StatusPage

__all__ = ["MainWindow", "Page"]

log = logging.getLogger("software_center.ui")

NAVIGATION_WIDTH = 220
COLLAPSED_NAVIGATION_WIDTH = 56  # the icons only
COLLAPSE_BELOW = 900  # window width under which the navigation shows its icons only
RUN_WATCH_MS = 2000  # how often an idle window asks the agent whether a run started elsewhere

_CONNECTION_SETTINGS: dict[str, ConnectionSetting] = {"auto": "auto", "internet": "internet", "intranet": "intranet"}

_P = TypeVar("_P", bound=QWidget)

_UNFINISHED = ("running", "restart_pending", "cancelled")
_OFFERED = (RunStatus.CANCELLED, RunStatus.FAILED)  # a saved run that waits for the person's Resume


class Page(enum.IntEnum):
    """Navigation entries, in order."""

    CATALOG = 0
    STATUS = 1
    OPTIONS = 2
    PROGRESS = 3  # only while a run exists in this session (or waits to be resumed)


class MainWindow(QMainWindow):
    """Software Center's window. `loaded` resolves after the first attempt to list the catalog;
    `listed` is emitted every time the catalog is (re)listed, `load_failed(text)` when it cannot be."""

    listed = Signal()
    load_failed = Signal(str)
    quit_requested = Signal()  # the tray's Quit: the window was only hidden, the app ends

    def __init__(
        self,
        site: str | None,
        data_dir: Path,
        connection: ConnectionSetting | None,
        *,
        agent: Path | str | None = None,
    ) -> None:
        super().__init__()
        self.data_dir = data_dir
        place = locate_agent(agent, data_dir, data_dir_given=True)
        self.engine = RemoteEngine(place, data_dir, profile=client_profile(place, site=site, connection=connection),
                                   prefetch=True)
        self.center = self.engine  # what the pages read: catalog, connection, listings
        self.prefs = load_prefs(data_dir)
        apply_language(self.prefs.language)
        self._history: list[HistoryEntry] = []
        self._attached = False  # the agent's current run was looked for (once, at the first listing)
        self._run_watch = QTimer(self)
        self._run_watch.setInterval(RUN_WATCH_MS)
        self._run_watch.timeout.connect(self._look_for_new_run)
        # The agent's schedule, policy and pre-cache (ui/schedule.py), asked for as often.
        self._status_watch = QTimer(self)
        self._status_watch.setInterval(RUN_WATCH_MS)
        self._status_watch.timeout.connect(self._ask_status)
        self._status_task: asyncio.Task[None] | None = None
        self.schedule = ScheduleWatch(self)
        self._precaching = False
        self._told_tray = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._open_task: asyncio.Task[None] | None = None
        self._close_confirmed = False
        self._pending: RunState | None = None
        self._error_words: Callable[[], tuple[str, str]] | None = None  # the catalog's error, if shown
        self.loaded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.confirm_dialog: ConfirmInstallDialog | None = None  # the open one, for tests and automation
        self.question: QMessageBox | None = None  # the open close / clear question

        self.setObjectName("mainWindow")
        self.setWindowIcon(icon("app"))
        self.setStyleSheet(app_style_sheet())
        self.resize(1120, 720)
        self.setMinimumSize(QSize(760, 480))

        root = QWidget()
        outer = QVBoxLayout(root)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self._header())

        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        self.navigation = named(QListWidget(), "navigation")
        self.navigation.setIconSize(QSize(20, 20))
        self.navigation.setFixedWidth(NAVIGATION_WIDTH)
        self._navigation_collapsed = False  # icons only, in a window narrower than COLLAPSE_BELOW
        self._navigation_names: dict[Page, str] = {}
        self.navigation.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        for page, name in ((Page.CATALOG, "os"), (Page.STATUS, "status"), (Page.OPTIONS, "options"),
                           (Page.PROGRESS, "progress")):
            item = QListWidgetItem(icon(name), "")
            item.setData(Qt.ItemDataRole.UserRole, page)
            self.navigation.addItem(item)
        self.navigation.item(Page.PROGRESS).setHidden(True)
        body.addWidget(self.navigation)

        content = QVBoxLayout()
        content.setContentsMargins(0, 0, 0, 0)
        content.setSpacing(0)
        self.banner = ResumeBanner()
        self.banner.resume_requested.connect(self.resume_run)
        self.banner.resume_button.setEnabled(False)  # until the catalog is listed: a resume needs it
        banner_holder = QHBoxLayout()
        banner_holder.setContentsMargins(12, 10, 12, 0)
        banner_holder.addWidget(self.banner)
        content.addLayout(banner_holder)
        self.deadline_banner = DeadlineBanner(self.schedule)
        self.deadline_banner.installNow.connect(self.install_now)
        deadline_holder = QHBoxLayout()
        deadline_holder.setContentsMargins(12, 10, 12, 0)
        deadline_holder.addWidget(self.deadline_banner)
        content.addLayout(deadline_holder)
        self.tray = Tray(icon("app"), self)
        self.tray.openRequested.connect(self.open_on)
        self.tray.quitRequested.connect(self.quit_requested)
        self.schedule.notice.connect(self.tray.notify)
        self.schedule.catalogChanged.connect(self._catalog_changed)

        self.pages = named(QStackedWidget(), "pages")
        self.catalog_area = QStackedWidget()
        self.catalog_area.addWidget(self._loading_page())
        self.catalog_area.addWidget(self._error_page())
        self.catalog_page = CatalogPage()
        self.catalog_page.action_requested.connect(self._action_requested)
        self.catalog_page.view_changed.connect(lambda mode: self._save_prefs(view=mode))
        self.catalog_area.addWidget(self.catalog_page)
        # Installation status, Options and Progress are not shown at start: each is built (and
        # its module imported) on first use; until then an empty widget holds its place in the
        # stack, so the stack's order stays the Page order.
        self._status_page: StatusPage | None = None
        self._options_page: OptionsPage | None = None
        self._progress_page: ProgressView | None = None
        self._history_read = False  # the agent's history was read: the status page shows it
        self.pages.addWidget(self.catalog_area)
        for _page in (Page.STATUS, Page.OPTIONS, Page.PROGRESS):
            self.pages.addWidget(QWidget())

        self.controller = RunController(self.engine, self)
        self.controller.started.connect(self._run_started)
        self.controller.finished.connect(self._run_finished)
        self.controller.runningChanged.connect(self._running_changed)
        self.controller.linkChanged.connect(self._link_changed)
        content.addWidget(self.pages, 1)
        body.addLayout(content, 1)
        outer.addLayout(body, 1)
        self.setCentralWidget(root)

        self.navigation.currentRowChanged.connect(self._navigate)
        self.navigation.setCurrentRow(Page.CATALOG)
        self._shortcuts()
        self.navigation.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.navigation.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Tab follows what the eye reads: the header's chips, the pages, the banner, the page.
        cat = self.catalog_page
        chain = [self.trust_chip, self.connection_chip, self.navigation, self.banner.resume_button,
                 cat.search_box, cat.filter_combo, cat.sort_combo, cat.list_button, cat.tile_button,
                 cat.list_view, cat.details.install_button, self.retry_button]
        for before, after in zip(chain, chain[1:], strict=False):
            self.setTabOrder(before, after)

        self.catalog_page.set_view(ViewMode.TILES if self.prefs.view == "tiles" else ViewMode.LIST)
        self.retranslate()
        self._open_task = self._spawn(self._open())

    # --- building -----------------------------------------------------------------------

    def _header(self) -> QWidget:
        header = named(QWidget(), "header")
        header.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        lay = QHBoxLayout(header)
        lay.setContentsMargins(18, 12, 18, 12)
        lay.setSpacing(12)
        lay.addWidget(IconLabel("app", None, 36))
        titles = QVBoxLayout()
        titles.setSpacing(0)
        self.heading = text_label("heading")
        emphasize(self.heading, 1.5)
        self.subheading = text_label("subheading")
        titles.addWidget(self.heading)
        titles.addWidget(self.subheading)
        lay.addLayout(titles, 1)
        self.connection_chip = named(QToolButton(), "connectionChip")
        self.connection_chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.connection_chip.setIconSize(QSize(18, 18))
        self.connection_chip.setAutoRaise(True)
        self.connection_chip.clicked.connect(lambda: self.show_page(Page.OPTIONS))
        self.trust_chip = named(QToolButton(), "trustChip")
        self.trust_chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.trust_chip.setAutoRaise(True)
        self.trust_chip.hide()  # shown once a catalog is read: signed or not
        lay.addWidget(self.trust_chip)
        lay.addWidget(self.connection_chip)
        return header

    def _loading_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addStretch()
        self.loading_label = QLabel()
        lay.addWidget(self.loading_label, 0, Qt.AlignmentFlag.AlignHCenter)
        bar = QProgressBar()
        bar.setRange(0, 0)  # indeterminate: how long the site takes is unknown
        bar.setMaximumWidth(300)
        bar.setTextVisible(False)
        lay.addWidget(bar, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch()
        return page

    def _error_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(48, 24, 48, 24)
        lay.setSpacing(12)
        lay.addStretch()
        lay.addWidget(IconLabel("cloud", None, 48), 0, Qt.AlignmentFlag.AlignHCenter)
        self.error_title = text_label("siteErrorTitle", wrap=True)
        emphasize(self.error_title, 1.2)
        self.error_title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        lay.addWidget(self.error_title)
        self.error_label = text_label("siteError", wrap=True)
        self.error_label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.error_label)
        self.retry_button = named(QPushButton(), "retryButton")
        self.retry_button.clicked.connect(self.retry)
        lay.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch()
        return page

    def _shortcuts(self) -> None:
        find = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        find.activated.connect(self.focus_search)
        refresh = QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self)
        refresh.activated.connect(self.retry)
        for page in Page:
            sc = QShortcut(QKeySequence(f"Ctrl+{page + 1}"), self)
            sc.activated.connect(lambda p=page: self.show_page(p))

    # --- the pages built on first use -------------------------------------------------------

    @property
    def status_page(self) -> StatusPage:
        if self._status_page is None:
            from .status_page import StatusPage

            page = StatusPage(self.controller.log_path)
            page.retry_requested.connect(self._retry_from_history)
            if self._history_read:
                page.show_history(self._history, self._pending)
            page.set_retryable(self._retryable())
            self._status_page = self._place(Page.STATUS, page)
        return self._status_page

    @property
    def options_page(self) -> OptionsPage:
        if self._options_page is None:
            from .options_page import OptionsPage

            page = OptionsPage()
            page.connection_changed.connect(self.set_connection)
            page.language_changed.connect(self.set_language)
            page.clear_cache_requested.connect(self._ask_clear_cache)
            page.set_connection(self.center.connection_setting, self.center.connection)
            page.set_language(self.prefs.language)
            page.set_site(self._site_text(), str(self.data_dir))
            page.set_run_active(self._run_active())
            self._options_page = self._place(Page.OPTIONS, page)
        return self._options_page

    @property
    def progress_page(self) -> ProgressView:
        """Built at the latest when a run is followed (see `_running_changed`): it reads the
        controller's state when built and follows its signals from then on."""
        if self._progress_page is None:
            from .progress_view import ProgressView

            self._progress_page = self._place(Page.PROGRESS, ProgressView(self.controller))
        return self._progress_page

    def _place(self, page: Page, widget: _P) -> _P:
        """Put a page built on first use in its place in the stack, instead of the empty one."""
        current = self.pages.currentIndex()
        holder = self.pages.widget(page)
        assert holder is not None
        self.pages.insertWidget(page, widget)
        self.pages.removeWidget(holder)
        holder.deleteLater()
        self.pages.setCurrentIndex(current)
        return widget

    # --- navigation -----------------------------------------------------------------------

    def show_page(self, page: Page) -> None:
        item = self.navigation.item(page)
        if item is not None and not item.isHidden():
            self.navigation.setCurrentRow(page)

    def current_page(self) -> Page:
        return Page(self.navigation.currentRow())

    def _navigate(self, row: int) -> None:
        if row < 0:
            return
        page = Page(row)
        if page is Page.STATUS:
            self.status_page  # noqa: B018 - built on first use
        elif page is Page.OPTIONS:
            self.options_page  # noqa: B018
        elif page is Page.PROGRESS:
            self.progress_page  # noqa: B018
        self.pages.setCurrentIndex(page)
        if page is Page.STATUS:
            self._spawn(self._load_history())
        elif page is Page.OPTIONS:
            self._spawn(self._measure_cache())

    def focus_search(self) -> None:
        self.show_page(Page.CATALOG)
        self.catalog_page.focus_search()

    # --- the catalog ------------------------------------------------------------------------

    def _site_text(self) -> str:
        if not self.engine.status:
            return ""
        if self.center.is_demo:
            where = self.center.site_url or ""
            return fill(self.tr("Embedded demo site %1"), where).strip()
        return self.center.site_url or self.center.site_setting or ""

    def _show_connection(self) -> None:
        c = self.center
        self.connection_chip.setText(connection_text(c.connection, c.connection_setting))
        self.connection_chip.setIcon(icon("intranet" if c.connection == "intranet" else "internet"))
        self.connection_chip.setToolTip(self.tr("Connection type. You can change it in Options."))
        self.connection_chip.setAccessibleName(
            fill(self.tr("Connection type: %1"), connection_text(c.connection, c.connection_setting))
        )
        if self._error_words is not None and c.connection is None:  # never detected: the site did not answer
            self.connection_chip.setText(self.tr("Site not reached"))
            self.connection_chip.setIcon(icon("warning", Accent.WARNING))
        if self._options_page is not None:
            self._options_page.set_connection(c.connection_setting, c.connection)

    async def _open(self) -> None:
        try:
            await self._list()
        finally:
            if not self.loaded.done():
                self.loaded.set_result(None)

    async def _list(self) -> None:
        self.catalog_area.setCurrentIndex(0)
        try:
            await self.engine.open()
        except AgentStartError as exc:
            self._show_error(partial(self._service_error_words, str(exc)))
            return
        except AgentError as exc:
            self._show_error(partial(self._agent_error_words, exc))
            return
        except Exception as exc:
            # A bug, not a site problem: say so calmly, keep Retry, and let the loop's handler report it.
            self._show_error(partial(self._bug_words, str(exc)))
            raise
        self._error_words = None
        catalog = self.center.catalog
        assert catalog is not None
        self.heading.setText(catalog.site.organization)
        self.setWindowTitle(self.tr("Software Center") + " – " + catalog.site.organization)
        if self._options_page is not None:
            self._options_page.set_site(self._site_text(), str(self.data_dir))
        self._show_connection()
        self._show_trust()
        await self._load_history()
        self.catalog_area.setCurrentWidget(self.catalog_page)
        if not self._attached and self.current_page() is Page.CATALOG:
            # The first focus: the search box, not the header's chip that Qt chose while the
            # catalog was loading (the first Tab stop then).
            focused = self.focusWidget()
            if focused in (None, self.trust_chip, self.connection_chip, self.navigation) or not focused.isVisible():
                self.catalog_page.search_box.setFocus(Qt.FocusReason.OtherFocusReason)
        self.banner.resume_button.setEnabled(True)
        self.listed.emit()
        if not self._attached:
            self._attached = True
            self.controller.attach()  # the agent's run under way (or waiting for its restart), if any
            # ... and later, one another client starts (or the agent goes on with) meanwhile
            self._run_watch.start()
            self._status_watch.start()
            self._ask_status()

    async def _load_history(self) -> None:
        """The agent's history and saved run: Installation status, the banner, the listing."""
        try:
            entries, saved = await self.engine.history()
        except AgentError as exc:
            log.warning("The history could not be read from the agent: %s", exc.message)
            self.relist()
            return
        self._history = entries
        self._pending = saved if saved is not None and saved.status is not RunStatus.SUCCEEDED else None
        self._history_read = True
        if self._status_page is not None:
            self._status_page.show_history(entries, self._pending)
        if self._pending is not None and self._pending.status in _OFFERED and not self._run_active():
            # A paused or interrupted run keeps its Progress page: it says where it stands and the way on.
            self.progress_page.show_saved(self._pending)
            self.navigation.item(Page.PROGRESS).setHidden(False)
        self._offer_resume()
        self.relist()

    async def _refresh_listings(self) -> None:
        try:
            await self.engine.refresh_listings()
        except AgentError as exc:
            log.warning("The listings could not be read from the agent: %s", exc.message)
        await self._load_history()

    def _show_trust(self) -> None:
        """Whether the catalog's signature was verified against a pinned site key."""
        signed = self.center.catalog_signed
        if signed is None:  # not known (no catalog yet, or a run's saved copy)
            self.trust_chip.hide()
            return
        if signed:
            text = self.tr("Signed catalog")
            tip = self.tr("The catalog's signature matches the site key set on this computer.")
        else:
            text = self.tr("Unsigned catalog")
            tip = self.tr("No site key is set on this computer, so the catalog's origin is not verified. "
                          "Content is still checked against the catalog's SHA-256 hashes.")
        self.trust_chip.setText(text)
        self.trust_chip.setIcon(icon("success" if signed else "warning"))
        self.trust_chip.setToolTip(tip)
        self.trust_chip.setAccessibleName(f"{text}. {tip}")
        self.trust_chip.show()

    def relist(self) -> None:
        """List the catalog again from what is known now (verdicts, cache, history, saved run)."""
        c = self.center
        if c.catalog is None or c.connection is None:
            return
        last: dict[str, str] = {}
        failures: dict[str, HistoryEntry] = {}
        for entry in self._history:  # oldest first: the newest run of each deployment wins
            if entry.status in _UNFINISHED:
                continue
            last[entry.deployment] = entry.status
            failures.pop(entry.deployment, None)
            if entry.status == RunStatus.FAILED.value:
                failures[entry.deployment] = entry
        active = self._run_active()
        if self._pending is not None:
            last[self._pending.deployment] = self._pending.status.value
        self.catalog_page.set_last_runs(last, failures)
        # Cloud content is the agent's business; the details list every location it may use.
        self.catalog_page.set_listings(c.listings(), c.catalog, c.connection, True)
        self.catalog_page.set_run_context(active, self._pending.name if self._pending and not active else None,
                                          self._restart_name())
        if self._status_page is not None:
            self._status_page.set_retryable(self._retryable())

    def _retryable(self) -> set[str]:
        """The deployments a history detail's Retry may start now: listed and eligible, while
        no run is going or waits to be resumed."""
        if self._run_active() or self._pending is not None:
            return set()
        model = self.catalog_page.model
        return {model.listing(row).deployment.id for row in range(model.rowCount())
                if model.listing(row).verdict.refusal is None}

    def _retry_from_history(self, deployment_id: str) -> None:
        """Retry in a run's detail: the same path as the catalog's button (the question, then the run)."""
        self._action_requested(deployment_id, Action.RETRY)

    def _service_error_words(self, detail: str) -> tuple[str, str]:
        return self.tr("The Software Center service could not be started."), detail

    def _bug_words(self, detail: str) -> tuple[str, str]:
        return self.tr("Something went wrong while reading the catalog."), detail

    def _agent_error_words(self, exc: AgentError) -> tuple[str, str]:
        """The failure's code decides the words; the agent's message is the detail after them."""
        try:
            cause, advice = error_words(ErrorCode(exc.code))
        except (ValueError, KeyError):
            cause, advice = agent_error_text(exc.code), ""
        return cause, fill(self.tr("%1 (%2)"), advice, exc.message) if advice else exc.message

    def _show_error(self, words: Callable[[], tuple[str, str]]) -> None:
        """The catalog could not be read: `words()` gives the title and detail in the current
        language (called again when the language changes)."""
        self._error_words = words
        title, detail = words()
        self.error_title.setText(title)
        self.error_label.setText(detail)
        self.catalog_area.setCurrentIndex(1)
        self._show_connection()
        if self.current_page() is Page.CATALOG:
            self.retry_button.setFocus()
        self.load_failed.emit(detail)

    def retry(self) -> None:
        """Read the catalog again (Retry, F5). Not while a run is active: it uses this catalog."""
        if self._run_active() or (self._open_task is not None and not self._open_task.done()):
            return
        self._open_task = self._spawn(self._open())

    # --- options ----------------------------------------------------------------------------

    def _save_prefs(self, **changes: Any) -> None:
        self.prefs = replace(self.prefs, **changes)
        try:
            save_prefs(self.prefs)
        except OSError as exc:
            log.warning("The window's preferences could not be saved: %s", exc)
            self.statusBar().showMessage(self.tr("Your choice applies now but could not be saved for next time."),
                                         8000)

    def set_connection(self, setting: str) -> None:
        """Options' connection type changed: the agent's setting; detect again, list again."""
        if self._run_active():
            self._show_connection()
            return
        value = _CONNECTION_SETTINGS.get(setting)
        if value is None:
            log.warning("Unknown connection type %r ignored", setting)
            return
        if self._open_task is not None and not self._open_task.done():
            self._open_task.cancel()
        previous = (self.engine.connection_setting, self.engine.connection)
        self.engine.connection_setting = value
        self.engine.connection = None
        self._show_connection()
        self._open_task = self._spawn(self._change_connection(value, previous))

    async def _change_connection(self, value: ConnectionSetting, previous: tuple[ConnectionSetting, Any]) -> None:
        try:
            await self.engine.set_connection(value)
        except AgentError as exc:
            self.engine.connection_setting, self.engine.connection = previous
            self._show_connection()
            self.statusBar().showMessage(agent_error_text(exc.code), 15000)
            return
        await self._open()

    def set_language(self, language: str | None) -> None:
        """Options' language changed: applied at once (every page retranslates itself)."""
        self._save_prefs(language=language)
        apply_language(language)

    async def _measure_cache(self) -> None:
        try:
            self.options_page.set_cache_usage(await self.engine.cache_usage())
        except AgentError as exc:
            log.warning("The agent did not say how much its cache holds: %s", exc.message)

    def _ask_clear_cache(self) -> None:
        if self._run_active():
            return
        box, yes = self._question(
            self.tr("Clear downloaded content?"),
            self.tr("Installing again will download everything again. Nothing installed is removed."),
            self.tr("C&lear"),
            self.tr("&Keep"),
        )
        box.setObjectName("clearCacheQuestion")
        yes.clicked.connect(lambda: self._spawn(self._clear_cache()))
        box.open()

    async def _clear_cache(self) -> None:
        if self._run_active():
            return
        try:
            self.options_page.set_cache_usage(await self.engine.clear_cache())
        except AgentError as exc:
            self.statusBar().showMessage(agent_error_text(exc.code), 15000)
            await self._measure_cache()
            return
        await self._refresh_listings()

    def _question(self, text: str, detail: str, yes: str, no: str) -> tuple[QMessageBox, QPushButton]:
        """A window-modal question (opened by the caller with `open()`); returns it and its Yes button."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(self.tr("Software Center"))
        box.setText(text)
        box.setInformativeText(detail)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        no_button = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(no_button)
        box.setEscapeButton(no_button)
        yes_button.setObjectName("questionYesButton")
        no_button.setObjectName("questionNoButton")
        box.finished.connect(lambda _result: setattr(self, "question", None))
        box.finished.connect(box.deleteLater)
        self.question = box
        return box, yes_button

    # --- installing -----------------------------------------------------------------------

    def _run_active(self) -> bool:
        """A run's engine task is going, or its restart countdown (it continues by itself)."""
        return self.controller.running or self.controller.counting_down or self.controller.restart_waiting

    def _restart_name(self) -> str | None:
        """The run waiting for a restart of the computer (its name), if one does."""
        c = self.controller
        return (c.header.name or c.header.deployment) if c.restart_waiting else None

    def _offer_resume(self) -> None:
        pending = self._pending
        if pending is not None and pending.status in _OFFERED and not self._run_active():
            self.banner.offer(pending)
        else:
            self.banner.withdraw()

    def _action_requested(self, deployment_id: str, action: Action) -> None:
        if action is Action.RESUME:
            self.resume_run()
            return
        row = self.catalog_page.model.row_of(deployment_id)
        if row is None or self._run_active():
            return
        listing = self.catalog_page.model.listing(row)
        dialog = ConfirmInstallDialog(listing, self, reinstall=action is Action.REINSTALL)
        dialog.accepted.connect(lambda: self.start_run(deployment_id))
        dialog.finished.connect(dialog.deleteLater)
        dialog.destroyed.connect(lambda: setattr(self, "confirm_dialog", None))
        self.confirm_dialog = dialog
        dialog.open()

    def start_run(self, deployment_id: str) -> None:
        """Start (after the confirmation) and show the Progress page."""
        if self._run_active():
            return
        self.progress_page  # noqa: B018 - built before the controller can report a problem
        self.controller.start(deployment_id)
        self._show_progress()

    def resume_run(self) -> None:
        if self._run_active():
            return
        self.banner.withdraw()
        self.progress_page  # noqa: B018 - built before the controller can report a problem
        self.controller.resume()
        self._show_progress()

    def _show_progress(self) -> None:
        self.navigation.item(Page.PROGRESS).setHidden(False)
        self.show_page(Page.PROGRESS)

    def _running_changed(self, _running: bool) -> None:
        active = self._run_active()
        if active:
            self.banner.withdraw()
            self.progress_page  # noqa: B018 - a run is followed: the page shows it from now on
        if self._options_page is not None:
            self._options_page.set_run_active(active)
        self.relist()

    def _look_for_new_run(self) -> None:
        self.controller.look_for_new_run()

    def _run_started(self, _deployment_id: str) -> None:
        if self.navigation.item(Page.PROGRESS).isHidden():  # a run the agent had under way
            self._show_progress()
        self.banner.withdraw()
        self._spawn(self._load_history())  # the history has the new run now

    def _run_finished(self, result: RunResult) -> None:
        self._spawn(self._refresh_listings())  # sizes (now cached), Reinstall / Retry, the history
        name = self.controller.header.name
        if result.status is RunOutcome.SUCCEEDED:
            self.tray.notify(self.tr("Installation finished"), fill(self.tr("“%1” was installed."), name))
        elif result.status is RunOutcome.FAILED:
            self.tray.notify(self.tr("Installation failed"),
                             fill(self.tr("“%1” could not be installed. Open Software Center to see why."), name))
        elif result.status is RunOutcome.RESTART_PENDING:
            self.tray.notify(self.tr("Restart needed"),
                             fill(self.tr("“%1” continues after your computer restarts."), name))

    # --- the agent's schedule (ui/schedule.py) and the notification area ----------------

    def _ask_status(self) -> None:
        if self._status_task is None or self._status_task.done():
            self._status_task = self._spawn(self._read_status())

    async def _read_status(self) -> None:
        try:
            status = await self.engine.agent_status()
        except AgentError:
            return  # the run controller says when the agent is lost
        self.schedule.update(status)
        precache = status.get("precache")
        downloading = isinstance(precache, dict) and precache.get("state") == "downloading"
        if (downloading or self._precaching) and not self._run_active():
            await self._refresh_listings()  # "Downloaded in advance" grows as it goes
        self._precaching = downloading

    def _catalog_changed(self) -> None:
        """A new catalog came into force in the agent: list it (not during a run)."""
        if not self._run_active():
            self._spawn(self._take_new_catalog())

    async def _take_new_catalog(self) -> None:
        try:
            await self.engine.open()
        except (AgentError, AgentStartError) as exc:
            log.warning("The new catalog could not be read from the agent: %s", exc)
            return
        self.relist()

    def install_now(self, deployment_id: str) -> None:
        """The countdown's Install now: the ordinary start, from the deployment's details."""
        self.open_on(deployment_id)
        self.start_run(deployment_id)

    def open_on(self, deployment_id: str) -> None:
        """Show the window (from the notification area), on the deployment if one is named."""
        self.showNormal()
        self.raise_()
        self.activateWindow()
        if deployment_id and self.catalog_page.model.rowCount():
            self.show_page(Page.CATALOG)
            self.catalog_page.select(deployment_id)

    def _link_changed(self, up: bool) -> None:
        if up:
            self.statusBar().clearMessage()
        else:
            self.statusBar().showMessage(self.tr("Reconnecting…"))

    # --- closing --------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Closing never affects a run: it is the agent's, and goes on without a window. With
        a notification area the window only hides there (its Quit ends the app)."""
        if self.tray.keeps_running:
            event.ignore()
            self.hide()
            if not self._told_tray:
                self._told_tray = True
                self.tray.notify(self.tr("Software Center keeps running"),
                                 self.tr("It tells you here when an upgrade is required or finished. "
                                         "Quit it from its icon's menu."))
            return
        if self._open_task is not None and not self._open_task.done():
            self._open_task.cancel()
        super().closeEvent(event)

    async def shutdown(self) -> None:
        """Stop background work and following the run (it goes on), and close the connection."""
        self._run_watch.stop()
        self._status_watch.stop()
        self.tray.close()
        for task in list(self._tasks):
            task.cancel()
        await self.controller.detach()
        self.controller.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.engine.aclose()

    # --- helpers --------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` as a task the window keeps; an exception in it reaches the loop's handler."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            task.get_loop().call_exception_handler(
                {"message": "unexpected error in the window", "exception": task.exception(), "task": task}
            )

    # --- language -------------------------------------------------------------------------

    def retranslate(self) -> None:
        catalog = self.center.catalog
        if catalog is None:
            self.heading.setText(self.tr("Software Center"))
            self.setWindowTitle(self.tr("Software Center"))
        else:
            self.setWindowTitle(self.tr("Software Center") + " – " + catalog.site.organization)
        self.subheading.setText(self.tr("Software Center"))
        names = {
            Page.CATALOG: self.tr("Operating Systems"),
            Page.STATUS: self.tr("Installation status"),
            Page.OPTIONS: self.tr("Options"),
            Page.PROGRESS: self.tr("Progress"),
        }
        self._navigation_names = names
        self._show_navigation()
        self.navigation.setAccessibleName(self.tr("Pages"))
        self.loading_label.setText(self.tr("Loading the catalog…"))
        self.retry_button.setText(self.tr("&Retry"))
        if self._error_words is not None:
            title, detail = self._error_words()
            self.error_title.setText(title)
            self.error_label.setText(detail)
        if self._options_page is not None:
            self._options_page.set_site(self._site_text(), str(self.data_dir))
        self._show_connection()
        self._show_trust()
        self.tray.retranslate()
        if self._pending is not None or self.catalog_page.model.rowCount():
            self.catalog_page.set_run_context(
                self._run_active(), self._pending.name if self._pending and not self._run_active() else None,
                self._restart_name()
            )

    # --- narrow windows -------------------------------------------------------------------

    def _show_navigation(self) -> None:
        """The navigation's entries: names beside the icons, or (collapsed) the icons only, the
        names still in their tool tips and for assistive technology."""
        collapsed = self._navigation_collapsed
        self.navigation.setFixedWidth(COLLAPSED_NAVIGATION_WIDTH if collapsed else NAVIGATION_WIDTH)
        for page, text in self._navigation_names.items():
            item = self.navigation.item(page)
            item.setText("" if collapsed else text)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, text)
            item.setToolTip(f"{text} (Ctrl+{page + 1})")

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        collapsed = event.size().width() < COLLAPSE_BELOW
        if collapsed != self._navigation_collapsed:
            self._navigation_collapsed = collapsed
            self._show_navigation()
        super().resizeEvent(event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        elif event.type() == QEvent.Type.PaletteChange:
            sheet = app_style_sheet(self.palette())  # its tones follow a light / dark switch
            if sheet != self.styleSheet():
                self.setStyleSheet(sheet)
        super().changeEvent(event)
