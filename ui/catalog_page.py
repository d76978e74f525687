"""The Operating Systems page: search, filter, sort, list or tile view, and the details pane.

The list is a `QListView` over `DeploymentFilterModel` (search per keystroke, All /
Required, sort by name, publisher or status) painted by `DeploymentDelegate`; the
chosen view (list or tiles) is reported with `view_changed` so the window remembers it.
Rows are as wide as the list (names elide; never a horizontal scroll bar); in a narrow page
the filter, sort and view controls go on a row under the search box. Down or Enter in the
search box moves into the results.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QSplitter,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core import Catalog, ConnectionType, HistoryEntry, Listing

from .deployment_delegate import DeploymentDelegate, ViewMode
from .deployment_model import (
    DeploymentFilterModel,
    DeploymentModel,
    Roles,
    RowState,
    SortKey,
)
from .details_page import DetailsPane
from .style import icon, named, page_title, text_label
from .wording import fill

__all__ = ["CatalogPage"]

TILE_SPACING = 6
SEARCH_MIN_WIDTH = 200  # narrower, and the controls move under the search box


class CatalogPage(QWidget):
    """`action_requested(deployment_id, Action)` from the details pane; `view_changed(mode)`."""

    action_requested = Signal(str, object)
    view_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("catalogPage")
        self.model = DeploymentModel(self)
        self.proxy = DeploymentFilterModel(self.model, self)
        self._run_active = False
        self._pending_name: str | None = None
        self._restart_name: str | None = None  # a run waits for a restart of the computer
        self._failures: dict[str, HistoryEntry] = {}

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)

        # --- title and toolbar (two rows, so the controls fit a narrow window) ------------
        self.title = page_title()
        lay.addWidget(self.title)
        bar = named(QWidget(), "catalogToolbar")
        tb = QBoxLayout(QBoxLayout.Direction.LeftToRight, bar)
        tb.setContentsMargins(16, 8, 16, 10)
        tb.setSpacing(10)
        self.search_box = named(QLineEdit(), "searchBox")
        self.search_box.setClearButtonEnabled(True)
        self._search_icon = self.search_box.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search_box.setMinimumWidth(160)
        self.search_box.textChanged.connect(self.proxy.set_search)
        self.search_box.textChanged.connect(self._after_filter)
        self._escape = QAction(self.search_box)
        self._escape.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self._escape.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self._escape.triggered.connect(self.search_box.clear)
        self.search_box.addAction(self._escape)
        self.search_box.installEventFilter(self)  # Down / Enter: into the results
        tb.addWidget(self.search_box, 1)
        # The filter, sort and view controls: beside the search box, or on a row of their own
        # under it when the page is too narrow for both (see `_fit_toolbar`).
        controls = named(QWidget(), "catalogControls")
        self._toolbar = tb
        self._controls = controls
        cl = QHBoxLayout(controls)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(10)
        tb.addWidget(controls)

        self.filter_label = QLabel()
        self.filter_combo = named(QComboBox(), "filterSelector")
        self.filter_label.setBuddy(self.filter_combo)
        self.filter_combo.currentIndexChanged.connect(self._filter_changed)
        cl.addWidget(self.filter_label)
        cl.addWidget(self.filter_combo)

        self.sort_label = QLabel()
        self.sort_combo = named(QComboBox(), "sortSelector")
        self.sort_label.setBuddy(self.sort_combo)
        self.sort_combo.currentIndexChanged.connect(self._sort_changed)
        cl.addWidget(self.sort_label)
        cl.addWidget(self.sort_combo)

        self.list_button = named(QToolButton(), "listViewButton")
        self.list_button.setIcon(icon("view-list"))
        self.tile_button = named(QToolButton(), "tileViewButton")
        self.tile_button.setIcon(icon("view-tiles"))
        self._view_group = QButtonGroup(self)
        self._view_group.setExclusive(True)
        for b in (self.list_button, self.tile_button):
            b.setCheckable(True)
            b.setAutoRaise(True)
            b.setIconSize(QSize(20, 20))
            b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            self._view_group.addButton(b)
            cl.addWidget(b)
        cl.addStretch(1)
        self.list_button.setChecked(True)
        self.list_button.toggled.connect(self._list_toggled)
        self.tile_button.toggled.connect(self._tiles_toggled)
        lay.addWidget(bar)

        # --- list and details ------------------------------------------------------------
        split = self.splitter = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        left = QStackedWidget()
        self.list_view = named(QListView(), "deploymentList")
        self.delegate = DeploymentDelegate(self.list_view)
        self.list_view.setItemDelegate(self.delegate)
        self.list_view.setModel(self.proxy)
        self.list_view.setUniformItemSizes(True)  # one sizeHint for all rows: fast with 5,000
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Rows and tiles fit the view's width (names elide): never a horizontal scroll bar.
        self.list_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list_view.setMouseTracking(True)
        self.list_view.selectionModel().currentChanged.connect(self._current_changed)
        self.list_view.activated.connect(self._activated)
        self.list_view.viewport().installEventFilter(self)
        left.addWidget(self.list_view)
        self.empty_label = text_label("emptyLabel", wrap=True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        left.addWidget(self.empty_label)
        self._left = left
        split.addWidget(left)
        self.details = DetailsPane()
        self.details.action_requested.connect(self.action_requested)
        self.details.setMinimumWidth(320)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([560, 440])
        lay.addWidget(split, 1)

        self.setTabOrder(self.search_box, self.filter_combo)
        self.setTabOrder(self.filter_combo, self.sort_combo)
        self.setTabOrder(self.sort_combo, self.list_button)
        self.setTabOrder(self.list_button, self.tile_button)
        self.setTabOrder(self.tile_button, self.list_view)
        self.setTabOrder(self.list_view, self.details.install_button)
        self.model.modelReset.connect(self._after_filter)
        self.model.dataChanged.connect(self._refresh_details)
        self.retranslate()
        self.set_view(ViewMode.LIST)

    # --- content ----------------------------------------------------------------------

    def set_listings(self, listings: list[Listing], catalog: Catalog | None, connection: ConnectionType | None,
                     allow_cloud: bool) -> None:
        """Replace the rows, keeping the selected deployment selected when it is still listed."""
        keep = self.current_id()
        self.details.set_context(catalog, connection, allow_cloud)
        self.model.set_listings(listings)
        self.select(keep)

    def set_last_runs(self, last_runs: dict[str, str], failures: dict[str, HistoryEntry] | None = None) -> None:
        """Each deployment's last run's status; `failures`: the last run of those whose last run failed."""
        self._failures = failures or {}
        self.model.set_last_runs(last_runs)

    def set_run_context(self, active: bool, pending_name: str | None, restart_name: str | None = None) -> None:
        """A run is active (nothing may start), or `pending_name`'s run waits to be resumed
        (only it may continue; the engine refuses a new run until it finishes); with
        `restart_name` the active run waits for a restart of the computer (said so)."""
        self._run_active = active
        self._pending_name = pending_name
        self._restart_name = restart_name
        self._refresh_details()

    def current_id(self) -> str | None:
        index = self.list_view.currentIndex()
        return index.data(Roles.ID) if index.isValid() else None

    def select(self, deployment_id: str | None) -> bool:
        """Make `deployment_id` current (or the first row when it is None or filtered out)."""
        target = QModelIndex()
        if deployment_id is not None:
            row = self.model.row_of(deployment_id)
            if row is not None:
                target = self.proxy.mapFromSource(self.model.index(row))
        if not target.isValid() and self.proxy.rowCount():
            target = self.proxy.index(0, 0)
        if target.isValid():
            self.list_view.selectionModel().setCurrentIndex(
                target, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
            self.list_view.scrollTo(target)
        else:
            self._refresh_details()
        return target.isValid() and target.data(Roles.ID) == deployment_id

    def focus_search(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    # --- view mode --------------------------------------------------------------------

    def view_mode(self) -> ViewMode:
        return self.delegate.mode

    def set_view(self, mode: ViewMode, *, user: bool = False) -> None:
        changed = mode is not self.delegate.mode
        self.delegate.mode = mode
        v = self.list_view
        if mode is ViewMode.TILES:
            v.setViewMode(QListView.ViewMode.IconMode)
            v.setFlow(QListView.Flow.LeftToRight)
            v.setWrapping(True)
            v.setResizeMode(QListView.ResizeMode.Adjust)
            v.setMovement(QListView.Movement.Static)
            v.setSpacing(TILE_SPACING)
            self._fit_tiles()
            self.tile_button.setChecked(True)
        else:
            v.setViewMode(QListView.ViewMode.ListMode)
            v.setFlow(QListView.Flow.TopToBottom)
            v.setWrapping(False)
            v.setResizeMode(QListView.ResizeMode.Adjust)
            v.setSpacing(0)
            self.list_button.setChecked(True)
        # The delegate's size changed with the mode: relayout everything.
        v.setUniformItemSizes(True)
        v.doItemsLayout()
        current = v.currentIndex()
        if current.isValid():
            v.scrollTo(current)
        if changed and user:
            self.view_changed.emit(mode.value)

    def _list_toggled(self, on: bool) -> None:
        if on:
            self.set_view(ViewMode.LIST, user=True)

    def _tiles_toggled(self, on: bool) -> None:
        if on:
            self.set_view(ViewMode.TILES, user=True)

    def _fit_tiles(self) -> bool:
        """Widen the tiles so whole columns fill the view (no ragged empty strip at the right)."""
        width = self.list_view.viewport().width() - 2
        bar = self.list_view.verticalScrollBar()
        if not bar.isVisible():  # it may appear once tiles are laid out: leave it room
            width -= self.list_view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        s = TILE_SPACING
        columns = max(1, (width - s) // (DeploymentDelegate.MIN_TILE_WIDTH + s))
        tile = max(DeploymentDelegate.MIN_TILE_WIDTH, (width - s) // columns - s)
        if tile == self.delegate.tile_width:
            return False
        self.delegate.tile_width = tile
        return True

    def _fit_toolbar(self) -> None:
        """One row (search, then the controls) when the page is wide enough for both; else the
        controls go on a second row, so nothing is squeezed over its neighbour."""
        tb = self._toolbar
        margins = tb.contentsMargins()
        one_row = (SEARCH_MIN_WIDTH + tb.spacing() + self._controls.sizeHint().width()
                   + margins.left() + margins.right())
        direction = (QBoxLayout.Direction.LeftToRight if self.width() >= one_row
                     else QBoxLayout.Direction.TopToBottom)
        if tb.direction() != direction:
            tb.setDirection(direction)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        self._fit_toolbar()
        super().resizeEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (watched is self.search_box and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent) and event.modifiers() == Qt.KeyboardModifier.NoModifier
                and event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Return, Qt.Key.Key_Enter)):
            return self._into_results()
        if (event.type() == QEvent.Type.Resize and watched is self.list_view.viewport()
                and self.delegate.mode is ViewMode.TILES and self._fit_tiles()):
            self.list_view.doItemsLayout()
        return super().eventFilter(watched, event)

    def _into_results(self) -> bool:
        """From the search box to the results (Down or Enter), the first one current if none is."""
        if not self.proxy.rowCount():
            return False
        if not self.list_view.currentIndex().isValid():
            self.select(None)
        self.list_view.setFocus(Qt.FocusReason.TabFocusReason)
        return True

    # --- behaviour --------------------------------------------------------------------

    def _filter_changed(self, index: int) -> None:
        self.proxy.set_required_only(index == 1)
        self._after_filter()

    def _sort_changed(self, index: int) -> None:
        key = self.sort_combo.itemData(index)
        if isinstance(key, SortKey):
            self.proxy.set_sort_key(key)
            current = self.list_view.currentIndex()
            if current.isValid():
                self.list_view.scrollTo(current)

    def _after_filter(self) -> None:
        shown = self.proxy.rowCount()
        total = self.model.rowCount()
        if shown == 0:
            if total == 0:
                self.empty_label.setText(self.tr("Your organization offers no operating systems to this computer."))
            elif self.proxy.search_text:
                self.empty_label.setText(
                    fill(self.tr("Nothing matches “%1”. Try fewer or other words."), self.search_box.text().strip())
                )
            else:
                self.empty_label.setText(self.tr("Nothing is required for this computer."))
            self._left.setCurrentWidget(self.empty_label)
            self.details.clear()
        else:
            self._left.setCurrentWidget(self.list_view)
            if not self.list_view.currentIndex().isValid():
                self.select(None)
        self.list_view.setAccessibleDescription(
            fill(self.tr("%1 of %2 shown"), shown, total)
        )

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._refresh_details()

    def _refresh_details(self, *_args: object) -> None:
        index = self.list_view.currentIndex()
        if not index.isValid():
            self.details.clear()
            return
        listing = index.data(Roles.LISTING)
        state = index.data(Roles.STATE)
        blocked = None
        if state is RowState.REFUSED:
            pass  # the refusal itself explains
        elif self._restart_name is not None:
            blocked = fill(self.tr("A restart is pending: “%1” continues after the computer restarts. Restart it "
                                   "under Progress, then start another."), self._restart_name)
        elif self._run_active:
            blocked = self.tr("An installation is running. You can follow it under Progress.")
        elif self._pending_name is not None and state is not RowState.RUNNING:
            blocked = fill(self.tr("“%1” has not finished yet. Resume it first, then start another."),
                           self._pending_name)
        self.details.show_listing(listing, state, index.data(Roles.STATUS), blocked,
                                  self._failures.get(listing.deployment.id))

    def _activated(self, index: QModelIndex) -> None:
        """Enter or double-click: the same as pressing the details button, when it is enabled."""
        if index.isValid() and self.details.install_button.isEnabled():
            self.details.install_button.setFocus()
            self.details.install_button.click()

    # --- language ---------------------------------------------------------------------

    def retranslate(self) -> None:
        self.title.setText(self.tr("Operating Systems"))
        self.search_box.setPlaceholderText(self.tr("Search (Ctrl+F)"))
        self.search_box.setAccessibleName(self.tr("Search operating systems"))
        for button in self.search_box.findChildren(QToolButton):  # the search glyph and the clear button
            is_glyph = button.defaultAction() is self._search_icon
            button.setAccessibleName(self.tr("Search") if is_glyph else self.tr("Clear the search"))
        self.filter_label.setText(self.tr("Sho&w:"))
        self.sort_label.setText(self.tr("S&ort by:"))
        self.filter_combo.setAccessibleName(self.tr("Show"))
        self.sort_combo.setAccessibleName(self.tr("Sort by"))
        f, s = self.filter_combo.currentIndex(), self.sort_combo.currentIndex()
        for combo in (self.filter_combo, self.sort_combo):
            combo.blockSignals(True)
            combo.clear()
        self.filter_combo.addItem(self.tr("All"))
        self.filter_combo.addItem(self.tr("Required"))
        self.sort_combo.addItem(self.tr("Name"), SortKey.NAME)
        self.sort_combo.addItem(self.tr("Publisher"), SortKey.PUBLISHER)
        self.sort_combo.addItem(self.tr("Status"), SortKey.STATUS)
        self.filter_combo.setCurrentIndex(max(f, 0))
        self.sort_combo.setCurrentIndex(max(s, 0))
        for combo in (self.filter_combo, self.sort_combo):
            combo.blockSignals(False)
        self.list_button.setToolTip(self.tr("List view"))
        self.list_button.setAccessibleName(self.tr("List view"))
        self.tile_button.setToolTip(self.tr("Tile view"))
        self.tile_button.setAccessibleName(self.tr("Tile view"))
        self.list_view.setAccessibleName(self.tr("Operating systems"))
        self.delegate.retranslate()
        self.model.retranslate()
        self._after_filter()
        self._fit_toolbar()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
