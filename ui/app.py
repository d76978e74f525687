"""Starting the window: the QApplication, the qasync loop, `create_main_window`.

Measured facts of PySide6 with qasync: run the loop with qasync (never bare `app.exec()`), import PySide6
before qasync, close the loop explicitly, freeze the start-up object graph so the first
full garbage collection does not stall a repaint.

The window is a client of the agent; the agent serves the embedded demo site, at the rate
`core.demo_rate_bps` says (`SOFTWARE_CENTER_DEMO_RATE`, which an agent the window starts
inherits).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from pathlib import Path

import qasync  # noqa: E402  (order matters, see above)
from PySide6.QtWidgets import QApplication  # before qasync, so qasync binds PySide6

from core import ConnectionSetting

from .main_window import MainWindow

__all__ = ["create_main_window", "run_window"]

log = logging.getLogger("software_center.ui")


def create_main_window(site_url: str | None, data_dir: Path, connection: ConnectionSetting | None,
                       agent: Path | str | None = None) -> MainWindow:
    """Build the main window inside a running qasync loop, without starting or blocking one.

    With `agent` (a socket path) the window is a client of that agent; otherwise of the
    user's agent for `data_dir`, started on demand. `site_url` and `connection`, when
    given, are this window's own (they go to the agent with each request and change none
    of its settings); `site_url` None means the agent's site (the embedded demo site
    unless one is set). The catalog loads in the background; `window.loaded` resolves
    when it is listed (or its error shown), and `window.listed` is emitted each time it
    is listed. Close with `await window.shutdown()` after the window closes: the run, if
    any, goes on in the agent.

    Closing the window does not quit the application by itself: the loop must keep
    running after the window closes, so `shutdown()` can finish cleanly (otherwise Qt
    would stop the loop under it). The caller ends the loop.
    """
    QApplication.setApplicationName("Software Center")
    QApplication.setOrganizationName("SoftwareCenter")
    app = QApplication.instance()
    if isinstance(app, QApplication):
        app.setQuitOnLastWindowClosed(False)
    return MainWindow(site_url, Path(data_dir), connection, agent=agent)


def run_window(site_url: str | None, data_dir: Path, connection: ConnectionSetting | None,
               agent: Path | str | None = None) -> int:
    """Open the window and run until it is closed. Returns the process exit code."""
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)

    async def main() -> None:
        window = create_main_window(site_url, data_dir, connection, agent)
        window.quit_requested.connect(closed.set)
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
