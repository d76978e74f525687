"""Test-wide set-up: headless Qt, and event loops that fail a test when an exception escapes.

Every async test runs on a loop made here (pytest-asyncio's loop-factory hook): plain
asyncio for `tests/core`, a qasync Qt loop for `tests/ui`. Each loop records what reaches
its exception handler (an exception nobody awaited, a callback that raised), and the
autouse fixture below fails the test that let it happen.
"""

from __future__ import annotations

import asyncio
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
