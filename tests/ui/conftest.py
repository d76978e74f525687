"""Fixtures for window tests: the real demo site (built once, shared), a data folder per test,
windows that are shut down cleanly, and awaiting a Qt signal from a qasync-loop test.

Inside a qasync-loop test never use qtbot.wait*/waitSignal: they nest an event loop, and
qasync then hangs forever; `await wait_for_signal(sig)` or `await until(cond)` instead.

    async def test_x(make_window):
        window = await make_window(connection="internet")
"""

from __future__ import annotations

import asyncio
import fcntl
import gc
import json
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from core.demo import build_demo_site
from core.options import ConnectionSetting

SHARED_DEMO_SITE = Path(tempfile.gettempdir()) / "software-center-tests" / "demo-site"


@pytest.fixture(scope="session")
def demo_site() -> Path:
    """The full demo site, built once per machine (its stamp says when it must be rebuilt).

    A lock file keeps two test runs at once from building it together.
    """
    SHARED_DEMO_SITE.parent.mkdir(parents=True, exist_ok=True)
    with open(SHARED_DEMO_SITE.parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        build_demo_site(SHARED_DEMO_SITE)
    return SHARED_DEMO_SITE


@pytest.fixture(autouse=True)
def _garbage_collected_between_tests_only() -> Iterator[None]:
    """No cyclic garbage collection while a window test runs; a full one between tests.

    A collection that runs in the middle of a Qt call can finalize a Python wrapper whose
    C++ object Qt is still using (a segfault seen once in a few full runs, in the cancel
    test, never in isolation). Collecting at a quiet point between tests removes that
    timing, as the app itself does with gc.freeze() after start-up.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


@pytest.fixture(autouse=True)
def _fast_demo_site(monkeypatch: pytest.MonkeyPatch) -> None:
    """No rate limit on the embedded demo site in tests."""
    monkeypatch.setenv("SOFTWARE_CENTER_DEMO_RATE", "0")


@pytest.fixture(autouse=True)
def _closing_a_window_does_not_quit() -> None:
    """Closing the last window would quit the app and stop the test's qasync loop under it."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication([])
    app.setQuitOnLastWindowClosed(False)


@pytest.fixture
def data_dir(tmp_path: Path, demo_site: Path) -> Path:
    """A fresh data folder whose demo-site is the shared, already built one; English pinned."""
    d = tmp_path / "data"
    d.mkdir()
    (d / "demo-site").symlink_to(demo_site, target_is_directory=True)
    (d / "options.json").write_text(json.dumps({"language": "en"}))
    return d


async def wait_for_signal(signal: Any, timeout: float = 10.0) -> tuple[Any, ...]:
    """The arguments of the next emission of `signal` (a bound Qt signal)."""
    fut: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def fire(*args: Any) -> None:
        if not fut.done():
            fut.set_result(args)

    signal.connect(fire)
    try:
        return await asyncio.wait_for(fut, timeout)
    finally:
        signal.disconnect(fire)


async def until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Let the loop run until `condition()` is truthy; returns its value."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.01)


MakeWindow = Callable[..., Awaitable[Any]]


@pytest_asyncio.fixture
async def make_window(data_dir: Path) -> AsyncIterator[MakeWindow]:
    """`await make_window(connection="internet", site=None, data=data_dir, wait=True)`: a shown window."""
    from ui import create_main_window
    from ui.i18n import apply_language

    windows: list[Any] = []

    async def make(connection: ConnectionSetting | None = "internet", site: str | None = None,
                   data: Path | None = None, wait: bool = True) -> Any:
        window = create_main_window(site, data or data_dir, connection)
        windows.append(window)
        window.show()
        if wait:
            await asyncio.wait_for(window.loaded, 20)
        return window

    yield make
    for window in windows:
        window._close_confirmed = True  # a test that left a run going: just stop it
        window.close()
        await window.shutdown()
        window.deleteLater()
    apply_language("en")
    await asyncio.sleep(0)
