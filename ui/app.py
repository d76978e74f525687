"""Starting the window: the QApplication, the qasync loop, `create_main_window`.

Measured facts of PySide6 with qasync: run the loop with qasync (never bare `app.exec()`), import PySide6
before qasync, close the loop explicitly, freeze the start-up object graph so the first
full garbage collection does not stall a repaint.

The embedded demo site is served at a limited rate so a download can be watched
(about 15 s for the upgrade's 288 MiB); `SOFTWARE_CENTER_DEMO_RATE` overrides it in
megabytes (10^6 bytes) per second, `0` meaning unlimited (tests use that).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from pathlib import Path

import qasync  # noqa: E402  (order matters, see above)
from PySide6.QtWidgets import QApplication  # before qasync, so qasync binds PySide6

from core import ConnectionSetting

from .main_window import MainWindow

__all__ = ["DEFAULT_DEMO_RATE_MBPS", "create_main_window", "demo_rate_bps", "run_window"]

log = logging.getLogger("software_center.ui")

DEFAULT_DEMO_RATE_MBPS = 20.0
DEMO_RATE_ENV = "SOFTWARE_CENTER_DEMO_RATE"


def demo_rate_bps() -> float | None:
    """The embedded demo site's serving rate in bytes per second; None: unlimited."""
    raw = os.environ.get(DEMO_RATE_ENV, "").strip()
    mbps = DEFAULT_DEMO_RATE_MBPS
    if raw:
        try:
            mbps = float(raw)
            if not mbps >= 0:
                raise ValueError(raw)
        except ValueError:
            log.warning("%s=%r is not a number of megabytes per second; using %s", DEMO_RATE_ENV, raw,
                        DEFAULT_DEMO_RATE_MBPS)
            mbps = DEFAULT_DEMO_RATE_MBPS
    return None if mbps == 0 else mbps * 1_000_000


def create_main_window(site_url: str | None, data_dir: Path, connection: ConnectionSetting | None) -> MainWindow:
    """Build the main window inside a running qasync loop, without starting or blocking one.

    `site_url` None means the embedded demo site (unless Options name a site). The
    catalog loads in the background; `window.loaded` resolves when it is listed (or its
    error shown), and `window.listed` is emitted each time it is listed. Close with
    `await window.shutdown()` after the window closes.

    Closing the window no longer quits the application by itself: the loop must keep
    running after the window closes, so `shutdown()` can stop a run cleanly and release
    the engine (otherwise Qt would stop the loop under it). The caller ends the loop.
    """
    QApplication.setApplicationName("Software Center")
    QApplication.setOrganizationName("SoftwareCenter")
    app = QApplication.instance()
    if isinstance(app, QApplication):
        app.setQuitOnLastWindowClosed(False)
    return MainWindow(site_url, Path(data_dir), connection, demo_rate_bps=demo_rate_bps())


def run_window(site_url: str | None, data_dir: Path, connection: ConnectionSetting | None) -> int:
    """Open the window and run until it is closed. Returns the process exit code."""
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)

    async def main() -> None:
        window = create_main_window(site_url, data_dir, connection)
        window.show()
        gc.collect()
        gc.freeze()
        await closed.wait()
        await window.shutdown()

    try:
        with loop:
            loop.run_until_complete(main())
    finally:
        asyncio.set_event_loop(None)
    return 0
