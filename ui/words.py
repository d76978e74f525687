"""Every sentence the window shows for an engine fact (refusal codes, run states, sizes), translated.

The engine's own messages are for logs; people read these. One place, so the Spanish
translation and the wording stay consistent. Sentences are marked with
`QT_TRANSLATE_NOOP` (so `pyside6-lupdate` finds them) and translated when asked for, in
the language that is current then.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QDateTime, QLocale

from core import Refusal

__all__ = [
    "connection_name",
    "connection_text",
    "content_source_text",
    "format_bytes",
    "format_datetime",
    "format_duration",
    "refusal_detail",
    "refusal_summary",
    "run_status_text",
]

_CTX = "Words"


def _t(text: object) -> str:
    """Translate a sentence marked with QT_TRANSLATE_NOOP("Words", …), in the current language."""
    return QCoreApplication.translate(_CTX, str(text))


_SUMMARY = {
    Refusal.INTRANET_ONLY: QT_TRANSLATE_NOOP("Words", "Needs the corporate network"),
    Refusal.DIRECT_ACCESS_ON_INTERNET: QT_TRANSLATE_NOOP("Words", "Runs only from an on-premises server"),
    Refusal.CONTENT_NOT_ON_INTERNET: QT_TRANSLATE_NOOP("Words", "Some content is only on the corporate network"),
    Refusal.UNSUPPORTED_LAUNCH_MODE: QT_TRANSLATE_NOOP("Words", "Not supported from boot media or PXE"),
    Refusal.NOT_YET_AVAILABLE: QT_TRANSLATE_NOOP("Words", "Not available yet"),
    Refusal.EXPIRED: QT_TRANSLATE_NOOP("Words", "No longer available"),
    Refusal.MEDIA_PXE_ONLY: QT_TRANSLATE_NOOP("Words", "Only for boot media and PXE"),
    Refusal.UNKNOWN_DEPLOYMENT: QT_TRANSLATE_NOOP("Words", "Not in this catalog"),
}

_DETAIL = {
    Refusal.INTRANET_ONLY: QT_TRANSLATE_NOOP(
        "Words",
        "Your IT department allows this upgrade only while this computer is connected to the "
        "corporate network, and it is on the internet now. Connect to the office network or VPN, "
        "then try again.",
    ),
    Refusal.DIRECT_ACCESS_ON_INTERNET: QT_TRANSLATE_NOOP(
        "Words",
        "This upgrade runs its files directly from a server inside the corporate network, which "
        "cannot be reached from the internet. Connect to the office network, then try again.",
    ),
    Refusal.CONTENT_NOT_ON_INTERNET: QT_TRANSLATE_NOOP(
        "Words",
        "Part of this upgrade's content is stored only on servers inside the corporate network, "
        "so it cannot be downloaded from the internet. Nothing was started. Connect to the office "
        "network, or ask your IT department to publish the content to the cloud.",
    ),
    Refusal.UNSUPPORTED_LAUNCH_MODE: QT_TRANSLATE_NOOP(
        "Words",
        "Downloading content on demand over the internet works only when the upgrade is started "
        "from Software Center, not from boot media or a network (PXE) start.",
    ),
    Refusal.NOT_YET_AVAILABLE: QT_TRANSLATE_NOOP(
        "Words",
        "Your IT department has scheduled this upgrade for later. It will become available here "
        "on its start date.",
    ),
    Refusal.EXPIRED: QT_TRANSLATE_NOOP(
        "Words", "This upgrade is no longer offered. Ask your IT department if you still need it."
    ),
    Refusal.MEDIA_PXE_ONLY: QT_TRANSLATE_NOOP("Words", "This upgrade is only for boot media and network (PXE) starts."),
    Refusal.UNKNOWN_DEPLOYMENT: QT_TRANSLATE_NOOP("Words", "This upgrade is not in your organization's catalog."),
}

_RUN_STATUS = {
    "running": QT_TRANSLATE_NOOP("Words", "Running"),
    "restart_pending": QT_TRANSLATE_NOOP("Words", "Waiting for a restart"),
    "cancelled": QT_TRANSLATE_NOOP("Words", "Stopped, can be resumed"),
    "succeeded": QT_TRANSLATE_NOOP("Words", "Succeeded"),
    "failed": QT_TRANSLATE_NOOP("Words", "Failed"),
    "refused": QT_TRANSLATE_NOOP("Words", "Not started"),
}


def refusal_summary(code: Refusal) -> str:
    """One line for a refused row in the catalog."""
    return _t(_SUMMARY[code])


def refusal_detail(code: Refusal) -> str:
    """The full explanation beside a disabled Install button: what happened and what to do."""
    return _t(_DETAIL[code])


def run_status_text(status: str) -> str:
    """A run's state (RunStatus / RunResult values) in words; unknown states as they are."""
    text = _RUN_STATUS.get(status)
    return _t(text) if text is not None else status


def connection_name(connection: str) -> str:
    """'Internet' or 'Corporate network'."""
    if connection == "internet":
        return QCoreApplication.translate("Words", "Internet")
    return QCoreApplication.translate("Words", "Corporate network")


def connection_text(connection: str | None, setting: str) -> str:
    """'Internet (detected)', 'Corporate network (always)', or 'Detecting connection…'."""
    if connection is None:
        return QCoreApplication.translate("Words", "Detecting connection…")
    if setting == "auto":
        return QCoreApplication.translate("Words", "%1 (detected)").replace("%1", connection_name(connection))
    # Forced by Options or the command line, like ConfigMgr's "always on the internet".
    return QCoreApplication.translate("Words", "%1 (always)").replace("%1", connection_name(connection))


def content_source_text(kinds: set[str]) -> str:
    """Where the content comes from, by location kind (`cloud`, `dp`)."""
    if kinds == {"cloud"}:
        return QCoreApplication.translate("Words", "Cloud (reachable from the internet)")
    if kinds == {"dp"}:
        return QCoreApplication.translate("Words", "On-premises distribution point (corporate network only)")
    return QCoreApplication.translate("Words", "Cloud and on-premises distribution points")


def format_bytes(n: int) -> str:
    """Sizes as people read them, in the current language: '288 MB', '1.3 GB', '0 B'."""
    precision = 1 if n >= 1 << 30 else 0
    return QLocale().formattedDataSize(n, precision, QLocale.DataSizeFormat.DataSizeTraditionalFormat)


def format_duration(minutes: int) -> str:
    """'1 h 15 min', '20 min', '2 h' (callers say "about")."""
    if minutes < 60:
        return QCoreApplication.translate("Words", "%1 min").replace("%1", QLocale().toString(minutes))
    h, m = divmod(minutes, 60)
    if m == 0:
        return QCoreApplication.translate("Words", "%1 h").replace("%1", QLocale().toString(h))
    text = QCoreApplication.translate("Words", "%1 h %2 min")
    return text.replace("%1", QLocale().toString(h)).replace("%2", QLocale().toString(m))


def format_datetime(value: datetime | str | None) -> str:
    """A moment in local time, in the current language's short format; '' for None or garbage."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    qdt = QDateTime.fromSecsSinceEpoch(int(moment.timestamp())).toLocalTime()
    # Day, abbreviated month and year: unambiguous in every language ("15 Mar 2027, 17:00").
    return QLocale().toString(qdt, "d MMM yyyy, HH:mm")
