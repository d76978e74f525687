"""Every sentence the window shows for an engine fact, translated: one place for the wording.

The engine reports *codes* (`ErrorCode` for why something failed, refusal codes, run and
step states, exit codes, byte counts); its English messages are for logs and are never
searched for phrases here. This module turns those facts into the sentences people read:
failure causes and what to do (per `ErrorCode`; for a program's failure, per exit code,
so Windows Setup's codes keep their own sentences), refusals, run errors, run titles and
the step counter, connection words, sizes, rates, durations. Sentences are marked with
`QT_TRANSLATE_NOOP` under stable contexts (so `pyside6-lupdate` finds them and a reworded
engine log line changes nothing here) and translated when asked for, in the language
that is current then.

`fill(template, *values)` puts values into a translated template's %1..%9 in one pass: a
value that itself contains "%2" is never substituted again.
"""

from __future__ import annotations

import re
from datetime import datetime

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QDateTime, QLocale, QObject

from core import AgentCode, DownloadStatus, ErrorCode, Refusal, RestartCode, RunStatus, Win32Code, format_exit_code

__all__ = [
    "ERROR_WORDS",
    "agent_error_text",
    "relative_time_text",
    "restart_failed_text",
    "connection_name",
    "connection_text",
    "content_source_text",
    "error_words",
    "failure_words",
    "fill",
    "format_bytes",
    "format_datetime",
    "format_duration",
    "format_elapsed",
    "format_eta",
    "format_percent",
    "format_rate",
    "hex_code",
    "package_download_text",
    "refusal_detail",
    "refusal_explanation",
    "refusal_summary",
    "run_error_text",
    "run_status_text",
    "run_title",
    "step_counter_text",
    "step_status_text",
    "TimeWords",
    "working_text",
]

_PLACEHOLDER = re.compile(r"%([1-9])")


def fill(template: str, *values: object) -> str:
    """`template` with %1..%9 replaced by `values` in a single pass (a value's own "%2" stays
    as it is); a placeholder without a value is left alone."""

    def value(m: re.Match[str]) -> str:
        i = int(m.group(1))
        return str(values[i - 1]) if i <= len(values) else m.group(0)

    return _PLACEHOLDER.sub(value, template)


def _tr(context: str, text: object) -> str:
    """Translate a sentence marked with QT_TRANSLATE_NOOP(context, …) (typed `object` in the stubs)."""
    return QCoreApplication.translate(context, str(text))


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
        return fill(QCoreApplication.translate("Words", "%1 (detected)"), connection_name(connection))
    # Forced by Options or the command line, like ConfigMgr's "always on the internet".
    return fill(QCoreApplication.translate("Words", "%1 (always)"), connection_name(connection))


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
        return fill(QCoreApplication.translate("Words", "%1 min"), QLocale().toString(minutes))
    h, m = divmod(minutes, 60)
    if m == 0:
        return fill(QCoreApplication.translate("Words", "%1 h"), QLocale().toString(h))
    return fill(QCoreApplication.translate("Words", "%1 h %2 min"), QLocale().toString(h), QLocale().toString(m))


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


# --- rates, remaining time, percent (the step list) -------------------------------------


def format_rate(bps: float | None) -> str:
    """'35.2 MB/s'; empty when unknown."""
    if bps is None or bps <= 0:
        return ""
    return fill(QCoreApplication.translate("StepModel", "%1/s"), format_bytes(int(bps)))


def format_eta(seconds: float | None) -> str:
    """'4 s left', '3 min left', '1 h 5 min left'; empty when unknown."""
    if seconds is None or seconds < 0 or seconds != seconds:  # None, negative, NaN
        return ""
    s = int(seconds + 0.5)
    loc = QLocale()
    if s < 60:
        return fill(QCoreApplication.translate("StepModel", "%1 s left"), loc.toString(s))
    m = (s + 30) // 60
    if m < 60:
        return fill(QCoreApplication.translate("StepModel", "%1 min left"), loc.toString(m))
    h, m = divmod(m, 60)
    return fill(QCoreApplication.translate("StepModel", "%1 h %2 min left"), loc.toString(h), loc.toString(m))


def format_percent(value: float) -> str:
    """'52 %' (a program's own progress)."""
    return fill(QCoreApplication.translate("StepModel", "%1 %"), QLocale().toString(int(value)))


def hex_code(code: int) -> str:
    """Always hex, as admins look codes up: `0xC1900208`; small codes also in decimal:
    `0x00000BC2 (3010)`. A negative 32-bit code is the same code: `-1047526904` → `0xC1900208`."""
    u = _u32(code)
    text = f"0x{u:08X}"
    return f"{text} ({u})" if 0 < u < 0x10000 else text


def _u32(code: int) -> int:
    return code & 0xFFFFFFFF if -(2**31) <= code < 0 else code


# --- a step's state and its download (the step list) -----------------------------------------


def step_status_text(state: str, skip_reason: str | None, *, enabled: bool, exit_code: int | None) -> str:
    """A step row's state in a few words: `state` and `skip_reason` are the step model's values
    (pending, skipped, downloading, running, succeeded, failed; disabled, condition, not_run)."""
    if state == "skipped":
        if skip_reason == "disabled":
            return QCoreApplication.translate("StepModel", "Skipped: disabled")
        if skip_reason == "condition":
            return QCoreApplication.translate("StepModel", "Skipped: condition not met")
        return QCoreApplication.translate("StepModel", "Not run")
    if state == "pending":
        if not enabled:
            return QCoreApplication.translate("StepModel", "Disabled")
        return QCoreApplication.translate("StepModel", "Pending")
    if state == "downloading":
        return QCoreApplication.translate("StepModel", "Downloading")
    if state == "running":
        return QCoreApplication.translate("StepModel", "Running")
    if state == "succeeded":
        if exit_code == Win32Code.REBOOT_REQUIRED:
            return QCoreApplication.translate("StepModel", "Succeeded, restart required")
        return QCoreApplication.translate("StepModel", "Succeeded")
    if exit_code is not None and exit_code != 0:
        return fill(QCoreApplication.translate("StepModel", "Failed (%1)"), format_exit_code(exit_code))
    return QCoreApplication.translate("StepModel", "Failed")


def package_download_text(package_name: str, done_bytes: int, total_bytes: int, status: DownloadStatus, *,
                          attempt: int = 0,
                          rate_bps: float | None = None, eta_s: float | None = None) -> str:
    """'Windows 11 media: 120 MB of 256 MB · 35 MB/s · 4 s left', or the finished, failed or
    retrying form."""
    done = fill(
        QCoreApplication.translate("StepModel", "%1 of %2"), format_bytes(done_bytes), format_bytes(total_bytes)
    )
    if status is DownloadStatus.FINISHED:
        return fill(QCoreApplication.translate("StepModel", "%1: downloaded and verified, %2"), package_name,
                    format_bytes(total_bytes))
    if status is DownloadStatus.FAILED:
        return fill(QCoreApplication.translate("StepModel", "%1: download failed at %2"), package_name, done)
    if status is DownloadStatus.RETRYING:
        return fill(
            QCoreApplication.translate("StepModel", "%1: %2 · connection problem, trying again (attempt %3)"),
            package_name, done, QLocale().toString(attempt),
        )
    parts = [fill(QCoreApplication.translate("StepModel", "%1: %2"), package_name, done)]
    for extra in (format_rate(rate_bps), format_eta(eta_s)):
        if extra:
            parts.append(extra)
    return " · ".join(parts)


def working_text() -> str:
    """A step under way that has reported nothing yet."""
    return QCoreApplication.translate("StepModel", "Working…")


# --- the run's header: title and step counter -------------------------------------------


class Plurals(QObject):
    """Sentences with plural forms: pyside6-lupdate finds those only in a QObject's tr()."""

    def preparing(self, steps: int) -> str:
        return self.tr("Preparing (%n step(s))", "", steps)


_RUN_TITLE = {
    RunStatus.RUNNING: QT_TRANSLATE_NOOP("ProgressView", "Running: %1"),
    RunStatus.SUCCEEDED: QT_TRANSLATE_NOOP("ProgressView", "Completed: %1"),
    RunStatus.FAILED: QT_TRANSLATE_NOOP("ProgressView", "Failed: %1"),
    RunStatus.CANCELLED: QT_TRANSLATE_NOOP("ProgressView", "Cancelled: %1"),
    RunStatus.RESTART_PENDING: QT_TRANSLATE_NOOP("ProgressView", "Restart pending: %1"),
}


def run_title(status: RunStatus | None, name: str) -> str:
    """'Running: <deployment name>', 'Completed: …'; 'No task sequence is running' without a name."""
    if not name:
        return QCoreApplication.translate("ProgressView", "No task sequence is running")
    return fill(_tr("ProgressView", _RUN_TITLE.get(status or RunStatus.RUNNING, _RUN_TITLE[RunStatus.RUNNING])), name)


def step_counter_text(number: int, total: int, current: str | None = None) -> str:
    """'Step 5 of 8 · Upgrade Operating System' as ConfigMgr counts (the total is fixed for the
    run); 'Preparing (8 steps)' before the first step; '' when the run has no steps."""
    if total <= 0:
        return ""
    number = max(1, min(number, total)) if number else 0
    if number:
        text = fill(QCoreApplication.translate("ProgressView", "Step %1 of %2"), number, total)
    else:
        text = Plurals().preparing(total)
    return fill(QCoreApplication.translate("ProgressView", "%1 · %2"), text, current) if current else text


# --- why something failed -----------------------------------------------------------------

# ErrorCode -> (cause, what to do), marked under the context of the view that first showed
# them. An empty "what to do" means there is nothing to do.
ERROR_WORDS: dict[ErrorCode, tuple[str, object, object]] = {
    # the site and its catalog
    ErrorCode.CATALOG_INVALID: (
        "MainWindow",
        QT_TRANSLATE_NOOP("MainWindow", "This site's catalog cannot be used."),
        QT_TRANSLATE_NOOP("MainWindow", "Your IT department needs to correct the site. Contact them if this lasts."),
    ),
    ErrorCode.CATALOG_TOO_LARGE: (
        "MainWindow",
        QT_TRANSLATE_NOOP("MainWindow", "This site's catalog is larger than Software Center accepts."),
        QT_TRANSLATE_NOOP("MainWindow", "Your IT department needs to correct the site. Contact them if this lasts."),
    ),
    ErrorCode.SITE_UNREACHABLE: (
        "MainWindow",
        QT_TRANSLATE_NOOP("MainWindow", "Software Center can't reach your organization's site right now."),
        QT_TRANSLATE_NOOP("MainWindow", "Check your network connection, then try again."),
    ),
    ErrorCode.UNTRUSTED_CERTIFICATE: (
        "MainWindow",
        QT_TRANSLATE_NOOP("MainWindow", "The site's security certificate is not trusted."),
        QT_TRANSLATE_NOOP(
            "MainWindow",
            "Software Center did not connect, to keep this computer safe. If your organization uses its own "
            "certificate authority, your IT department can configure it.",
        ),
    ),
    ErrorCode.SIGN_IN_REQUIRED: (
        "MainWindow",
        QT_TRANSLATE_NOOP("MainWindow", "Sign-in required."),
        QT_TRANSLATE_NOOP(
            "MainWindow",
            "Your organization's site needs a sign-in token that this computer does not have or that is no "
            "longer valid. Contact your IT department.",
        ),
    ),
    ErrorCode.UNTRUSTED_SITE: (
        "MainWindow",
        QT_TRANSLATE_NOOP("MainWindow", "This site is not trusted."),
        QT_TRANSLATE_NOOP(
            "MainWindow",
            "The catalog is not signed with the key your IT department set on this computer, so nothing from "
            "it is shown or run. Contact your IT department.",
        ),
    ),
    ErrorCode.BAD_KEY: (
        "MainWindow",
        QT_TRANSLATE_NOOP("MainWindow", "The site key set on this computer cannot be used."),
        QT_TRANSLATE_NOOP(
            "MainWindow", "Contact your IT department: the key they set is damaged or is not a site key."
        ),
    ),
    ErrorCode.SITE_BUILD_FAILED: (
        "MainWindow",
        QT_TRANSLATE_NOOP("MainWindow", "The site could not be built from its source."),
        QT_TRANSLATE_NOOP("MainWindow", "Correct the part of the source the details name, then build the site again."),
    ),
    ErrorCode.UNUSABLE_URL: (
        "MainWindow",
        QT_TRANSLATE_NOOP("MainWindow", "The site's address is not one Software Center can use."),
        QT_TRANSLATE_NOOP("MainWindow", "Check the site's address in Options, or contact your IT department."),
    ),
    ErrorCode.REDIRECT_REFUSED: (
        "MainWindow",
        QT_TRANSLATE_NOOP("MainWindow", "The site sent Software Center to an address it does not accept."),
        QT_TRANSLATE_NOOP("MainWindow", "Contact your IT department: the site's redirection needs correcting."),
    ),
    # content
    ErrorCode.CONTENT_UNAVAILABLE: (
        "FailureView",
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Part of the upgrade's content could not be downloaded, or a downloaded file did not match what "
            "your organization published. Nothing that failed the check was used.",
        ),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Check the internet connection, then start the upgrade again: downloads continue where they "
            "stopped. If it keeps failing, contact your IT department.",
        ),
    ),
    ErrorCode.CONTENT_MISSING: (
        "FailureView",
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Part of the upgrade's content is missing on your organization's server. This is not a problem "
            "with this computer or its connection.",
        ),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Contact your IT department: the content needs to be published again. Then choose Retry.",
        ),
    ),
    ErrorCode.CONTENT_INTEGRITY: (
        "FailureView",
        QT_TRANSLATE_NOOP(
            "FailureView",
            "A downloaded file did not match what your organization published, so it was not used.",
        ),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Check the internet connection, then start the upgrade again: downloads continue where they "
            "stopped. If it keeps failing, contact your IT department.",
        ),
    ),
    ErrorCode.NO_CONTENT_LOCATION: (
        "FailureView",
        QT_TRANSLATE_NOOP("FailureView", "Part of the upgrade's content cannot be downloaded over this connection."),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Connect to the office network, or ask your IT department to publish the content to the cloud.",
        ),
    ),
    ErrorCode.CACHE_UNWRITABLE: (
        "FailureView",
        QT_TRANSLATE_NOOP("FailureView", "Software Center cannot store the upgrade's content in its data folder."),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Make sure the data folder can be written and its disk is not full, then start the upgrade again.",
        ),
    ),
    # runs
    ErrorCode.RUN_LOCKED: (
        "RunController",
        QT_TRANSLATE_NOOP("RunController", "Another Software Center is running a task sequence on this computer."),
        QT_TRANSLATE_NOOP("RunController", "Wait for it to finish, then try again."),
    ),
    ErrorCode.RUN_PENDING: (
        "RunController",
        QT_TRANSLATE_NOOP("RunController", "An earlier upgrade has not finished yet."),
        QT_TRANSLATE_NOOP("RunController", "Continue it first (Resume); a new one can start after it."),
    ),
    ErrorCode.NO_RUN: (
        "RunController",
        QT_TRANSLATE_NOOP("RunController", "There is no interrupted upgrade to continue."),
        "",
    ),
    ErrorCode.RUN_STATE_DAMAGED: (
        "RunController",
        QT_TRANSLATE_NOOP(
            "RunController",
            "The interrupted upgrade cannot be continued: what was saved about it is damaged, or your "
            "organization no longer offers it.",
        ),
        QT_TRANSLATE_NOOP("RunController", "Ask your IT department for help."),
    ),
    ErrorCode.DATA_FOLDER_UNWRITABLE: (
        "FailureView",
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Software Center cannot write to its data folder, so the upgrade stopped. Nothing was lost: the "
            "upgrade is kept where it stopped.",
        ),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Make sure the data folder can be written (and its disk is not full), then continue the upgrade with "
            "Resume. If you cannot, contact your IT department.",
        ),
    ),
    ErrorCode.DISK_FULL: (
        "FailureView",
        QT_TRANSLATE_NOOP(
            "FailureView",
            "There is not enough space on the disk for the upgrade's content or for the upgrade itself.",
        ),
        QT_TRANSLATE_NOOP(
            "FailureView", "Free up disk space, then start the upgrade again. What was already downloaded is kept."
        ),
    ),
    ErrorCode.NOT_ENOUGH_MEMORY: (
        "FailureView",
        QT_TRANSLATE_NOOP("FailureView", "This computer does not have enough memory for the upgrade."),
        QT_TRANSLATE_NOOP(
            "FailureView", "Contact your IT department: this computer may need more memory before it can be upgraded."
        ),
    ),
    ErrorCode.CANCELLED: (
        "FailureView",
        QT_TRANSLATE_NOOP("FailureView", "The upgrade was cancelled."),
        QT_TRANSLATE_NOOP("FailureView", "You can continue it later from where it stopped."),
    ),
    # steps
    ErrorCode.PROGRAM_FAILED: (
        "FailureView",
        QT_TRANSLATE_NOOP("FailureView", "A step of the upgrade ended with an error."),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Start the upgrade again. If it fails again, open the log and give it to your IT department.",
        ),
    ),
    ErrorCode.PROGRAM_TIMEOUT: (
        "FailureView",
        QT_TRANSLATE_NOOP("FailureView", "A step took longer than your IT department allows and was stopped."),
        QT_TRANSLATE_NOOP("FailureView", "Start the upgrade again. If it happens again, contact your IT department."),
    ),
    ErrorCode.PROGRAM_NOT_STARTED: (
        "FailureView",
        QT_TRANSLATE_NOOP("FailureView", "A program the upgrade needs could not be started."),
        QT_TRANSLATE_NOOP("FailureView", "Contact your IT department and give them the log."),
    ),
}

# A program's exit code -> (cause, what to do): Windows Setup's results keep their own sentences.
_EXIT_WORDS: dict[int, tuple[object, object]] = {
    Win32Code.SETUP_COMPAT_BLOCK: (
        QT_TRANSLATE_NOOP(
            "FailureView",
            "An app or driver on this computer is not compatible with Windows 11 and blocks the upgrade. "
            "Windows Setup stopped after its compatibility check; nothing on the computer was changed.",
        ),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Uninstall or update the app that blocks the upgrade (the log names it), then start the upgrade "
            "again. If you cannot remove it yourself, contact your IT department.",
        ),
    ),
    Win32Code.SETUP_DISK_SPACE: (
        QT_TRANSLATE_NOOP(
            "FailureView", "There is not enough free disk space for Windows Setup to upgrade this computer."
        ),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Free up disk space (empty the Recycle Bin, remove large files you no longer need, uninstall unused "
            "apps), then start the upgrade again. What was already downloaded is kept.",
        ),
    ),
    Win32Code.SETUP_NO_ISSUES: (
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Windows Setup only ran its compatibility check. It found no problems, but the upgrade itself did "
            "not run.",
        ),
        QT_TRANSLATE_NOOP("FailureView", "Start the upgrade again. If this happens again, contact your IT department."),
    ),
    Win32Code.SETUP_ROLLBACK: (
        QT_TRANSLATE_NOOP(
            "FailureView",
            "A device driver stopped the upgrade, and Windows went back to the previous version. Your files, "
            "apps and settings are as they were.",
        ),
        QT_TRANSLATE_NOOP(
            "FailureView",
            "Disconnect external devices (docks, printers, USB drives), install the latest drivers, then start "
            "the upgrade again. If it fails again, contact your IT department.",
        ),
    ),
    0xC1900107: (
        QT_TRANSLATE_NOOP("FailureView", "A clean-up from an earlier upgrade attempt has not finished yet."),
        QT_TRANSLATE_NOOP("FailureView", "Restart the computer, then start the upgrade again."),
    ),
    0xC1900200: (
        QT_TRANSLATE_NOOP(
            "FailureView", "The computer does not meet the minimum hardware requirements for the upgrade."
        ),
        QT_TRANSLATE_NOOP(
            "FailureView", "Contact your IT department: this computer may need new hardware before it can be upgraded."
        ),
    ),
    0xC1900202: (
        QT_TRANSLATE_NOOP("FailureView", "The computer does not meet the minimum requirements to install the upgrade."),
        QT_TRANSLATE_NOOP(
            "FailureView", "Contact your IT department: this computer may need new hardware before it can be upgraded."
        ),
    ),
    0xC1900204: (
        QT_TRANSLATE_NOOP(
            "FailureView",
            "The upgrade does not match the Windows installed on this computer (edition, architecture or "
            "language).",
        ),
        QT_TRANSLATE_NOOP("FailureView", "Contact your IT department: this computer needs a different upgrade."),
    ),
}

# The numbers the engine itself reports, for a failure saved without its code (an older history).
_NUMBER_CODES: dict[int, ErrorCode] = {
    Win32Code.DISK_FULL: ErrorCode.DISK_FULL,
    Win32Code.ACCESS_DENIED: ErrorCode.DATA_FOLDER_UNWRITABLE,
    Win32Code.NOT_ENOUGH_MEMORY: ErrorCode.NOT_ENOUGH_MEMORY,
    Win32Code.CONTENT_FAILED: ErrorCode.CONTENT_UNAVAILABLE,
    Win32Code.FILE_NOT_FOUND: ErrorCode.PROGRAM_NOT_STARTED,
    Win32Code.CANCELLED: ErrorCode.CANCELLED,
}

_NO_CODE_CAUSE = QT_TRANSLATE_NOOP("FailureView", "The upgrade could not finish.")


def error_words(code: ErrorCode) -> tuple[str, str]:
    """(cause, what to do) for a failure code, translated; what to do may be ''."""
    context, cause, advice = ERROR_WORDS[code]
    return _tr(context, cause), (_tr(context, advice) if advice else "")


def failure_words(reason: ErrorCode | str | None, exit_code: int | None) -> tuple[str, str]:
    """(cause, what to do) for a failed run or step, translated.

    `reason` is the engine's `ErrorCode` (a string from JSON or the history is accepted;
    an unknown one counts as none). A program's failure is worded by its exit code when
    the code is one of Windows Setup's; a failure saved without a reason by the number
    the engine reported.
    """
    code: ErrorCode | None
    try:
        code = ErrorCode(reason) if reason is not None else None
    except ValueError:
        code = None
    number = _u32(exit_code) if exit_code is not None else None
    if number is not None and code in (None, ErrorCode.PROGRAM_FAILED):
        if number in _EXIT_WORDS:
            cause, advice = _EXIT_WORDS[number]
            return _tr("FailureView", cause), _tr("FailureView", advice)
        code = code or _NUMBER_CODES.get(number, ErrorCode.PROGRAM_FAILED)
    if code is None:
        return _tr("FailureView", _NO_CODE_CAUSE), error_words(ErrorCode.PROGRAM_FAILED)[1]
    return error_words(code)


def run_error_text(code: ErrorCode) -> str:
    """Why a run could not start or continue, in one or two sentences (the problem banner)."""
    cause, advice = error_words(code)
    return fill(QCoreApplication.translate("RunController", "%1 %2"), cause, advice) if advice else cause


# What the agent alone says (core.AgentCode), in words. Codes of the engine and refusals
# keep their own sentences (run_error_text, refusal_detail).
_AGENT_WORDS = {
    AgentCode.RUN_ACTIVE: QT_TRANSLATE_NOOP(
        "Words", "Another installation is already running on this computer. Wait until it has finished."),
    AgentCode.RESTART_PENDING: QT_TRANSLATE_NOOP(
        "Words", "The installation is waiting for a restart of the computer; it continues after the restart."),
    AgentCode.FORBIDDEN: QT_TRANSLATE_NOOP(
        "Words", "You are not allowed to do this on this computer. Ask your IT department."),
    AgentCode.SITE_NOT_OPEN: QT_TRANSLATE_NOOP(
        "Words", "The software catalog could not be read. Try again in a moment."),
    AgentCode.AGENT_UNREACHABLE: QT_TRANSLATE_NOOP(
        "Words", "The Software Center service does not answer. Try again in a moment; if it still does not "
                 "answer, restart the computer or contact your IT department."),
}
_AGENT_MISMATCH = QT_TRANSLATE_NOOP(
    "Words", "Software Center and its service did not understand each other (%1). Contact your IT department.")


def agent_error_text(code: str) -> str:
    """Why the agent refused or could not do what the window asked, from its stable code
    (an engine failure code, a refusal code, or one of the agent's own)."""
    try:
        return run_error_text(ErrorCode(code))
    except (ValueError, KeyError):
        pass
    try:
        return refusal_detail(Refusal(code))
    except (ValueError, KeyError):
        pass
    try:
        return _t(_AGENT_WORDS[AgentCode(code)])
    except (ValueError, KeyError):
        return fill(_t(_AGENT_MISMATCH), code)


_RESTART_FAILED = {
    RestartCode.NOT_STARTED: QT_TRANSLATE_NOOP(
        "Words", "Software Center could not restart the computer. Restart your computer to continue."),
}
_RESTART_FAILED_OTHER = QT_TRANSLATE_NOOP(
    "Words", "The computer did not restart. Restart your computer to continue.")


def restart_failed_text(code: str | None) -> str:
    """The agent's reboot command failed (its code says how): what the person does."""
    try:
        return _t(_RESTART_FAILED[RestartCode(code or "")])
    except (ValueError, KeyError):
        return _t(_RESTART_FAILED_OTHER)


# --- the restart card (ui/restart_countdown.py) ---------------------------------------


class SnoozePlurals(QObject):
    """The delays a restart may be postponed by, with plural forms (found by pyside6-lupdate
    only in a QObject's tr())."""

    def minutes(self, n: int) -> str:
        return self.tr("%n minute(s)", "", n)

    def hours(self, n: int) -> str:
        return self.tr("%n hour(s)", "", n)

    def hours_minutes(self, h: int, m: int) -> str:
        return fill(self.tr("%1 h %2 min"), h, m)


def snooze_choice_text(minutes: int) -> str:
    """'15 minutes', '1 hour', '4 hours', '1 h 30 min'."""
    p = SnoozePlurals()
    if minutes < 60:
        return p.minutes(minutes)
    h, m = divmod(minutes, 60)
    return p.hours(h) if m == 0 else p.hours_minutes(h, m)


# --- the details pane: explanations before anything was tried, relative times ----------------

_BEFORE_TRYING = {
    Refusal.CONTENT_NOT_ON_INTERNET: QT_TRANSLATE_NOOP(
        "Words",
        "Part of this upgrade's content is stored only on servers inside the corporate network, "
        "so it cannot be downloaded from the internet. Connect to the office network, or ask your "
        "IT department to publish the content to the cloud.",
    ),
}


def refusal_explanation(code: Refusal) -> str:
    """The explanation beside a disabled Install button, before anything was tried (no
    "Nothing was started", which `refusal_detail` says after a refused attempt)."""
    text = _BEFORE_TRYING.get(code)
    return _t(text) if text is not None else refusal_detail(code)


class TimeWords(QObject):
    """Relative times with plural forms: pyside6-lupdate finds those only in a QObject's tr()."""

    def days(self, n: int) -> str:
        return self.tr("in %n day(s)", "", n)

    def hours(self, n: int) -> str:
        return self.tr("in %n hour(s)", "", n)

    def minutes(self, n: int) -> str:
        return self.tr("in %n minute(s)", "", n)


def relative_time_text(moment: datetime | str, now: datetime | None = None) -> tuple[str, bool]:
    """('in 3 days', False), ('in 5 hours', False) or ('overdue', True) for a deadline."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return "", False
    now = now or datetime.now(moment.tzinfo)
    seconds = (moment - now).total_seconds()
    words = TimeWords()
    if seconds <= 0:
        return QCoreApplication.translate("Words", "overdue"), True
    if seconds < 3600:
        return words.minutes(max(1, int(seconds // 60))), False
    if seconds < 2 * 86400:
        return words.hours(int(seconds // 3600)), False
    return words.days(int(seconds // 86400)), False


def format_elapsed(seconds: float) -> str:
    """A run's duration: '45 s', '12 min', '1 h 15 min'."""
    if seconds < 60:
        return fill(QCoreApplication.translate("Words", "%1 s"), QLocale().toString(max(0, int(seconds))))
    return format_duration(int(seconds // 60))
