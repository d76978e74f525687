"""Test-wide set-up: headless Qt, and event loops that fail a test when an exception escapes.

Every async test runs on a loop made here (pytest-asyncio's loop-factory hook): plain
asyncio for `tests/core`, a qasync Qt loop for `tests/ui`. Each loop records what reaches
its exception handler (an exception nobody awaited, a callback that raised), and the
autouse fixture below fails the test that let it happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_escaped: list[dict[str, Any]] = []


def _record(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    _escaped.append(context)
    loop.default_exception_handler(context)


def _plain_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_record)
    return loop


def _qt_loop() -> asyncio.AbstractEventLoop:
    import qasync
    from PySide6.QtWidgets import QApplication  # before qasync: it must bind PySide6

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app, already_running=False)
    loop.set_exception_handler(_record)
    return loop


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], Any]]:
    if "tests/ui" in item.nodeid.replace(os.sep, "/"):
        return {"qasync": _qt_loop}
    return {"asyncio": _plain_loop}


@pytest.fixture(autouse=True)
def fail_on_escaped_exceptions() -> Iterator[None]:
    _escaped.clear()
    yield
    if _escaped:
        found = "; ".join(str(c.get("exception") or c.get("message")) for c in _escaped)
        _escaped.clear()
        pytest.fail(f"exception escaped into the event loop: {found}")


def _agents_under(folder: str) -> list[int]:
    """Pids of the agents a client started on demand for a data folder under `folder`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        if "agent" in argv and "--exit-when-idle" in argv and "--data-dir" in argv:
            data = argv[argv.index("--data-dir") + 1] if argv.index("--data-dir") + 1 < len(argv) else ""
            if data == folder or data.startswith(folder + os.sep):
                found.append(int(entry))
    return found


@pytest.fixture(autouse=True)
def stop_agents_started_on_demand(request: pytest.FixtureRequest) -> Iterator[None]:
    """A command started without --agent starts the user's agent for its data folder, which
    would stay for a minute after the test: stop those of the test's own folders."""
    yield
    tmp = getattr(request.node, "funcargs", {}).get("tmp_path")
    if tmp is None:
        return
    import signal
    import time

    folder = str(tmp)
    pids = _agents_under(folder)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if os.path.exists(f"/proc/{p}") and _running(p)]
        time.sleep(0.02)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
