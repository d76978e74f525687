"""Paints a deployment as a list row or as a tile, reading only `index.data(role)`.

No widget per row: the view asks `sizeHint` (fixed per mode, so the view can use uniform
item sizes and lay out 5,000 rows without asking each) and `paint` draws the icon, the
name, publisher and version, a "Required" badge and the status line in its accent.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from .deployment_model import Roles, RowState
from .style import Accent, accent_color, draw_focus_ring, elide_keeping_last_part, icon, item_background

__all__ = ["DeploymentDelegate", "ViewMode"]

Index = QModelIndex | QPersistentModelIndex

_ACCENT = {
    RowState.AVAILABLE: Accent.POSITIVE,
    RowState.INSTALLED: Accent.POSITIVE,
    RowState.FAILED: Accent.NEGATIVE,
    RowState.RUNNING: Accent.INFO,
    RowState.REFUSED: Accent.WARNING,
}
_STATE_ICON = {
    RowState.AVAILABLE: "download",
    RowState.INSTALLED: "success",
    RowState.FAILED: "error",
    RowState.RUNNING: "progress",
    RowState.REFUSED: "warning",
}


class _Fonts(NamedTuple):
    bold: QFont  # the name
    normal: QFont  # publisher, version, status
    fm_b: QFontMetrics
    fm: QFontMetrics
    name_block: int  # height of a tile's NAME_LINES lines of name


class ViewMode(enum.Enum):
    LIST = "list"
    TILES = "tiles"


class DeploymentDelegate(QStyledItemDelegate):
    """Rows (list view) or tiles (icon view); `mode` chooses."""

    PAD = 10
    ICON = 36
    MIN_TILE_WIDTH = 200  # the catalog page widens tiles to fill its width (`tile_width`)
    NAME_LINES = 3  # of a tile: most names share their start ("Windows 11 24H2 upgrade (…")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = ViewMode.LIST
        self.tile_width = self.MIN_TILE_WIDTH
        self._font_cache: dict[str, _Fonts] = {}
        self._os_icon = icon("os", QPalette.ColorRole.Highlight)
        self._state_icons = {s: icon(name, _ACCENT[s]) for s, name in _STATE_ICON.items()}
        self._badge_text = ""
        self.retranslate()

    def retranslate(self) -> None:
        self._badge_text = self.tr("Required")

    # --- geometry ---------------------------------------------------------------------

    def _fonts(self, option: QStyleOptionViewItem) -> _Fonts:
        """The name's font, the other lines' font, their metrics (made once per view font)."""
        key = option.font.key()
        fonts = self._font_cache.get(key)
        if fonts is None:
            bold = QFont(option.font)
            bold.setWeight(QFont.Weight.DemiBold)
            bold.setPointSizeF(option.font.pointSizeF() * 1.08)
            fm_b = QFontMetrics(bold)
            # A tile's name lines as Qt lays them out: not lines × lineSpacing, which rounds
            # the real spacing down and would clip the last line.
            sample = "\n".join(["Xg"] * self.NAME_LINES)
            block = fm_b.boundingRect(QRect(0, 0, 10_000, 10_000), Qt.AlignmentFlag.AlignLeft, sample).height()
            normal = QFont(option.font)
            fonts = self._font_cache[key] = _Fonts(bold, normal, fm_b, QFontMetrics(normal), block)
        return fonts

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802 - Qt override
        f = self._fonts(option)
        line, title = f.fm.height(), f.fm_b.height()
        if self.mode is ViewMode.LIST:
            # The view stretches a row to its width; a wider hint would give the list a
            # horizontal scroll bar and clip every row at the right instead of eliding.
            width = self.ICON + 12 + 2 * self.PAD + _min_text_width(f.fm)
            return QSize(width, max(self.ICON, title + 2 * line + 4) + 2 * self.PAD)
        # icon, the name's lines, publisher, status, padding
        return QSize(self.tile_width, self.ICON + 8 + f.name_block + 6 + 2 * line + 8 + 2 * self.PAD)

    # --- painting ---------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        painter.save()
        # Rows get the style's selection and hover background; tiles draw their own card.
        opt, _style = item_background(painter, option, panel=self.mode is ViewMode.LIST)
        widget = opt.widget
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        if self.mode is ViewMode.TILES:
            # A card: rounded, outlined; filled with the selection color when selected.
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            card = QRectF(opt.rect).adjusted(2.5, 2.5, -2.5, -2.5)
            if selected:
                fill = opt.palette.color(QPalette.ColorRole.Highlight)
            elif opt.state & QStyle.StateFlag.State_MouseOver:
                fill = opt.palette.color(QPalette.ColorRole.AlternateBase)
            else:
                fill = opt.palette.color(QPalette.ColorRole.Base)
            painter.setBrush(fill)
            painter.setPen(fill if selected else opt.palette.color(QPalette.ColorRole.Mid))
            painter.drawRoundedRect(card, 8, 8)
        enabled = bool(opt.state & QStyle.StateFlag.State_Enabled)
        group = QPalette.ColorGroup.Normal if enabled else QPalette.ColorGroup.Disabled
        text_color = opt.palette.color(
            group, QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        dim_color = QColor(text_color)
        if not selected:
            dim_color = opt.palette.color(group, QPalette.ColorRole.PlaceholderText)
        state = index.data(Roles.STATE)
        status_color = text_color if selected else accent_color(_ACCENT[state], opt.palette)
        dep = index.data(Roles.LISTING).deployment  # one call for the fixed facts of the row
        name = dep.name
        sub = " · ".join(x for x in (dep.publisher, dep.version) if x)
        status = index.data(Roles.STATUS) or ""
        required = dep.purpose == "required"
        bold, normal, fm_b, fm, name_block = self._fonts(opt)
        r = opt.rect.adjusted(self.PAD, self.PAD, -self.PAD, -self.PAD)
        icon_mode = QIcon.Mode.Selected if selected else QIcon.Mode.Normal

        if self.mode is ViewMode.LIST:
            self._os_icon.paint(painter, QRect(r.left(), r.top(), self.ICON, self.ICON), Qt.AlignmentFlag.AlignCenter,
                                icon_mode)
            x = r.left() + self.ICON + 12
            right = r.right()
            if required:
                right = self._badge(painter, fm, right, r.top(), status_color if selected else
                                    accent_color(Accent.INFO, opt.palette)) - 8
            y = r.top()
            painter.setFont(bold)
            painter.setPen(text_color)
            painter.drawText(
                QRect(x, y, right - x, fm_b.height()),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                fm_b.elidedText(name, Qt.TextElideMode.ElideRight, right - x),
            )
            y += fm_b.height() + 2
            painter.setFont(normal)
            painter.setPen(dim_color)
            painter.drawText(
                QRect(x, y, r.right() - x, fm.height()),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                fm.elidedText(sub, Qt.TextElideMode.ElideRight, r.right() - x),
            )
            y += fm.height() + 2
            self._status(painter, fm, state, status, status_color, QRect(x, y, r.right() - x, fm.height()), icon_mode)
        else:
            self._os_icon.paint(painter, QRect(r.left(), r.top(), self.ICON, self.ICON), Qt.AlignmentFlag.AlignCenter,
                                icon_mode)
            if required:
                self._badge(painter, fm, r.right(), r.top(), status_color if selected else
                            accent_color(Accent.INFO, opt.palette))
            y = r.top() + self.ICON + 8
            painter.setFont(bold)
            painter.setPen(text_color)
            name_rect = QRect(r.left(), y, r.width(), name_block)
            painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                             _elide_lines(name, fm_b, r.width(), self.NAME_LINES))
            y += name_block + 6
            painter.setFont(normal)
            painter.setPen(dim_color)
            painter.drawText(QRect(r.left(), y, r.width(), fm.height()), Qt.AlignmentFlag.AlignLeft,
                             fm.elidedText(sub, Qt.TextElideMode.ElideRight, r.width()))
            y += fm.height() + 6
            self._status(
                painter, fm, state, status, status_color, QRect(r.left(), y, r.width(), fm.height()), icon_mode
            )
        if opt.state & QStyle.StateFlag.State_HasFocus and widget is not None and widget.hasFocus():
            draw_focus_ring(painter, opt.rect, opt.palette, selected=selected)
        painter.restore()

    def _status(self, painter: QPainter, fm: QFontMetrics, state: RowState, text: str, color: QColor, rect: QRect,
                mode: QIcon.Mode) -> None:
        side = fm.height() - 2
        self._state_icons[state].paint(painter, QRect(rect.left(), rect.top() + 1, side, side),
                                       Qt.AlignmentFlag.AlignCenter, mode)
        painter.setPen(color)
        x = rect.left() + side + 6
        painter.drawText(QRect(x, rect.top(), rect.right() - x, rect.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         elide_keeping_last_part(text, fm, rect.right() - x))

    def _badge(self, painter: QPainter, fm: QFontMetrics, right: int, top: int, color: QColor) -> int:
        """A small outlined "Required" badge ending at `right`; returns its left edge."""
        w = fm.horizontalAdvance(self._badge_text) + 14
        rect = QRect(right - w, top, w, fm.height() + 2)
        painter.setPen(color)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.drawRoundedRect(rect.adjusted(0, 0, -1, -1), rect.height() / 2, rect.height() / 2)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._badge_text)
        return rect.left()


def _min_text_width(fm: QFontMetrics) -> int:
    """The narrowest a row's text column may get: a few characters, then the text elides."""
    return fm.averageCharWidth() * 8


def _elide_lines(text: str, fm: QFontMetrics, width: int, lines: int) -> str:
    """Word-wrap `text` into at most `lines` lines of `width`, eliding the last one."""
    words = text.split()
    out: list[str] = []
    current = ""
    while words and len(out) < lines - 1:
        candidate = f"{current} {words[0]}".strip()
        if fm.horizontalAdvance(candidate) <= width or not current:
            current = candidate
            words.pop(0)
        else:
            out.append(current)
            current = ""
    rest = " ".join([current, *words]).strip()
    out.append(fm.elidedText(rest, Qt.TextElideMode.ElideRight, width))
    return "\n".join(x for x in out if x)
