"""The main window: heading, connection type, navigation, the pages, and the run's lifecycle.

It owns one `core.SoftwareCenter` and opens it without blocking: the window shows at
once with a progress indicator, then the catalog; a site that is down shows the reason
and Retry. Installing goes: details button → confirmation dialog (opened with `open()`,
never `exec()`) → `RunController.start` → the Progress page. Closing during a run asks
first; a confirmed close cancels the run cleanly (it stays resumable) and then closes.
A saved, unfinished run is offered for resume in a banner.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Coroutine
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
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
    ConnectionSetting,
    ErrorCode,
    LocalEngine,
    RunError,
    RunState,
    RunStatus,
    SoftwareCenter,
    SoftwareCenterError,
    load_state,
    save_options,
)

from .catalog_page import CatalogPage
from .confirm_dialog import ConfirmInstallDialog
from .deployment_delegate import ViewMode
from .details_page import Action
from .i18n import apply_language
from .options_page import OptionsPage
from .progress_view import ProgressView
from .resume_banner import ResumeBanner
from .run_controller import RunController
from .status_page import StatusPage
from .style import Accent, IconLabel, app_style_sheet, emphasize, icon, named, text_label
from .wording import connection_text, error_words, fill

if TYPE_CHECKING:
    from core import RunResult

__all__ = ["MainWindow", "Page"]

log = logging.getLogger("software_center.ui")

_CONNECTION_SETTINGS: dict[str, ConnectionSetting] = {"auto": "auto", "internet": "internet", "intranet": "intranet"}

_UNFINISHED = ("running", "restart_pending", "cancelled")


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

    def __init__(
        self,
        site: str | None,
        data_dir: Path,
        connection: ConnectionSetting | None,
        *,
        demo_rate_bps: float | None = None,
    ) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.center = SoftwareCenter(data_dir, site=site, connection=connection, demo_rate_bps=demo_rate_bps)
        apply_language(self.center.options.language)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._open_task: asyncio.Task[None] | None = None
        self._close_confirmed = False
        self._pending: RunState | None = None
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
        self.navigation.setFixedWidth(220)
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

        self.pages = named(QStackedWidget(), "pages")
        self.catalog_area = QStackedWidget()
        self.catalog_area.addWidget(self._loading_page())
        self.catalog_area.addWidget(self._error_page())
        self.catalog_page = CatalogPage()
        self.catalog_page.action_requested.connect(self._action_requested)
        self.catalog_page.view_changed.connect(lambda mode: self._save_options(view=mode))
        self.catalog_area.addWidget(self.catalog_page)
        self.status_page = StatusPage(data_dir)
        self.options_page = OptionsPage()
        self.options_page.connection_changed.connect(self.set_connection)
        self.options_page.language_changed.connect(self.set_language)
        self.options_page.clear_cache_requested.connect(self._ask_clear_cache)
        self.pages.addWidget(self.catalog_area)
        self.pages.addWidget(self.status_page)
        self.pages.addWidget(self.options_page)

        self.controller = RunController(LocalEngine(self.center), self)
        self.controller.started.connect(self._run_started)
        self.controller.finished.connect(self._run_finished)
        self.controller.runningChanged.connect(self._running_changed)
        self.progress_page = ProgressView(self.controller)
        self.pages.addWidget(self.progress_page)
        content.addWidget(self.pages, 1)
        body.addLayout(content, 1)
        outer.addLayout(body, 1)
        self.setCentralWidget(root)

        self.navigation.currentRowChanged.connect(self._navigate)
        self.navigation.setCurrentRow(Page.CATALOG)
        self._shortcuts()
        self.setTabOrder(self.navigation, self.catalog_page.search_box)

        view = self.center.options.view
        self.catalog_page.set_view(ViewMode.TILES if view == "tiles" else ViewMode.LIST)
        self.options_page.set_connection(self.center.connection_setting, None)
        self.options_page.set_language(self.center.options.language)
        self.options_page.set_site(self._site_text(), str(data_dir))
        self.retranslate()
        self._offer_resume()
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
        self.pages.setCurrentIndex(page)
        if page is Page.STATUS:
            self.status_page.refresh()
        elif page is Page.OPTIONS:
            self._spawn(self._measure_cache())

    def focus_search(self) -> None:
        self.show_page(Page.CATALOG)
        self.catalog_page.focus_search()

    # --- the catalog ------------------------------------------------------------------------

    def _site_text(self) -> str:
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
        self.options_page.set_connection(c.connection_setting, c.connection)

    async def _open(self) -> None:
        self.catalog_area.setCurrentIndex(0)
        try:
            if self.center.site_url is None:
                await self.center.open()
            else:
                await self.center.reload()
        except (SoftwareCenterError, OSError) as exc:
            # The failure's code decides the words; the engine's message is the detail after them.
            cause, advice = error_words(
                exc.code if isinstance(exc, SoftwareCenterError) else ErrorCode.SITE_UNREACHABLE
            )
            self._show_error(cause, fill(self.tr("%1 (%2)"), advice, exc) if advice else str(exc))
            return
        except Exception as exc:
            # A bug, not a site problem: say so calmly, keep Retry, and let the loop's handler report it.
            self._show_error(self.tr("Something went wrong while reading the catalog."), str(exc))
            raise
        finally:
            if not self.loaded.done():
                self.loaded.set_result(None)
        catalog = self.center.catalog
        assert catalog is not None
        self.heading.setText(catalog.site.organization)
        self.setWindowTitle(self.tr("Software Center") + " – " + catalog.site.organization)
        self.options_page.set_site(self._site_text(), str(self.data_dir))
        self._show_connection()
        self._show_trust()
        self.relist()
        self.catalog_area.setCurrentWidget(self.catalog_page)
        self.banner.resume_button.setEnabled(True)
        self.listed.emit()

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
        history = self.status_page.refresh()
        self._pending = self._load_pending()
        last: dict[str, str] = {}
        for entry in history:  # oldest first: the newest run of each deployment wins
            if entry.status in _UNFINISHED:
                continue
            last[entry.deployment] = entry.status
        active = self._run_active()
        if self._pending is not None:
            last[self._pending.deployment] = self._pending.status.value
        self.catalog_page.set_last_runs(last)
        self.catalog_page.set_listings(c.listings(), c.catalog, c.connection, c.options.allow_cloud_content)
        self.catalog_page.set_run_context(active, self._pending.name if self._pending and not active else None)

    def _show_error(self, title: str, detail: str) -> None:
        self.error_title.setText(title)
        self.error_label.setText(detail)
        self.catalog_area.setCurrentIndex(1)
        self._show_connection()
        if self.center.connection is None:  # never detected: the site did not answer
            self.connection_chip.setText(self.tr("Site not reached"))
            self.connection_chip.setIcon(icon("warning", Accent.WARNING))
        if self.current_page() is Page.CATALOG:
            self.retry_button.setFocus()
        self.load_failed.emit(detail)

    def retry(self) -> None:
        """Read the catalog again (Retry, F5). Not while a run is active: it uses this catalog."""
        if self._run_active() or (self._open_task is not None and not self._open_task.done()):
            return
        self._open_task = self._spawn(self._open())

    # --- options ----------------------------------------------------------------------------

    def _save_options(self, **changes: Any) -> None:
        options = replace(self.center.options, **changes)
        self.center.options = options
        try:
            save_options(self.data_dir, options)
        except OSError as exc:
            log.warning("The options could not be saved: %s", exc)
            self.statusBar().showMessage(self.tr("Your choice applies now but could not be saved for next time."),
                                         8000)

    def set_connection(self, setting: str) -> None:
        """Options' connection type changed: remember it, detect again, list again."""
        if self._run_active():
            self._show_connection()
            return
        value = _CONNECTION_SETTINGS.get(setting)
        if value is None:
            log.warning("Unknown connection type %r ignored", setting)
            return
        self._save_options(connection=value)
        self.center.connection_setting = value
        self.center.connection = None
        self._show_connection()
        if self._open_task is not None and not self._open_task.done():
            self._open_task.cancel()
        self._open_task = self._spawn(self._open())

    def set_language(self, language: str | None) -> None:
        """Options' language changed: applied at once (every page retranslates itself)."""
        self._save_options(language=language)
        apply_language(language)

    async def _measure_cache(self) -> None:
        self.options_page.set_cache_usage(await asyncio.to_thread(self.center.store.usage_bytes))

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
        await asyncio.to_thread(self.center.store.clear)
        await self._measure_cache()
        self.relist()

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
        return self.controller.running or self.controller.counting_down

    def _load_pending(self) -> RunState | None:
        try:
            return load_state(self.data_dir)
        except RunError as exc:
            log.warning("The saved run cannot be resumed: %s", exc)
            return None

    def _offer_resume(self) -> None:
        pending = self._load_pending()
        if pending is not None and pending.status is not RunStatus.SUCCEEDED and not self._run_active():
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
        self.controller.start(deployment_id)
        self._show_progress()

    def resume_run(self) -> None:
        if self._run_active():
            return
        self.banner.withdraw()
        self.controller.resume()
        self._show_progress()

    def _show_progress(self) -> None:
        self.navigation.item(Page.PROGRESS).setHidden(False)
        self.show_page(Page.PROGRESS)

    def _running_changed(self, _running: bool) -> None:
        active = self._run_active()
        if active:
            self.banner.withdraw()
            self.navigation.item(Page.PROGRESS).setHidden(False)
        self.options_page.set_run_active(active)
        self.relist()

    def _run_started(self, _deployment_id: str) -> None:
        self.relist()  # the history has the new run now

    def _run_finished(self, _result: RunResult) -> None:
        self.relist()  # sizes (now cached), Reinstall / Retry, the history

    # --- closing --------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self._run_active() and not self._close_confirmed:
            event.ignore()
            self._ask_close()
            return
        if self._open_task is not None and not self._open_task.done():
            self._open_task.cancel()
        super().closeEvent(event)

    def _ask_close(self) -> None:
        if self.question is not None and self.question.isVisible():
            return
        box, yes = self._question(
            self.tr("An installation is running. Stop it and close?"),
            self.tr("It stops safely and nothing is lost: the next time you open Software Center "
                    "you can resume it where it stopped."),
            self.tr("&Stop and close"),
            self.tr("&Keep running"),
        )
        box.setObjectName("closeQuestion")
        yes.clicked.connect(lambda: self._spawn(self._stop_and_close()))
        box.open()

    async def _stop_and_close(self) -> None:
        if self._run_active():
            await self.controller.cancel()
        self._close_confirmed = True
        self.close()

    async def shutdown(self) -> None:
        """Stop background work and release the engine (session, embedded site)."""
        for task in list(self._tasks):
            task.cancel()
        if self._run_active():
            await self.controller.cancel()
        self.controller.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.center.aclose()

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
        for page, text in names.items():
            item = self.navigation.item(page)
            item.setText(text)
            item.setToolTip(f"{text} (Ctrl+{page + 1})")
        self.navigation.setAccessibleName(self.tr("Pages"))
        self.loading_label.setText(self.tr("Loading the catalog…"))
        self.retry_button.setText(self.tr("&Retry"))
        self.options_page.set_site(self._site_text(), str(self.data_dir))
        self._show_connection()
        self._show_trust()
        if self._pending is not None or self.catalog_page.model.rowCount():
            self.catalog_page.set_run_context(
                self._run_active(), self._pending.name if self._pending and not self._run_active() else None
            )

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
