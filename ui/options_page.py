"""The Options page: connection type, site address, data folder, downloaded content, language.

The page only shows and asks; the window applies (saving Options, re-detecting the
connection and listing the catalog again, clearing the cache, switching the language).
The connection selector and Clear are disabled while a run is active, with the reason.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .i18n import LANGUAGES, resolve_language
from .style import icon, named, page_title, scroll_body, text_label
from .wording import connection_text, fill, format_bytes

__all__ = ["OptionsPage"]

_CONNECTIONS = ("auto", "internet", "intranet")


class OptionsPage(QWidget):
    """`connection_changed(setting)`, `language_changed(code or None)`, `clear_cache_requested()`."""

    connection_changed = Signal(str)
    language_changed = Signal(object)
    clear_cache_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("optionsPage")
        self._connection: str | None = None
        self._setting = "auto"
        self._language: str | None = None
        self._site = ""
        self._data_dir = ""
        self._cache_bytes: int | None = None
        self._run_active = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        body = scroll_body(outer)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(0, 0, 24, 24)
        lay.setSpacing(10)
        self.title = page_title()
        lay.addWidget(self.title)

        self.form = QFormLayout()
        self.form.setContentsMargins(16, 0, 0, 0)
        self.form.setHorizontalSpacing(18)
        self.form.setVerticalSpacing(14)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        lay.addLayout(self.form)

        # Connection
        self.connection_label = QLabel()
        self.connection_selector = named(QComboBox(), "connectionSelector")
        self.connection_selector.activated.connect(self._connection_activated)
        self.connection_label.setBuddy(self.connection_selector)
        self.detected_label = text_label("detectedConnection", wrap=True)
        self.connection_note = text_label("connectionNote", wrap=True)
        self.form.addRow(self.connection_label, self._column(self.connection_selector, self.detected_label,
                                                             self.connection_note))

        # Site address
        self.site_label = QLabel()
        self.site_field = named(QLineEdit(), "siteAddress")
        self.site_field.setReadOnly(True)
        self.site_label.setBuddy(self.site_field)
        self.form.addRow(self.site_label, self.site_field)

        # Data folder
        self.data_label = QLabel()
        self.data_field = named(QLineEdit(), "dataFolder")
        self.data_field.setReadOnly(True)
        self.data_label.setBuddy(self.data_field)
        self.open_folder_button = named(QPushButton(), "openDataFolderButton")
        self.open_folder_button.setIcon(icon("folder"))
        self.open_folder_button.clicked.connect(self._open_folder)
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(self.data_field, 1)
        row.addWidget(self.open_folder_button)
        self.form.addRow(self.data_label, row)

        # Downloaded content
        self.cache_label = QLabel()
        self.cache_value = text_label("cacheUsage")
        self.clear_button = named(QPushButton(), "clearCacheButton")
        self.clear_button.clicked.connect(self.clear_cache_requested)
        self.cache_note = text_label("cacheNote", wrap=True)
        row = QHBoxLayout()
        row.setSpacing(12)
        row.addWidget(self.cache_value)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        holder = QWidget()
        col = QVBoxLayout(holder)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        col.addLayout(row)
        col.addWidget(self.cache_note)
        self.form.addRow(self.cache_label, holder)

        # Language
        self.language_label = QLabel()
        self.language_selector = named(QComboBox(), "languageSelector")
        self.language_selector.activated.connect(self._language_activated)
        self.language_label.setBuddy(self.language_selector)
        self.language_note = text_label("languageNote", wrap=True)
        self.form.addRow(self.language_label, self._column(self.language_selector, self.language_note))

        lay.addStretch(1)
        for w in (self.detected_label, self.connection_note, self.cache_note, self.language_note):
            w.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.retranslate()

    @staticmethod
    def _column(*widgets: QWidget) -> QWidget:
        holder = QWidget()
        col = QVBoxLayout(holder)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        for w in widgets:
            col.addWidget(w, 0, Qt.AlignmentFlag.AlignLeft if isinstance(w, QComboBox) else Qt.AlignmentFlag(0))
        return holder

    # --- what the window tells the page ---------------------------------------------

    def set_connection(self, setting: str, connection: str | None) -> None:
        self._setting, self._connection = setting, connection
        self.connection_selector.setCurrentIndex(_CONNECTIONS.index(setting))
        self._show_connection()

    def set_site(self, site: str, data_dir: str) -> None:
        self._site, self._data_dir = site, data_dir
        self.site_field.setText(site)
        self.site_field.setCursorPosition(0)
        self.data_field.setText(data_dir)
        self.data_field.setCursorPosition(0)

    def set_cache_usage(self, usage_bytes: int | None) -> None:
        self._cache_bytes = usage_bytes
        self._show_cache()

    def set_language(self, language: str | None) -> None:
        self._language = language
        codes = [None, *LANGUAGES]
        self.language_selector.setCurrentIndex(codes.index(language) if language in codes else 0)

    def set_run_active(self, active: bool) -> None:
        self._run_active = active
        self.connection_selector.setEnabled(not active)
        self._show_connection()
        self._show_cache()

    # --- showing ------------------------------------------------------------------------

    def _show_connection(self) -> None:
        self.detected_label.setText(
            fill(self.tr("Now: %1"), connection_text(self._connection, self._setting))
        )
        self.connection_note.setText(
            self.tr("The connection can be changed when the installation has finished.") if self._run_active else ""
        )
        self.connection_note.setVisible(self._run_active)

    def _show_cache(self) -> None:
        if self._cache_bytes is None:
            self.cache_value.setText(self.tr("Measuring…"))
        else:
            self.cache_value.setText(fill(self.tr("%1 in use"), format_bytes(self._cache_bytes)))
        self.clear_button.setEnabled(not self._run_active and bool(self._cache_bytes))
        self.cache_note.setText(
            self.tr("Downloaded content can be cleared when the installation has finished.")
            if self._run_active
            else self.tr("Content is kept so that installing again or resuming does not download it twice.")
        )

    def _connection_activated(self, index: int) -> None:
        setting = _CONNECTIONS[index]
        if setting != self._setting:
            self._setting = setting
            self._connection = None
            self._show_connection()
            self.connection_changed.emit(setting)

    def _language_activated(self, index: int) -> None:
        code = [None, *LANGUAGES][index]
        if code != self._language:
            self._language = code
            self.language_changed.emit(code)

    def _open_folder(self) -> None:
        if self._data_dir:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self._data_dir))

    # --- language -----------------------------------------------------------------------

    def retranslate(self) -> None:
        self.title.setText(self.tr("Options"))
        self.connection_label.setText(self.tr("&Connection:"))
        c = self.connection_selector.currentIndex()
        self.connection_selector.clear()
        self.connection_selector.addItem(icon("restart"), self.tr("Detect automatically"))
        self.connection_selector.addItem(icon("internet"), self.tr("Always on the internet"))
        self.connection_selector.addItem(icon("intranet"), self.tr("Always on the corporate network"))
        self.connection_selector.setIconSize(QSize(16, 16))
        self.connection_selector.setCurrentIndex(c if c >= 0 else _CONNECTIONS.index(self._setting))
        self.connection_selector.setAccessibleName(self.tr("Connection type"))
        self.site_label.setText(self.tr("&Site address:"))
        self.site_field.setAccessibleName(self.tr("Site address"))
        self.data_label.setText(self.tr("&Data folder:"))
        self.data_field.setAccessibleName(self.tr("Data folder"))
        self.open_folder_button.setText(self.tr("&Open"))
        self.open_folder_button.setAccessibleName(self.tr("Open the data folder"))
        self.cache_label.setText(self.tr("Downloaded content:"))
        self.cache_value.setAccessibleName(self.tr("Downloaded content"))
        self.clear_button.setText(self.tr("Clea&r…"))
        self.clear_button.setAccessibleName(self.tr("Clear downloaded content"))
        self.language_label.setText(self.tr("&Language:"))
        lang = self.language_selector.currentIndex()
        self.language_selector.clear()
        system = LANGUAGES[resolve_language(None)]
        self.language_selector.addItem(icon("language"), fill(self.tr("Same as the system (%1)"), system))
        for name in LANGUAGES.values():
            self.language_selector.addItem(name)  # each language in its own words
        self.language_selector.setCurrentIndex(max(lang, 0))
        self.language_selector.setAccessibleName(self.tr("Language"))
        self.language_note.setText(self.tr("The window changes language at once."))
        self._show_connection()
        self._show_cache()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
