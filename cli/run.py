"""`software-center run` and `resume`: a task sequence headless, with JSON or terminal output.

Ctrl-C (SIGINT) or SIGTERM cancels the run cleanly (the state is saved; exit 130) and
`resume` continues it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from core import (
    CatalogError,
    CMTraceHandler,
    ConnectionSetting,
    LaunchMode,
    RunError,
    RunResult,
    SoftwareCenter,
    SoftwareCenterError,
    TaskSequenceRunner,
    install_log,
    load_state,
    remove_log,
    state_dir,
)

from .exits import EXIT_CANCELLED
from .exits import fail as _fail
from .output import event_sink, high_impact_confirmed, on_interrupt, parse_variables

__all__ = ["resume_command", "run_command"]

_CONNECTION_SETTINGS: dict[str, ConnectionSetting] = {"auto": "auto", "internet": "internet", "intranet": "intranet"}



def _install_log(data_dir: Path) -> CMTraceHandler:
    """smsts.log; a write that fails later (disk full) is said once, in one line, not as a traceback."""
    handler = install_log(data_dir)

    def handle_error(record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"software-center: cannot write the log {handler.path}: {reason}", file=sys.stderr)

    handler.handleError = handle_error  # type: ignore[method-assign]
    return handler


async def _drive(runner_call: asyncio.Future[RunResult] | asyncio.Task[RunResult]) -> int:
    task = runner_call

    def cancel_once() -> None:
        # A second Ctrl-C must not interrupt the first one's clean-up: that is what stops
        # the step's program (TERM, a grace, then KILL) and saves the state.
        if not task.done() and not getattr(task, "cancelling", lambda: 0)():
            task.cancel()

    with on_interrupt(cancel_once):
        try:
            result = await task
        except asyncio.CancelledError:
            return EXIT_CANCELLED
    return result.exit_code


async def _run_engine(call: Coroutine[Any, Any, RunResult], data_dir: Path) -> int:
    """Drive a run or a resume to its exit code; what stops it from starting is one line."""
    try:
        return await _drive(asyncio.ensure_future(call))
    except RunError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write the run state in {data_dir}: {exc.strerror or exc}")


async def run_command(args: argparse.Namespace, data_dir: Path, site: str | None) -> int:
    variables = parse_variables(args.variable)
    if isinstance(variables, str):
        return _fail(variables)
    sink = event_sink(args.json)
    center = SoftwareCenter(data_dir, site=site, connection=args.connection)
    handler = None
    try:
        try:
            await center.open()
            handler = _install_log(data_dir)
        except CatalogError as exc:
            return _fail(f"the site's catalog is invalid: {exc}")
        except SoftwareCenterError as exc:
            return _fail(str(exc))
        except OSError as exc:
            return _fail(f"cannot use the data folder {data_dir}: {exc.strerror or exc}")
        mode = LaunchMode(args.launch_mode)
        verdict = center.verdict(args.deployment, mode)
        dep = center.catalog.deployment(args.deployment) if center.catalog else None
        if verdict.eligible and dep is not None and dep.high_impact and not args.yes:
            stop = high_impact_confirmed(dep.id, dep.name)
            if stop is not None:
                return stop
        runner = TaskSequenceRunner(center, sink)
        return await _run_engine(runner.run(args.deployment, mode, variables), data_dir)
    finally:
        if handler is not None:
            remove_log(handler)
        await center.aclose()


async def resume_command(args: argparse.Namespace, data_dir: Path) -> int:
    try:
        state = load_state(data_dir)
        if state is None:
            return _fail(f"there is no task sequence run to resume in {data_dir}")
        catalog_bytes = (state_dir(data_dir) / "catalog.json").read_bytes()
    except RunError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"the saved run in {data_dir} cannot be read: {exc.strerror or exc}")
    connection = _CONNECTION_SETTINGS.get(state.connection_setting)
    if connection is None:
        return _fail(f"the saved run in {data_dir} has an unknown connection_setting {state.connection_setting!r}")
    sink = event_sink(args.json)
    center = SoftwareCenter(data_dir, site=state.site, connection=connection)
    handler = None
    try:
        try:
            await center.open(catalog_bytes)
            handler = _install_log(data_dir)
        except SoftwareCenterError as exc:
            return _fail(str(exc))
        except OSError as exc:
            return _fail(f"cannot use the data folder {data_dir}: {exc.strerror or exc}")
        runner = TaskSequenceRunner(center, sink)
        return await _run_engine(runner.resume(), data_dir)
    finally:
        if handler is not None:
            remove_log(handler)
        await center.aclose()
