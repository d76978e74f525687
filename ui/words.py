"""Every sentence the window shows for an engine fact (refusal codes, error kinds), translated.

The engine's own messages are for logs; people read these. One place, so the Spanish
translation and the wording stay consistent.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from core.eligibility import Refusal

__all__ = ["connection_text", "format_bytes", "refusal_detail", "refusal_summary"]


def _t(text: str) -> str:
    return QCoreApplication.translate("Words", text)


def refusal_summary(code: Refusal) -> str:
    """One line for a refused row in the catalog."""
    return {
        Refusal.INTRANET_ONLY: _t("Needs the corporate network"),
        Refusal.DIRECT_ACCESS_ON_INTERNET: _t("Runs only from an on-premises server"),
        Refusal.CONTENT_NOT_ON_INTERNET: _t("Some content is only on the corporate network"),
        Refusal.UNSUPPORTED_LAUNCH_MODE: _t("Not supported from boot media or PXE"),
        Refusal.NOT_YET_AVAILABLE: _t("Not available yet"),
        Refusal.EXPIRED: _t("No longer available"),
        Refusal.MEDIA_PXE_ONLY: _t("Only for boot media and PXE"),
        Refusal.UNKNOWN_DEPLOYMENT: _t("Not in this catalog"),
    }[code]


def refusal_detail(code: Refusal) -> str:
    """The full explanation beside a disabled Install button: what happened and what to do."""
    return {
        Refusal.INTRANET_ONLY: _t(
            "Your IT department allows this upgrade only while this computer is connected to the "
            "corporate network, and it is on the internet now. Connect to the office network or VPN, "
            "then try again."
        ),
        Refusal.DIRECT_ACCESS_ON_INTERNET: _t(
            "This upgrade runs its files directly from a server inside the corporate network, which "
            "cannot be reached from the internet. Connect to the office network, then try again."
        ),
        Refusal.CONTENT_NOT_ON_INTERNET: _t(
            "Part of this upgrade's content is stored only on servers inside the corporate network, "
            "so it cannot be downloaded from the internet. Nothing was started. Connect to the office "
            "network, or ask your IT department to publish the content to the cloud."
        ),
        Refusal.UNSUPPORTED_LAUNCH_MODE: _t(
            "Downloading content on demand over the internet works only when the upgrade is started "
            "from Software Center, not from boot media or a network (PXE) start."
        ),
        Refusal.NOT_YET_AVAILABLE: _t(
            "Your IT department has scheduled this upgrade for later. It will become available here "
            "on its start date."
        ),
        Refusal.EXPIRED: _t("This upgrade is no longer offered. Ask your IT department if you still need it."),
        Refusal.MEDIA_PXE_ONLY: _t("This upgrade is only for boot media and network (PXE) starts."),
        Refusal.UNKNOWN_DEPLOYMENT: _t("This upgrade is not in your organization's catalog."),
    }[code]


def connection_text(connection: str | None, setting: str) -> str:
    """'Internet (detected)', 'Corporate network (always)', or 'Detecting…'."""
    if connection is None:
        return _t("Detecting connection…")
    where = _t("Internet") if connection == "internet" else _t("Corporate network")
    how = _t("detected") if setting == "auto" else _t("set in Options")
    return f"{where} ({how})"


def format_bytes(n: int) -> str:
    """Sizes as people read them: '1.5 GB', '340 MB', '12 KB'."""
    size = float(n)
    for unit in (_t("B"), _t("KB"), _t("MB")):
        if size < 1024:
            return f"{size:.0f} {unit}"
        size /= 1024
    return f"{size:.1f} {_t('GB')}"
