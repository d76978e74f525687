"""Fixtures for window tests: the real demo site (built once, shared), a data folder per test,
windows that are shut down cleanly, and awaiting a Qt signal from a qasync-loop test.

Windows are clients of the agent: the first window of a data folder starts the user's
agent for it (a real `software-center agent` process, as `scripts/bootstrap app` does),
later windows of the test reuse it, and `stop_agents` ends every agent a test's data
folders had when the test ends. The window's preferences file is the test's own.

Inside a qasync-loop test never use qtbot.wait*/waitSignal: they nest an event loop, and
qasync then hangs forever; `await wait_for_signal(sig)` or `await until(cond)` instead.

    async def test_x(make_window):
        window = await make_window(connection="internet")
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import json
import os
import signal
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from core.demo import build_demo_site
from core.options import ConnectionSetting

SHARED_DEMO_SITE = Path(tempfile.gettempdir()) / "software-center-tests" / "demo-site"
FAR_FUTURE = datetime(2099, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def demo_site() -> Path:
    """The full demo site, built once per machine (its stamp says when it must be rebuilt).

    A lock file keeps two test runs at once from building it together.
    """
    SHARED_DEMO_SITE.parent.mkdir(parents=True, exist_ok=True)
    with open(SHARED_DEMO_SITE.parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Its required upgrade's deadline counts from a fixed, far moment: the site is kept
        # across runs, and no window test may meet a deadline countdown by the calendar.
        build_demo_site(SHARED_DEMO_SITE, deadlines_from=FAR_FUTURE)
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
def data_dir(tmp_path: Path, demo_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data folder whose demo-site is the shared, already built one; English pinned
    (in the test's own window preferences)."""
    d = tmp_path / "data"
    d.mkdir()
    (d / "demo-site").symlink_to(demo_site, target_is_directory=True)
    (d / "options.json").write_text(json.dumps({"language": "en"}))
    prefs = tmp_path / "window.json"
    prefs.write_text(json.dumps({"language": "en"}))
    monkeypatch.setenv("SOFTWARE_CENTER_WINDOW_PREFS", str(prefs))
    return d


async def stop_agent(data: Path, timeout: float = 20.0) -> None:
    """Stop the user's agent of the data folder `data`, if one answers (SIGTERM, then wait)."""
    from core import AgentClient, AgentError, default_socket_path

    sock = default_socket_path(data)
    if not sock.exists():
        return
    try:
        async with AgentClient(sock, timeout_s=5.0) as agent:
            pid = int((await agent.status())["pid"])
    except AgentError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)  # our child when a window started it
            if done:
                return
        except ChildProcessError:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        await asyncio.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


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

    folders: set[Path] = set()

    async def make(connection: ConnectionSetting | None = "internet", site: str | None = None,
                   data: Path | None = None, wait: bool = True, agent: Path | None = None) -> Any:
        window = create_main_window(site, data or data_dir, connection, agent)
        folders.add(data or data_dir)
        windows.append(window)
        window.show()
        if wait:
            await asyncio.wait_for(window.loaded, 20)
        return window

    yield make
    for window in windows:
        if window.isVisible():
            window.close()
        await window.shutdown()
        window.deleteLater()
    for folder in folders:
        await stop_agent(folder)
    apply_language("en")
    await asyncio.sleep(0)


def prefs_file() -> Path:
    """The window preferences file of the running test (see `data_dir`)."""
    from ui.prefs import prefs_path

    return prefs_path()
