"""The main window: heading, connection type, navigation, and the Operating Systems page.

It owns one `core.SoftwareCenter` and opens it without blocking: the window shows at
once with a progress indicator, then the catalog; a site that is down shows the reason
and a Retry button.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.center import SoftwareCenter
from core.errors import CatalogError, SoftwareCenterError
from core.options import ConnectionSetting

from .deployment_model import DeploymentModel, Roles
from .words import connection_text, format_bytes, refusal_detail

__all__ = ["MainWindow"]

log = logging.getLogger("software_center.ui")


class MainWindow(QMainWindow):
    """Software Center's window. `opened` futures resolve when the catalog is listed."""

    def __init__(self, site: str | None, data_dir: Path, connection: ConnectionSetting | None) -> None:
        super().__init__()
        self.center = SoftwareCenter(data_dir, site=site, connection=connection)
        self.setWindowTitle(self.tr("Software Center"))
        self.resize(1000, 640)
        self._task: asyncio.Task[None] | None = None
        self.loaded: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        root = QWidget()
        outer = QVBoxLayout(root)
        top = QHBoxLayout()
        self.heading = QLabel(self.tr("Software Center"), objectName="heading")
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.heading.setFont(font)
        self.connection_label = QLabel(objectName="connectionLabel")
        self.connection_label.setAccessibleName(self.tr("Connection type"))
        top.addWidget(self.heading, 1)
        top.addWidget(self.connection_label)
        outer.addLayout(top)

        body = QHBoxLayout()
        self.navigation = QListWidget(objectName="navigation")
        self.navigation.addItem(self.tr("Operating Systems"))
        self.navigation.setCurrentRow(0)
        self.navigation.setMaximumWidth(200)
        self.navigation.setAccessibleName(self.tr("Pages"))
        body.addWidget(self.navigation)

        self.stack = QStackedWidget()
        self.stack.addWidget(self._loading_page())
        self.stack.addWidget(self._error_page())
        self.stack.addWidget(self._catalog_page())
        body.addWidget(self.stack, 1)
        outer.addLayout(body, 1)
        self.setCentralWidget(root)
        self._show_connection()
        self._task = asyncio.ensure_future(self._open())

    # --- pages ---------------------------------------------------------------------

    def _loading_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addStretch()
        lay.addWidget(QLabel(self.tr("Loading the catalog…")), 0, Qt.AlignmentFlag.AlignHCenter)
        bar = QProgressBar()
        bar.setRange(0, 0)  # indeterminate: how long the site takes is unknown
        bar.setMaximumWidth(300)
        lay.addWidget(bar, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch()
        return page

    def _error_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addStretch()
        self.error_label = QLabel(objectName="siteError", wordWrap=True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.error_label)
        self.retry_button = QPushButton(self.tr("&Retry"), objectName="retryButton")
        self.retry_button.clicked.connect(self._retry)
        lay.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch()
        return page

    def _catalog_page(self) -> QWidget:
        split = QSplitter()
        self.model = DeploymentModel(self)
        self.list_view = QListView(objectName="deploymentList")
        self.list_view.setModel(self.model)
        self.list_view.setAccessibleName(self.tr("Deployments"))
        self.list_view.selectionModel().selectionChanged.connect(self._selection_changed)
        split.addWidget(self.list_view)

        details = QWidget(objectName="details")
        lay = QVBoxLayout(details)
        self.title_label = QLabel(objectName="detailsTitle", wordWrap=True)
        f = self.title_label.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.3)
        self.title_label.setFont(f)
        self.meta_label = QLabel(objectName="detailsMeta", wordWrap=True)
        self.description_label = QLabel(objectName="detailsDescription", wordWrap=True)
        self.description_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.refusal_label = QLabel(objectName="refusalLabel", wordWrap=True)
        self.refusal_label.setStyleSheet("color: palette(highlight);")
        for w in (self.title_label, self.meta_label, self.description_label, self.refusal_label):
            w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            lay.addWidget(w)
        lay.addStretch()
        split.addWidget(details)
        split.setSizes([420, 580])
        return split

    # --- behaviour -----------------------------------------------------------------

    def _show_connection(self) -> None:
        self.connection_label.setText(
            self.tr("Connection: %1").replace(
                "%1", connection_text(self.center.connection, self.center.connection_setting)
            )
        )

    async def _open(self) -> None:
        self.stack.setCurrentIndex(0)
        try:
            if self.center.site_url is None:
                await self.center.open()
            else:
                await self.center.reload()
        except CatalogError as exc:
            self._show_error(self.tr("This site's catalog cannot be used: %1").replace("%1", str(exc)))
            return
        except (SoftwareCenterError, OSError) as exc:
            self._show_error(self.tr("The software catalog could not be loaded: %1").replace("%1", str(exc)))
            return
        finally:
            if not self.loaded.done():
                self.loaded.set_result(None)
        catalog = self.center.catalog
        assert catalog is not None
        self.heading.setText(catalog.site.organization)
        self._show_connection()
        self.model.set_listings(self.center.listings())
        self.stack.setCurrentIndex(2)
        if self.model.rowCount():
            self.list_view.setCurrentIndex(self.model.index(0))

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.stack.setCurrentIndex(1)
        self.retry_button.setFocus()

    def _retry(self) -> None:
        self._task = asyncio.ensure_future(self._open())

    def _selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            return
        item = self.model.data(indexes[0], Roles.LISTING)
        dep = item.deployment
        self.title_label.setText(dep.name)
        meta = [
            self.tr("Publisher: %1").replace("%1", dep.publisher),
            self.tr("Version: %1").replace("%1", dep.version),
            self.tr("Download size: %1 (%2 already downloaded)")
            .replace("%1", format_bytes(item.total_bytes))
            .replace("%2", format_bytes(item.total_bytes - item.download_bytes)),
            self.tr("Estimated time: %n minute(s)", "", dep.estimated_minutes),
        ]
        if dep.restart_required:
            meta.append(self.tr("Restart required"))
        if dep.deadline is not None:
            meta.append(self.tr("Deadline: %1").replace("%1", dep.deadline.astimezone().strftime("%Y-%m-%d %H:%M")))
        self.meta_label.setText("\n".join(meta))
        self.description_label.setText(dep.description)
        refusal = item.verdict.refusal
        self.refusal_label.setText(refusal_detail(refusal) if refusal is not None else "")
        self.refusal_label.setVisible(refusal is not None)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self._task is not None and not self._task.done():
            self._task.cancel()
        super().closeEvent(event)

    async def shutdown(self) -> None:
        """Stop background work and release the engine (session, embedded site)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        await self.center.aclose()
