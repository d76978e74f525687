"""The admin's log: `<data>/logs/smsts.log` in CMTrace format, rotated, with secrets masked.

One `logging` record is one entry, on one line (docs/ENGINE.md, "The log"):

    <![LOG[message]LOG]!><time="HH:MM:SS.mmm+BIAS" date="MM-DD-YYYY" component="TSManager" context="" type="1" thread="1234" file="">

- time and date are LOCAL wall-clock time. BIAS is the Windows time-zone bias in minutes,
  as ConfigMgr writes it: UTC = local time + bias. So UTC is `+000`, PST (UTC-8) `+480`,
  PDT `+420`, UTC+1 `-060`, India (UTC+5:30) `-330`; daylight saving is included, the sign
  is always written and the number has at least three digits. (This is the opposite sign
  of an ISO 8601 offset: `14:13:20.250+480` is 22:13:20.250 UTC.)
- component: letters and digits only, like ConfigMgr's (`TSManager`, `DownloadContent`):
  the record's `component` extra if given (anything else stripped), else mapped from the
  logger name (`software_center.content` → DownloadContent, …; see `_COMPONENTS`), else
  TSManager.
- type: 1 information (INFO and below), 2 warning, 3 error (ERROR and above).
- thread: the OS thread id of the thread that logged.
- Lines end in CRLF, as ConfigMgr's logs do: every Windows tool shows them right (older
  Notepad shows an LF-only file as one line), Linux tools read them, and `parse_cmtrace`
  takes either. A new file starts with a UTF-8 BOM so Windows tools read non-ASCII text
  (Spanish names) as UTF-8, not in the ANSI code page.

The message cannot break the entry: line breaks become " | ", other control characters
"?", and the markers `<![LOG[` / `]LOG]!>` inside it are written `&lt;![LOG[` / `]LOG]!&gt;`.
Messages longer than 64 KiB are cut. Every message passes through `redact` first: the
handler's secrets (the engine adds them with `add_secret`) become `********`, URL query
strings and fragments (SAS tokens) are removed and `user:password@` masked, so a secret never
reaches the file even when some code logs it.

Rotation: before an entry would take the file past `max_bytes`, the file is renamed
`smsts-YYYYMMDD-HHMMSS.log` (ConfigMgr style; `-1`, `-2`… added on a clash) and a new one
started; only the newest `backups` renamed files are kept. An entry is never split
between files. Each entry is one unbuffered `write` to a file opened for appending, so a
SIGKILL loses nothing already logged and two processes may share the file; a file
renamed by another process is noticed and reopened.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TypedDict

__all__ = [
    "DEFAULT_MAX_BYTES",
    "CMTraceHandler",
    "LogEntry",
    "component_for",
    "format_entry",
    "install_log",
    "parse_cmtrace",
    "redact",
    "remove_log",
    "windows_bias",
]

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
MASK = "********"
MAX_MESSAGE_CHARS = 64 * 1024
LOGGER_NAME = "software_center"
LOG_FILE = Path("logs") / "smsts.log"

_BOM = "\ufeff".encode()
_NEWLINE = "\r\n"

# Logger name (or a dotted prefix of it) → CMTrace component; the longest prefix wins.
_COMPONENTS = {
    "software_center": "TSManager",
    "software_center.engine": "TSManager",
    "software_center.process": "TSManager",
    "software_center.content": "DownloadContent",
    "software_center.download": "DownloadContent",
    "software_center.cache": "DownloadContent",
    "software_center.http": "DownloadContent",
    "software_center.demo": "DemoSite",
    "software_center.ui": "SCClient",
}
DEFAULT_COMPONENT = "TSManager"

# A URL ends before blanks, quotes, angle brackets, and before punctuation that ends a sentence.
_URL = re.compile(r"(?i)\bhttps?://[^\s\"'<>]*[^\s\"'<>.,;:!?)\]]")
_USERINFO = re.compile(r"(?i)^(https?://)[^/?#@]*@")
_LINE_BREAK = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_COMPONENT_JUNK = re.compile(r"[^A-Za-z0-9]")
_ENTRY = re.compile(
    r'<!\[LOG\[(?P<message>.*?)\]LOG\]!><time="(?P<time>[^"]*)" date="(?P<date>[^"]*)" '
    r'component="(?P<component>[^"]*)" context="(?P<context>[^"]*)" type="(?P<type>[^"]*)" '
    r'thread="(?P<thread>[^"]*)" file="(?P<file>[^"]*)">',
    re.DOTALL,
)


class LogEntry(TypedDict):
    """One parsed CMTrace entry; every field as written in the file."""

    message: str
    time: str
    date: str
    component: str
    context: str
    type: str
    thread: str
    file: str


def _strip_url(match: re.Match[str]) -> str:
    url = match.group(0)
    for sep in ("?", "#"):
        url = url.split(sep, 1)[0]
    return _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", url)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with each non-empty secret replaced by ******** and http(s) URLs made safe.

    Longer secrets are replaced first, so one that contains another is masked whole.
    A URL loses its query string and fragment (where SAS tokens and signatures live), and
    a `user:password@` part becomes `********@`.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _URL.sub(_strip_url, text)


def component_for(logger_name: str) -> str:
    """The CMTrace component for a logger: the longest mapped dotted prefix, else TSManager."""
    name = logger_name
    while name:
        if name in _COMPONENTS:
            return _COMPONENTS[name]
        name = name.rpartition(".")[0]
    return DEFAULT_COMPONENT


def _clean_message(message: str) -> str:
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + " [truncated]"
    message = message.replace("<![LOG[", "&lt;![LOG[").replace("]LOG]!>", "]LOG]!&gt;")
    message = _LINE_BREAK.sub(" | ", message)
    return _CONTROL.sub("?", message)


def _clean_component(component: str) -> str:
    return _COMPONENT_JUNK.sub("", component)[:64] or DEFAULT_COMPONENT


def windows_bias(local: time.struct_time) -> int:
    """The Windows time-zone bias of `local` in minutes: UTC = local time + bias (PST +480)."""
    return -round((local.tm_gmtoff or 0) / 60)


def _time_and_date(created: float) -> tuple[str, str]:
    local = time.localtime(created)
    millis = min(999, int((created % 1) * 1000))
    bias = windows_bias(local)
    sign = "-" if bias < 0 else "+"
    clock = f"{local.tm_hour:02d}:{local.tm_min:02d}:{local.tm_sec:02d}.{millis:03d}{sign}{abs(bias):03d}"
    return clock, f"{local.tm_mon:02d}-{local.tm_mday:02d}-{local.tm_year:04d}"


def format_entry(
    message: str, *, created: float, component: str = DEFAULT_COMPONENT, severity: int = 1, thread: int = 0
) -> str:
    """One CMTrace entry (no line end) for an already-redacted `message` logged at `created`.

    `severity` is the CMTrace type: 1 information, 2 warning, 3 error.
    """
    clock, date = _time_and_date(created)
    return (
        f"<![LOG[{_clean_message(message)}]LOG]!>"
        f'<time="{clock}" date="{date}" component="{_clean_component(component)}" context="" '
        f'type="{severity}" thread="{thread}" file="">'
    )


def parse_cmtrace(text: str) -> list[LogEntry]:
    """Every entry in CMTrace-format `text` (ours or ConfigMgr's, multi-line messages too)."""
    return [
        LogEntry(
            message=m["message"],
            time=m["time"],
            date=m["date"],
            component=m["component"],
            context=m["context"],
            type=m["type"],
            thread=m["thread"],
            file=m["file"],
        )
        for m in _ENTRY.finditer(text.removeprefix("\ufeff"))
    ]


_PLAIN = logging.Formatter("%(message)s")


class CMTraceHandler(logging.Handler):
    """Writes each record as one CMTrace entry to `path`, rotating past `max_bytes`.

    Opening the file happens here: raises OSError when its folder cannot be created or
    the file opened (a read-only data folder). A write that fails later (disk full) is
    reported once through `handleError` and never raises into the code that logged.
    """

    def __init__(
        self,
        path: Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = 1,
        *,
        secrets: Iterable[str] = (),
    ) -> None:
        if max_bytes <= 0 or backups < 0:
            raise ValueError("max_bytes must be positive and backups not negative")
        super().__init__()
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self._secrets: frozenset[str] = frozenset(s for s in secrets if s)
        self._fd: int | None = None
        self._failing = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._open()

    # --- secrets -----------------------------------------------------------------------------

    @property
    def secrets(self) -> frozenset[str]:
        return self._secrets

    def add_secret(self, value: str) -> None:
        """Mask `value` in every later entry (empty values are ignored). Thread-safe."""
        if value:
            self.acquire()
            try:
                self._secrets = self._secrets | {value}
            finally:
                self.release()

    # --- formatting --------------------------------------------------------------------------

    def format(self, record: logging.LogRecord) -> str:
        """The record as one CMTrace entry, redacted, without line end."""
        message = redact((self.formatter or _PLAIN).format(record), self._secrets)
        component = getattr(record, "component", None)
        if not isinstance(component, str) or not component:
            component = component_for(record.name)
        level = 3 if record.levelno >= logging.ERROR else 2 if record.levelno >= logging.WARNING else 1
        thread = threading.get_native_id() if record.thread == threading.get_ident() else record.thread or 0
        return format_entry(message, created=record.created, component=component, severity=level, thread=thread)

    # --- writing -----------------------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = (self.format(record) + _NEWLINE).encode("utf-8", errors="replace")
            self._write(data)
            self._failing = False
        except RecursionError:
            raise
        except Exception:
            if not self._failing:  # say it once, not once per record, while the disk is full
                self._failing = True
                self.handleError(record)

    def close(self) -> None:
        self.acquire()
        try:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
        finally:
            self.release()
        super().close()

    def _open(self) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
        fd = os.open(self.path, flags, 0o644)
        try:
            if os.fstat(fd).st_size == 0:
                os.write(fd, _BOM)
        except OSError:
            os.close(fd)
            raise
        self._fd = fd
        return fd

    def _current(self) -> int:
        """The open file, reopened when the path now names another file (rotated, deleted)."""
        fd = self._fd
        if fd is None:
            return self._open()
        try:
            on_disk = os.stat(self.path)
            mine = os.fstat(fd)
            same = (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)
        except OSError:
            same = False
        if same:
            return fd
        os.close(fd)
        self._fd = None
        return self._open()

    def _write(self, data: bytes) -> None:
        fd = self._current()
        size = os.fstat(fd).st_size
        if size > len(_BOM) and size + len(data) > self.max_bytes:
            fd = self._rotate(fd)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    def _rotate(self, fd: int) -> int:
        os.close(fd)  # Windows cannot rename an open file
        self._fd = None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        # Within one second, number past every file of that second still there (the
        # lowest may have been pruned), so names keep sorting oldest first.
        taken = [n for s, n, _ in self._rotated() if s == stamp]
        n = max(taken) + 1 if taken else 0
        target = self.path.with_name(f"{self.path.stem}-{stamp}{f'-{n}' if n else ''}{self.path.suffix}")
        try:
            os.rename(self.path, target)
        except OSError:
            return self._open()  # held open elsewhere: keep appending, try again next time
        rotated = self._rotated()
        for _, _, old in rotated[: max(0, len(rotated) - self.backups)]:
            try:
                old.unlink()
            except OSError:
                pass
        return self._open()

    def _rotated(self) -> list[tuple[str, int, Path]]:
        """Renamed files of this log, oldest first: (stamp, number within the second, path)."""
        pattern = re.compile(
            rf"{re.escape(self.path.stem)}-(\d{{8}}-\d{{6}})(?:-(\d+))?{re.escape(self.path.suffix)}"
        )
        found: list[tuple[str, int, Path]] = []
        for entry in self.path.parent.iterdir():
            m = pattern.fullmatch(entry.name)
            if m is not None:
                found.append((m.group(1), int(m.group(2) or 0), entry))
        return sorted(found)


_install_lock = threading.Lock()


def install_log(data_dir: Path, log_file: Path | None = None) -> CMTraceHandler:
    """The handler writing `<data_dir>/logs/smsts.log` for the `software_center` logger.

    Idempotent per path: a second call returns the handler already attached. Makes sure
    INFO records reach it (lowers the logger's level to INFO if it was higher). Raises
    OSError when the log cannot be created (read-only data folder). `log_file`: write
    there instead (a system-wide agent logs under /var/log).
    """
    path = Path(os.path.abspath(log_file if log_file is not None else Path(data_dir) / LOG_FILE))
    logger = logging.getLogger(LOGGER_NAME)
    with _install_lock:
        for existing in logger.handlers:
            if isinstance(existing, CMTraceHandler) and Path(os.path.abspath(existing.path)) == path:
                return existing
        handler = CMTraceHandler(path)
        handler.setLevel(logging.INFO)
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        return handler


def remove_log(handler: CMTraceHandler) -> None:
    """Detach `handler` from the `software_center` logger and close its file."""
    logging.getLogger(LOGGER_NAME).removeHandler(handler)
    handler.close()
