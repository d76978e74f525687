"""Starting the window: the QApplication, the qasync loop, `create_main_window`.

PLATFORM-NOTES.md: run the loop with qasync (never bare `app.exec()`), import PySide6
before qasync, close the loop explicitly, freeze the start-up object graph so the first
full garbage collection does not stall a repaint.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication  # before qasync, so qasync binds PySide6

import qasync  # noqa: E402  (order matters, see above)

from core.options import ConnectionSetting

from .main_window import MainWindow

__all__ = ["create_main_window", "run_window"]


def create_main_window(site_url: str | None, data_dir: Path, connection: ConnectionSetting | None) -> MainWindow:
    """Build the main window inside a running qasync loop, without starting or blocking one.

    `site_url` None means the embedded demo site. The catalog loads in the background;
    `window.loaded` resolves when it is listed (or its error shown).
    """
    return MainWindow(site_url, Path(data_dir), connection)


def run_window(site_url: str | None, data_dir: Path, connection: ConnectionSetting | None) -> int:
    """Open the window and run until it is closed. Returns the process exit code."""
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Software Center")
    app.setOrganizationName("SoftwareCenter")
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
