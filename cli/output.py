"""What the run commands print and ask, in this process or through the agent: JSON lines,
the terminal view, `--variable` pairs, the high-impact question. Light on imports (the
terminal view loads rich only when it is used), so a client of the agent starts fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from core import Event, EventSink, to_json

__all__ = ["confirm_high_impact", "event_sink", "high_impact_confirmed", "json_line", "on_interrupt",
           "parse_variables"]


def json_line(obj: Mapping[str, Any]) -> None:
    """One JSON line on standard output. A reader that went away changes nothing: the run
    goes on (the log still records it)."""
    try:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _json_sink(event: Event) -> None:
    json_line(to_json(event))


def event_sink(json_out: bool) -> EventSink:
    if json_out:
        return _json_sink
    from .terminal import TerminalView  # rich: only for the human view

    return TerminalView()


def parse_variables(pairs: list[str] | None) -> dict[str, str] | str:
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            return f"--variable expects NAME=VALUE, got {pair!r}"
        out[name.strip()] = value
    return out


def confirm_high_impact(name: str) -> bool | None:
    """Ask on the terminal. None when there is no terminal to ask on."""
    if not sys.stdin or not sys.stdin.isatty():
        return None
    print(
        f"'{name}' is a high-impact deployment: it upgrades the operating system and restarts "
        "this computer. Save your work first.",
        file=sys.stderr,
    )
    # input() blocks the loop, and asyncio's own Ctrl-C handling only schedules a cancel:
    # give Ctrl-C its plain meaning while asking, so it stops the prompt at once.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        answer = input("Type 'yes' to start it now: ")
    except EOFError:
        return None
    finally:
        signal.signal(signal.SIGINT, previous)
    return answer.strip().lower() in ("yes", "y", "sí", "si")


def high_impact_confirmed(deployment_id: str, name: str) -> int | None:
    """Ask before a high-impact deployment starts: None to go on, else the exit code to stop
    with (the reason said in one line)."""
    from .exits import EXIT_CANCELLED
    from .exits import fail as _fail

    try:
        ok = confirm_high_impact(name)
    except KeyboardInterrupt:
        print("\nCancelled; nothing was started.", file=sys.stderr)
        return EXIT_CANCELLED
    if ok is None:
        return _fail(f"{deployment_id} is a high-impact deployment and there is no terminal to confirm it on; "
                     "pass --yes to start it anyway")
    if not ok:
        return _fail("not started: the high-impact deployment was not confirmed")
    return None


@contextlib.contextmanager
def on_interrupt(callback: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C (SIGINT) and SIGTERM call `callback` on the running loop while inside (on
    Windows, where the loop cannot take them, KeyboardInterrupt does the job)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, callback)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError):
                pass
