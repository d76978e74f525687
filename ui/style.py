"""The window's look: SVG icons tinted from the palette, status accents, the style sheet,
and the few helpers every page uses for the same look (titles, scrolling bodies, item backgrounds).

Everything follows the system palette (light or dark) through palette roles; the only
fixed colors are the status accents, each with a light-theme and a dark-theme shade so
it reads on both. Icons are the SVG files in `resources/icons/`, drawn with
`currentColor`; `icon()` renders them at the exact size and device pixel ratio asked
for, so they stay crisp on HiDPI screens.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QByteArray, QEvent, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QIcon,
    QIconEngine,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import (
    QApplication,
    QFormLayout,
    QFrame,
    QLabel,
    QLayout,
    QScrollArea,
    QStyle,
    QStyleOptionViewItem,
    QWidget,
)

import resources

__all__ = [
    "ICON_DIR",
    "Accent",
    "IconLabel",
    "accent_color",
    "app_style_sheet",
    "blend",
    "draw_focus_ring",
    "elide_keeping_last_part",
    "emphasize",
    "icon",
    "is_dark",
    "item_background",
    "named",
    "page_title",
    "scroll_body",
    "text_label",
]

ICON_DIR = Path(resources.__file__).resolve().parent / "icons"

W = TypeVar("W", bound=QWidget)


class Accent(enum.Enum):
    """Status accents (light-theme shade, dark-theme shade)."""

    POSITIVE = ("#1e7b34", "#6fcf87")  # available, succeeded
    WARNING = ("#a05a00", "#f0b35a")  # refused, needs attention
    NEGATIVE = ("#b42318", "#ff8a80")  # failed
    INFO = ("#1f5fae", "#8ab8ff")  # required, running


def is_dark(palette: QPalette | None = None) -> bool:
    """True when the window background is dark (the system is in a dark theme)."""
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def accent_color(accent: Accent, palette: QPalette | None = None) -> QColor:
    light, dark = accent.value
    return QColor(dark if is_dark(palette) else light)


@cache
def _svg(name: str) -> bytes:
    return (ICON_DIR / f"{name}.svg").read_bytes()


class _SvgIconEngine(QIconEngine):
    """Renders one SVG at any size; `currentColor` becomes the palette's text color for the mode.

    A fixed `color` (an accent) overrides the palette. Rendered on demand, so a palette
    change (light ↔ dark) shows on the next repaint.
    """

    def __init__(self, name: str, color: Accent | QPalette.ColorRole | None) -> None:
        super().__init__()
        self._name = name
        self._color = color

    def _tint(self, mode: QIcon.Mode) -> str:
        palette = QGuiApplication.palette()
        if mode == QIcon.Mode.Selected:  # on the selection color, accents would clash
            color = palette.color(QPalette.ColorRole.HighlightedText)
        elif isinstance(self._color, Accent):
            color = accent_color(self._color, palette)
        elif mode == QIcon.Mode.Disabled:
            color = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
        else:
            color = palette.color(self._color or QPalette.ColorRole.WindowText)
        if mode == QIcon.Mode.Disabled and isinstance(self._color, Accent):
            color.setAlphaF(0.45)
        return color.name(QColor.NameFormat.HexArgb if color.alpha() < 255 else QColor.NameFormat.HexRgb)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        # Delegates paint icons for every visible row on every repaint: draw a cached pixmap
        # rendered at the painter's device pixel ratio rather than parsing the SVG each time.
        dpr = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        painter.drawPixmap(rect, self.scaledPixmap(rect.size(), mode, state, dpr))

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:  # noqa: N802
        return _pixmap(self._name, self._tint(mode), size.width(), size.height(), scale)

    def actualSize(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QSize:  # noqa: N802
        side = min(size.width(), size.height())
        return QSize(side, side)

    def clone(self) -> QIconEngine:
        return _SvgIconEngine(self._name, self._color)

    def key(self) -> str:
        return "software-center-svg"


@cache
def _renderer(name: str, color: str) -> QSvgRenderer:
    return QSvgRenderer(QByteArray(_svg(name).replace(b"currentColor", color.encode())))


@lru_cache(maxsize=512)
def _pixmap(name: str, color: str, width: int, height: int, scale: float) -> QPixmap:
    """The icon rendered once per name, color, size and device pixel ratio."""
    pm = QPixmap(QSize(width, height) * scale)
    pm.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pm)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    _renderer(name, color).render(painter, QRectF(QPoint(0, 0), pm.size()))
    painter.end()
    pm.setDevicePixelRatio(scale)
    return pm


def icon(name: str, color: Accent | QPalette.ColorRole | None = None) -> QIcon:
    """The icon `resources/icons/<name>.svg`, tinted with the palette's text color or an accent."""
    if name == "app":  # the application icon keeps its own colors
        return QIcon(str(ICON_DIR / "app.svg"))
    return QIcon(_SvgIconEngine(name, color))


def named(widget: W, name: str) -> W:
    """`widget` with its objectName (style sheets and tests find it by it). PySide6 also takes
    `objectName=` in constructors, but its type stubs do not know such keywords."""
    widget.setObjectName(name)
    return widget


def text_label(name: str, *, wrap: bool = False) -> QLabel:
    """A named label; `wrap`: its text wraps at word boundaries."""
    label = named(QLabel(), name)
    label.setWordWrap(wrap)
    return label


def add_fact_rows(form: QFormLayout, keys: Iterable[str], prefix: str) -> tuple[dict[str, QLabel], dict[str, QLabel]]:
    """A row per key in `form`: a quiet name label (its text set later, in the current
    language) and a wrapping, selectable value label named `<prefix>_<key>`. Returns the
    name labels and the value labels by key."""
    labels: dict[str, QLabel] = {}
    values: dict[str, QLabel] = {}
    for key in keys:
        label = QLabel()
        label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        value = text_label(f"{prefix}_{key}", wrap=True)
        value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        labels[key], values[key] = label, value
        form.addRow(label, value)
    return labels, values


def emphasize(widget: W, scale: float = 1.0) -> W:
    """Semi-bold text, `scale` times the widget's font size (headings, titles)."""
    font = widget.font()
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setWeight(QFont.Weight.DemiBold)
    widget.setFont(font)
    return widget


def elide_keeping_last_part(text: str, fm: QFontMetrics, width: int, separator: str = " · ") -> str:
    """`text` elided to `width`, keeping its last `separator`-part whole when it fits: a status
    line such as "Available · 288 MB to download" loses words before it loses the size."""
    if fm.horizontalAdvance(text) <= width:
        return text
    head, sep, tail = text.rpartition(separator)
    if sep:
        rest = width - fm.horizontalAdvance(sep + tail)
        if rest >= fm.horizontalAdvance("…") * 3:
            return fm.elidedText(head, Qt.TextElideMode.ElideRight, rest) + sep + tail
        if fm.horizontalAdvance(tail) <= width:
            return tail
    return fm.elidedText(text, Qt.TextElideMode.ElideRight, width)


def page_title() -> QLabel:
    """The title at the top left of a page, aligned the same on every page."""
    label = text_label("pageTitle")
    emphasize(label, 1.25)
    label.setContentsMargins(16, 14, 16, 0)
    return label


def scroll_body(layout: QLayout) -> QWidget:
    """Add a frameless, resizing scroll area to `layout`; returns the widget to fill."""
    scroll = QScrollArea()
    # Not a Tab stop of its own (an unnamed one, to a screen reader): Tab goes to the
    # controls inside, and the area scrolls to show the one with the focus.
    scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    body = QWidget()
    scroll.setWidget(body)
    layout.addWidget(scroll)
    return body


def item_background(painter: QPainter, option: QStyleOptionViewItem, *, panel: bool = True
                    ) -> tuple[QStyleOptionViewItem, QStyle]:
    """Start painting an item: a copy of its option and its style; with `panel`, the style's
    selection and hover background drawn. The delegate draws text and icons itself from
    `index.data(role)`, so the option is not filled from the model (that would ask Python
    for a dozen roles per row per repaint)."""
    opt = QStyleOptionViewItem(option)
    style = opt.widget.style() if opt.widget is not None else QApplication.style()
    if panel:
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, opt.widget)
    return opt, style


def draw_focus_ring(painter: QPainter, rect: QRect, palette: QPalette, *, selected: bool) -> None:
    """The keyboard focus on a painted item: a 2 px rounded outline inside `rect`, in the
    selection color (on a selected item, in its text color, so it shows on the highlight).
    The style's own focus frame is not used: Fusion draws nothing for an item's option."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    color = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Highlight)
    pen = QPen(color, 2)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(QRectF(rect).adjusted(2, 2, -2, -2), 5, 5)
    painter.restore()


class IconLabel(QLabel):
    """A label showing one icon; rendered again when the palette or the screen's pixel ratio changes."""

    def __init__(self, name: str, color: Accent | QPalette.ColorRole | None = None, side: int = 24,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._icon = icon(name, color)
        self._side = side
        self.setFixedSize(side, side)
        self._render()

    def set_icon(self, name: str, color: Accent | QPalette.ColorRole | None = None) -> None:
        self._icon = icon(name, color)
        self._render()

    def _render(self) -> None:
        self.setPixmap(self._icon.pixmap(QSize(self._side, self._side), self.devicePixelRatioF()))

    def event(self, e: QEvent) -> bool:
        if e.type() in (QEvent.Type.PaletteChange, QEvent.Type.DevicePixelRatioChange):
            self._render()
        return super().event(e)


def blend(palette: QPalette, amount: float) -> QColor:
    """The window color moved `amount` (0..1) of the way to the window text color: a tone
    that stands out from the background in a light and in a dark palette alike."""
    back = palette.color(QPalette.ColorRole.Window)
    fore = palette.color(QPalette.ColorRole.WindowText)
    return QColor.fromRgbF(*(b + (f - b) * amount for b, f in ((back.redF(), fore.redF()),
                                                             (back.greenF(), fore.greenF()),
                                                             (back.blueF(), fore.blueF()))))


def app_style_sheet(palette: QPalette | None = None) -> str:
    """Layout touches only: colors come from palette roles, so light and dark themes both work.

    A progress bar's trough and outline are tones between the window and its text colors
    (made from `palette`, the application's by default): the style's own trough is the Base
    color, which in a dark palette is almost the window's, so an empty bar was invisible.
    The window sets the sheet again when the palette changes."""
    palette = palette or QGuiApplication.palette()
    trough, edge = blend(palette, 0.22).name(), blend(palette, 0.45).name()
    bars = f"""
QProgressBar {{ background: {trough}; border: 1px solid {edge}; border-radius: 4px; text-align: center; }}
QProgressBar::chunk {{ background: palette(highlight); border-radius: 3px; }}
"""
    return bars + """
#header { background: palette(base); border-bottom: 1px solid palette(mid); }
#heading { font-weight: 600; }
#connectionChip {
    border: 1px solid palette(mid); border-radius: 12px; padding: 3px 10px;
    background: palette(window);
}
#navigation { border: none; background: palette(window); outline: 0; }
#navigation::item { padding: 8px 10px; border-radius: 6px; margin: 1px 6px; }
#navigation::item:selected { background: palette(highlight); color: palette(highlighted-text); }
#banner, #deadlineBanner { background: palette(alternate-base); border: 1px solid palette(mid); border-radius: 8px; }
#detailsPane { background: palette(base); border-left: 1px solid palette(mid); }
#detailsTitle { font-weight: 600; }
#installButton {
    padding: 6px 22px; border-radius: 6px; font-weight: 600;
    background: palette(highlight); color: palette(highlighted-text); border: 1px solid palette(highlight);
}
#installButton:disabled { background: palette(button); color: palette(mid); border: 1px solid palette(mid); }
#installButton:focus { border: 2px solid palette(text); }
#navigation::item:focus { border: 2px solid palette(highlighted-text); }
#navigation::item:!selected:focus { border: 2px solid palette(highlight); }
#connectionChip:focus { border: 2px solid palette(highlight); }
#trustChip, #listViewButton, #tileViewButton { border: 2px solid transparent; border-radius: 6px; padding: 2px; }
#trustChip:focus, #listViewButton:focus, #tileViewButton:focus { border: 2px solid palette(highlight); }
#listViewButton:checked, #tileViewButton:checked { background: palette(midlight); }
#confirmInstallButton { font-weight: 600; }
#pageTitle { font-weight: 600; }
#emptyLabel { color: palette(placeholder-text); }
QLineEdit[readOnly="true"] { background: transparent; border: none; padding: 0; }
QListView#deploymentList, QListView#historyList { border: none; background: palette(base); }
"""
