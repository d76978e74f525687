"""Paints one row of the step list: state icon, name, state words, and the step's progress bar.

Reads only `index.data(role)` (roles of `ui/step_model.py`); no widget per row. A step
row has two lines — the name with its state on the right, then what it is doing (download
figures or the program's own progress text) with a progress bar at the right while it is
under way, drawn by the style (`QStyleOptionProgressBar` + `CE_ProgressBar`, as in Qt's
torrent example). A group row is one line, its name in bold. Heights depend only on the
kind of row, so a row never has to be laid out again while it changes.

A long package name is elided before the download figures are: the bytes, the rate and
the time left stay readable at any width. The row with keyboard focus gets the style's
focus frame (the list is reached with Tab and walked with the arrows).
"""

from __future__ import annotations

from PySide6.QtCore import (
    QCoreApplication,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QIcon,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionFocusRect,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
)

from .step_model import Roles, StepState
from .style import Accent, accent_color, icon
from .wording import fill

__all__ = ["StepDelegate", "elide_keeping_figures"]

Index = QModelIndex | QPersistentModelIndex

_ICON = 20
_PAD = 6
_INDENT = 18
_BAR_WIDTH = 180

_ICONS: dict[StepState, tuple[str, Accent | None]] = {
    StepState.PENDING: ("clock", None),
    StepState.SKIPPED: ("info", None),
    StepState.DOWNLOADING: ("download", Accent.INFO),
    StepState.RUNNING: ("progress", Accent.INFO),
    StepState.SUCCEEDED: ("success", Accent.POSITIVE),
    StepState.FAILED: ("error", Accent.NEGATIVE),
}


def elide_keeping_figures(fm: QFontMetrics, text: str, download: object, width: int) -> str:
    """`text` fitted to `width`: a download's line ("NAME: 12 MB of 256 MB · 3 MB/s · 2 min
    left") loses characters of the package name first, so its figures stay whole."""
    if fm.horizontalAdvance(text) <= width:
        return text
    name = getattr(download, "package_name", None)
    if isinstance(name, str) and name and text.startswith(name):
        rest = text[len(name):]
        room = width - fm.horizontalAdvance(rest)
        if room >= fm.horizontalAdvance("M…"):
            return fm.elidedText(name, Qt.TextElideMode.ElideRight, room) + rest
        return fm.elidedText(rest.lstrip(": "), Qt.TextElideMode.ElideRight, width)
    return fm.elidedText(text, Qt.TextElideMode.ElideRight, width)


class StepDelegate(QStyledItemDelegate):
    """Draws step rows; `sizeHint` pairs with `paint`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._icons: dict[StepState, QIcon] = {}
        self._pixmaps: dict[tuple[StepState, QIcon.Mode, float, int], QPixmap] = {}

    def _pixmap(self, state: StepState, mode: QIcon.Mode, dpr: float, palette: QPalette) -> QPixmap:
        """The state's icon, rendered once per mode, pixel ratio and palette (SVG parsing is not cheap)."""
        key = (state, mode, dpr, palette.cacheKey())
        pm = self._pixmaps.get(key)
        if pm is None:
            if state not in self._icons:
                name, accent = _ICONS[state]
                self._icons[state] = icon(name, accent)
            if len(self._pixmaps) > 64:  # palettes changed many times: start again
                self._pixmaps.clear()
            pm = self._pixmaps[key] = self._icons[state].pixmap(QSize(_ICON, _ICON), dpr, mode)
        return pm

    # --- geometry --------------------------------------------------------------------

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802 - Qt API
        fm = QFontMetrics(option.font)
        line = fm.height()
        if index.data(Roles.IS_GROUP):
            return QSize(300, max(_ICON, line) + 2 * _PAD)
        return QSize(300, max(_ICON, line) + line + 3 * _PAD + 2)

    # --- painting --------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        # The option already has what is drawn here (rect, state, palette, font); no
        # initStyleOption: it would ask the model for a handful of roles this delegate ignores.
        opt = QStyleOptionViewItem(option)
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        # The selection / hover background, as the style draws it for any item view.
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, widget)

        state: StepState = index.data(Roles.STATE)
        is_group = bool(index.data(Roles.IS_GROUP))
        enabled = bool(index.data(Roles.ENABLED))
        depth = int(index.data(Roles.DEPTH) or 0)
        name = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        status = str(index.data(Roles.STATUS_TEXT) or "")
        detail = str(index.data(Roles.DETAIL_TEXT) or "")
        fraction = index.data(Roles.FRACTION)

        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette: QPalette = opt.palette
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        text_color = palette.color(text_role)
        dim = state is StepState.SKIPPED or (state is StepState.PENDING and not enabled)
        dim_color = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        if selected:
            dim_color = text_color
        accent = _ICONS[state][1]
        state_color = accent_color(accent, palette) if accent is not None and not selected else (
            dim_color if dim else palette.color(text_role)
        )

        painter.save()
        r = opt.rect.adjusted(_PAD + depth * _INDENT, _PAD, -_PAD, -_PAD)
        fm = QFontMetrics(opt.font)
        line = fm.height()
        first = QRect(r.left(), r.top(), r.width(), max(_ICON, line))

        # Icon: the state, dimmed for steps that will not run.
        icon_rect = QRect(first.left(), first.top() + (first.height() - _ICON) // 2, _ICON, _ICON)
        mode = QIcon.Mode.Disabled if dim else (QIcon.Mode.Selected if selected else QIcon.Mode.Normal)
        dpr = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        painter.drawPixmap(icon_rect, self._pixmap(state, mode, dpr, palette))

        # First line: the name (bold for groups and the step under way), the state on the right.
        text_left = icon_rect.right() + _PAD + 2
        name_font = QFont(opt.font)
        if is_group or state in (StepState.RUNNING, StepState.DOWNLOADING):
            name_font.setBold(True)
        status_font = QFont(opt.font)
        status_fm = QFontMetrics(status_font)
        status_w = status_fm.horizontalAdvance(status) + 2
        name_rect = QRect(text_left, first.top(), max(0, first.right() - text_left - status_w - _PAD), first.height())
        painter.setFont(name_font)
        painter.setPen(dim_color if dim else text_color)
        painter.drawText(
            name_rect,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            QFontMetrics(name_font).elidedText(name, Qt.TextElideMode.ElideRight, name_rect.width()),
        )
        painter.setFont(status_font)
        painter.setPen(state_color)
        painter.drawText(
            QRect(first.right() - status_w, first.top(), status_w, first.height()),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            status,
        )

        # Second line (steps only): what it is doing, and its bar while under way.
        if not is_group:
            second = QRect(text_left, first.bottom() + _PAD // 2 + 1, r.right() - text_left, line)
            detail_rect = QRect(second)
            if fraction is not None:
                bar_w = min(_BAR_WIDTH, max(80, second.width() // 3))
                bar_rect = QRect(second.right() - bar_w, second.top(), bar_w, second.height())
                detail_rect.setRight(bar_rect.left() - _PAD)
                self._paint_bar(painter, opt, bar_rect, float(fraction), style)
            small = QFont(opt.font)
            small.setPointSizeF(max(6.0, opt.font.pointSizeF() * 0.92))
            painter.setFont(small)
            muted = QColor(text_color if selected else palette.color(QPalette.ColorRole.PlaceholderText))
            if state is StepState.FAILED and not selected:
                muted = accent_color(Accent.NEGATIVE, palette)
            painter.setPen(muted)
            painter.drawText(
                detail_rect,
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                elide_keeping_figures(QFontMetrics(small), detail, index.data(Roles.DOWNLOAD), detail_rect.width()),
            )
        if opt.state & QStyle.StateFlag.State_HasFocus:
            focus = QStyleOptionFocusRect()
            focus.rect = opt.rect.adjusted(1, 1, -1, -1)
            focus.state = opt.state | QStyle.StateFlag.State_KeyboardFocusChange
            focus.palette = palette
            focus.backgroundColor = palette.color(QPalette.ColorRole.Highlight if selected else QPalette.ColorRole.Base)
            style.drawPrimitive(QStyle.PrimitiveElement.PE_FrameFocusRect, focus, painter, widget)
            # Some styles draw nothing for a focus frame without a keyboard-focus change: a line then.
            painter.setPen(palette.color(QPalette.ColorRole.Highlight))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(opt.rect.adjusted(0, 0, -1, -1))
        painter.restore()

    @staticmethod
    def _paint_bar(painter: QPainter, opt: QStyleOptionViewItem, rect: QRect, fraction: float, style: QStyle) -> None:
        bar = QStyleOptionProgressBar()
        bar.rect = rect
        bar.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal
        bar.direction = opt.direction
        bar.fontMetrics = opt.fontMetrics
        bar.palette = opt.palette
        bar.minimum = 0
        bar.maximum = 1000
        bar.progress = max(0, min(1000, int(fraction * 1000)))
        bar.textVisible = True
        bar.text = fill(QCoreApplication.translate("StepDelegate", "%1 %"), QLocale().toString(int(fraction * 100)))
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, opt.widget)
