"""`software-center run` and `resume`: a task sequence headless, with JSON or terminal output.

Ctrl-C (SIGINT) or SIGTERM cancels the run cleanly (the state is saved; exit 130) and
`resume` continues it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from core import (
    AgentClient,
    AgentCode,
    AgentError,
    CatalogError,
    CMTraceHandler,
    ConnectionSetting,
    ErrorCode,
    Event,
    EventSink,
    LaunchMode,
    Refusal,
    RunError,
    RunRefused,
    RunResult,
    SoftwareCenter,
    SoftwareCenterError,
    TaskSequenceRunner,
    default_socket_path,
    event_from_json,
    install_log,
    load_state,
    remove_log,
    state_dir,
    to_json,
)

from .exits import EXIT_CANCELLED, EXIT_OK, EXIT_REFUSED
from .exits import fail as _fail

__all__ = ["agent_resume_command", "agent_run_command", "resume_command", "run_command", "watch_command"]

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


def _json_sink(event: Event) -> None:
    try:
        sys.stdout.write(json.dumps(to_json(event), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # Whoever read the events is gone; the run goes on (the log still records it).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _sink(json_out: bool) -> EventSink:
    if json_out:
        return _json_sink
    from .terminal import TerminalView  # rich: only for the human view

    return TerminalView()


def _variables(pairs: list[str] | None) -> dict[str, str] | str:
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            return f"--variable expects NAME=VALUE, got {pair!r}"
        out[name.strip()] = value
    return out


def _confirm_high_impact(name: str) -> bool | None:
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


async def _drive(runner_call: asyncio.Future[RunResult] | asyncio.Task[RunResult]) -> int:
    loop = asyncio.get_running_loop()
    task = runner_call

    def cancel_once() -> None:
        # A second Ctrl-C must not interrupt the first one's clean-up: that is what stops
        # the step's program (TERM, a grace, then KILL) and saves the state.
        if not task.done() and not getattr(task, "cancelling", lambda: 0)():
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, cancel_once)
        except (NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt does it
            pass
    try:
        result = await task
    except asyncio.CancelledError:
        return EXIT_CANCELLED
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError):
                pass
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
    variables = _variables(args.variable)
    if isinstance(variables, str):
        return _fail(variables)
    sink = _sink(args.json)
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
            try:
                ok = _confirm_high_impact(dep.name)
            except KeyboardInterrupt:
                print("\nCancelled; nothing was started.", file=sys.stderr)
                return EXIT_CANCELLED
            if ok is None:
                return _fail(
                    f"{dep.id} is a high-impact deployment and there is no terminal to confirm it on; "
                    "pass --yes to start it anyway"
                )
            if not ok:
                return _fail("not started: the high-impact deployment was not confirmed")
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
    sink = _sink(args.json)
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


# --- through the agent ----------------------------------------------------------------------

RECONNECT_S = 30.0  # how long `run --agent` and `watch` wait for a lost agent to come back
_EXITS = {"succeeded": 0, "failed": 4, "restart_pending": 5, "cancelled": EXIT_CANCELLED}
_REFUSALS = frozenset(r.value for r in Refusal)


def agent_socket(args: argparse.Namespace, data_dir: Path) -> str | Path:
    """The agent to ask: `--agent`, else SOFTWARE_CENTER_AGENT, else the user's agent socket."""
    return getattr(args, "agent", None) or os.environ.get("SOFTWARE_CENTER_AGENT") or default_socket_path(data_dir)


def _agent_sink(json_out: bool) -> Callable[[dict[str, Any]], None]:
    """Events from the agent, shown exactly as an in-process run shows them (`seq` is the
    agent's numbering, for reconnecting, and is not part of the command's output)."""
    if json_out:
        def emit(obj: dict[str, Any]) -> None:
            _json_line({k: v for k, v in obj.items() if k != "seq"})

        return emit
    view = _sink(False)

    def show(obj: dict[str, Any]) -> None:
        event = event_from_json(obj)
        if event is not None:
            view(event)

    return show


def _json_line(obj: dict[str, Any]) -> None:
    try:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


async def _follow(agent: AgentClient, run_id: str, json_out: bool, after: int = 0) -> int:
    """Show the run's events from its start until it finishes; its exit code. Ctrl-C (or
    SIGTERM) asks the agent to cancel the run, and the events say when it has."""
    show = _agent_sink(json_out)
    loop = asyncio.get_running_loop()
    refused: list[AgentError] = []
    follow = asyncio.current_task()
    asked: list[asyncio.Task[None]] = []

    async def cancel() -> None:
        try:
            await agent.cancel()
        except AgentError as exc:
            if exc.code == "no_run":
                return  # it ended meanwhile: its last events say how
            refused.append(exc)
            if follow is not None:
                follow.cancel()

    def ask_cancel() -> None:
        if not asked:
            print("Cancelling the run (the agent stops it and saves it)...", file=sys.stderr)
            asked.append(asyncio.ensure_future(cancel()))

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, ask_cancel)
        except (NotImplementedError, RuntimeError):
            pass
    status: str | None = None
    last_seq = after
    lost_at: float | None = None
    try:
        while True:
            try:
                async for obj in agent.events(run_id, after=last_seq):
                    lost_at = None
                    seq = obj.get("seq")
                    last_seq = seq if isinstance(seq, int) else last_seq
                    show(obj)
                    if obj.get("event") == "ts_finished":
                        status = str(obj.get("status"))
                break
            except AgentError as exc:
                # The agent went away mid-run (it died, or its service restarted): the run
                # goes on with the next agent, and the events continue after the last seen.
                if exc.code != AgentCode.AGENT_UNREACHABLE or last_seq == after:
                    return _fail(exc.message)
                if lost_at is None:
                    lost_at = loop.time()
                    print("software-center: lost the agent; waiting for it to come back...", file=sys.stderr)
                elif loop.time() - lost_at > RECONNECT_S:
                    return _fail(exc.message)
                await asyncio.sleep(0.2)
    except asyncio.CancelledError:
        if not refused:
            raise
        return _fail(refused[0].message)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError):
                pass
        for task in asked:
            if not task.done():
                await asyncio.wait([task], timeout=5)
    if status is None:
        return _fail(f"the agent stopped sending the events of the run {run_id} before it finished; "
                     "`software-center watch` follows it again")
    return _EXITS.get(status, 1)


async def agent_run_command(args: argparse.Namespace) -> int:
    """`run ID --agent PATH`: the agent runs it; this command starts it and shows it."""
    variables = _variables(args.variable)
    if isinstance(variables, str):
        return _fail(variables)
    async with AgentClient(args.agent) as agent:
        try:
            if not args.yes:
                listed = {d.get("id"): d for d in await agent.deployments()}
                dep = listed.get(args.deployment)
                if dep is not None and dep.get("eligible") and dep.get("high_impact"):
                    try:
                        ok = _confirm_high_impact(str(dep.get("name")))
                    except KeyboardInterrupt:
                        print("\nCancelled; nothing was started.", file=sys.stderr)
                        return EXIT_CANCELLED
                    if ok is None:
                        return _fail(
                            f"{args.deployment} is a high-impact deployment and there is no terminal to confirm "
                            "it on; pass --yes to start it anyway"
                        )
                    if not ok:
                        return _fail("not started: the high-impact deployment was not confirmed")
            run_id = await agent.start_run(args.deployment, variables, args.launch_mode)
        except AgentError as exc:
            if exc.code in _REFUSALS:
                _sink(args.json)(RunRefused(args.deployment, exc.code, exc.message))
                return EXIT_REFUSED
            return _fail(exc.message)
        if args.detach:
            if args.json:
                _json_line({"event": "detached", "run_id": run_id})
            else:
                print(run_id)
            return EXIT_OK
        return await _follow(agent, run_id, args.json)


async def agent_resume_command(args: argparse.Namespace) -> int:
    """`resume --agent PATH`: the agent continues its saved run now; this command shows it."""
    async with AgentClient(args.agent) as agent:
        try:
            run_id, after = await agent.resume()
        except AgentError as exc:
            return _fail(exc.message)
        return await _follow(agent, run_id, args.json, after)


async def settings_command(args: argparse.Namespace, data_dir: Path) -> int:
    """`settings [KEY [VALUE]]`: the agent's settings (the token only as set / not set), or
    change one (root only; `token -` reads the token from standard input)."""
    path = agent_socket(args, data_dir)
    key, value = args.key, args.value
    if value == "-" and key == "token":
        value = sys.stdin.readline().strip()
        if not value:
            return _fail("token -: standard input gave no token")
    async with AgentClient(path) as agent:
        try:
            settings = await agent.settings() if value is None else await agent.change_settings({key: value})
        except AgentError as exc:
            return _fail(exc.message)
    if key is not None and key not in settings:
        return _fail(f"{key}: not a setting (the settings are {', '.join(settings)})")
    shown = {key: settings[key]} if key is not None else settings
    if args.json:
        _json_line({"event": "settings", **shown})
        return EXIT_OK
    for name, setting in shown.items():
        if isinstance(setting, list):
            setting = " ".join(setting)
        print(f"{name}: {'(not set)' if setting is None else setting}")
    return EXIT_OK


async def discard_command(args: argparse.Namespace, data_dir: Path) -> int:
    """`discard --agent PATH`: the agent forgets its cancelled or failed run (exit 0)."""
    path = agent_socket(args, data_dir)
    async with AgentClient(path) as agent:
        try:
            answer = await agent.discard()
        except AgentError as exc:
            if exc.code == ErrorCode.NO_RUN.value:
                return _fail("the agent has no cancelled or failed run to discard")
            return _fail(exc.message)
    if args.json:
        _json_line({"event": "discarded", "run_id": answer.get("run_id")})
    else:
        print(f"Discarded the run {answer.get('run_id')}; another can start now.")
    return EXIT_OK


async def watch_command(args: argparse.Namespace, data_dir: Path) -> int:
    """`watch`: the agent's current (or last) run, from its first event, followed to its end."""
    path = agent_socket(args, data_dir)
    async with AgentClient(path) as agent:
        try:
            summary = await agent.current()
        except AgentError as exc:
            return _fail(exc.message)
        if summary is None:
            return _fail("the agent has no run to watch")
        return await _follow(agent, summary["run_id"], args.json)
