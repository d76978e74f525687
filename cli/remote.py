"""The commands as clients of the agent (docs/AGENT.md): `list`, `run`, `resume`, `watch`,
`discard` and `settings` find the agent (`--agent`, else SOFTWARE_CENTER_AGENT, else the
machine's agent, else the user's agent for the data folder, started on demand), ask it,
and show what it says exactly as the engine in this process would have shown it.

The command's own `--site`, `--connection`, `--site-key`, `--ca-bundle` (and, for the
user's own agent, SOFTWARE_CENTER_SITE, _SITE_KEY, _CA_BUNDLE and _TOKEN) travel with each
request as its profile: they apply to this command only, as they always did.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core import (
    ROW_EXTRAS,
    AgentClient,
    AgentCode,
    AgentError,
    AgentPlace,
    AgentStartError,
    ErrorCode,
    RunRefused,
    client_profile,
    ensure_agent,
    event_from_json,
    locate_agent,
)

from .exits import EXIT_CANCELLED, EXIT_OK, EXIT_REFUSED
from .exits import fail as _fail
from .output import event_sink, high_impact_confirmed, json_line, on_interrupt, parse_variables

__all__ = ["client_command"]

RECONNECT_S = 30.0  # how long `run` and `watch` wait for a lost agent to come back
_EXITS = {"succeeded": 0, "failed": 4, "restart_pending": 5, "cancelled": EXIT_CANCELLED}


def _profile(args: argparse.Namespace, place: AgentPlace) -> dict[str, str]:
    env = os.environ  # --site-key and --ca-bundle were checked and put there (cli.main)
    return client_profile(
        place, site=getattr(args, "site", None), connection=getattr(args, "connection", None),
        site_key=env.get("SOFTWARE_CENTER_SITE_KEY") if getattr(args, "site_key", None) is not None else None,
        ca_bundle=env.get("SOFTWARE_CENTER_CA_BUNDLE") if getattr(args, "ca_bundle", None) is not None else None)


async def _connect(args: argparse.Namespace, data_dir: Path) -> AgentClient:
    place = locate_agent(getattr(args, "agent", None), data_dir, data_dir_given=hasattr(args, "data_dir"))
    await ensure_agent(place, data_dir)

    async def revive() -> None:
        """A user agent that died is started again (it continues the run by itself)."""
        with contextlib.suppress(AgentStartError):
            await ensure_agent(place, data_dir)

    args.revive = revive if place.startable else None
    return AgentClient(place.socket, profile=_profile(args, place))


async def client_command(args: argparse.Namespace, data_dir: Path) -> int:
    """Run `args.command` through the agent; its exit code."""
    args.json = getattr(args, "json", False)
    try:
        agent = await _connect(args, data_dir)
    except AgentStartError as exc:
        return _fail(str(exc))
    async with agent:
        try:
            return await _COMMANDS[args.command](agent, args)
        except AgentError as exc:
            if exc.code == AgentCode.AGENT_UNREACHABLE and getattr(args, "agent", None) is None \
                    and not os.environ.get("SOFTWARE_CENTER_AGENT"):
                return _fail(f"{exc.message}; is the agent running? (`systemctl status software-center-agent`)")
            return _fail(exc.message)


async def _list(agent: AgentClient, args: argparse.Namespace) -> int:
    rows = await agent.deployments(refresh=True)  # the site as it is now, as the command always read it
    if args.json:
        for row in rows:
            json_line({"event": "deployment", **{k: v for k, v in row.items() if k not in ROW_EXTRAS}})
        return EXIT_OK
    from .terminal import print_listing

    status = await agent.status()
    print_listing(str(status.get("organization") or ""), str(status.get("connection") or ""), rows)
    return EXIT_OK


async def _run(agent: AgentClient, args: argparse.Namespace) -> int:
    """The agent runs it; this command starts it and shows it (or, with --detach, returns)."""
    variables = parse_variables(args.variable)
    if isinstance(variables, str):
        return _fail(variables)
    if not args.yes:
        listed = {d.get("id"): d for d in await agent.deployments()}
        dep = listed.get(args.deployment)
        if dep is not None and dep.get("eligible") and dep.get("high_impact"):
            stop = high_impact_confirmed(args.deployment, str(dep.get("name")))
            if stop is not None:
                return stop
    try:
        run_id = await agent.start_run(args.deployment, variables, args.launch_mode)
    except AgentError as exc:
        if exc.extra.get("refusal"):
            event_sink(args.json)(RunRefused(args.deployment, exc.code, exc.message))
            return EXIT_REFUSED
        raise
    if getattr(args, "detach", False):
        if args.json:
            json_line({"event": "detached", "run_id": run_id})
        else:
            print(run_id)
        return EXIT_OK
    return await _follow(agent, run_id, args)


async def _resume(agent: AgentClient, args: argparse.Namespace) -> int:
    """The agent continues its saved run now; this command shows it from there. A run the
    agent already continued by itself (after a restart, or after a crash of the agent) is
    shown from where it was continued instead."""
    try:
        run_id, after = await agent.resume()
    except AgentError as exc:
        if exc.code not in (AgentCode.RUN_ACTIVE, ErrorCode.NO_RUN):
            raise
        # Already continued by the agent (after a restart, or after it was restarted
        # itself): show that continuation, as if this command had started it.
        summary = await agent.current()
        if summary is None or not summary["continued_after"] or (
                exc.code == AgentCode.RUN_ACTIVE and summary["run_id"] != exc.extra.get("run_id")):
            raise
        run_id, after = summary["run_id"], summary["continued_after"]
    return await _follow(agent, run_id, args, after)


async def _watch(agent: AgentClient, args: argparse.Namespace) -> int:
    """The agent's current (or last) run, from its first event, followed to its end."""
    summary = await agent.current()
    if summary is None:
        return _fail("the agent has no run to watch")
    return await _follow(agent, summary["run_id"], args, through=True)


async def _discard(agent: AgentClient, args: argparse.Namespace) -> int:
    """Forget the agent's cancelled or failed run (exit 0)."""
    try:
        answer = await agent.discard()
    except AgentError as exc:
        if exc.code == ErrorCode.NO_RUN.value:
            return _fail("the agent has no cancelled or failed run to discard")
        raise
    if args.json:
        json_line({"event": "discarded", "run_id": answer.get("run_id")})
    else:
        print(f"Discarded the run {answer.get('run_id')}; another can start now.")
    return EXIT_OK


async def _settings(agent: AgentClient, args: argparse.Namespace) -> int:
    """The agent's settings (the token only as set / not set), or change one (admin tier;
    `token -` reads the token from standard input)."""
    key, value = args.key, args.value
    if value == "-" and key == "token":
        value = sys.stdin.readline().strip()
        if not value:
            return _fail("token -: standard input gave no token")
    settings = await agent.settings() if value is None else await agent.change_settings({key: value})
    if key is not None and key not in settings:
        return _fail(f"{key}: not a setting (the settings are {', '.join(settings)})")
    shown = {key: settings[key]} if key is not None else settings
    if args.json:
        json_line({"event": "settings", **shown})
        return EXIT_OK
    for name, setting in shown.items():
        if isinstance(setting, list):  # a command's words, or minutes (restart_snooze_minutes)
            setting = ",".join(map(str, setting)) if all(isinstance(w, int) for w in setting) else " ".join(setting)
        print(f"{name}: {'(not set)' if setting is None else setting}")
    return EXIT_OK


async def _refresh(agent: AgentClient, args: argparse.Namespace) -> int:
    """The agent reads the site's catalog again now, if it changed (exit 0; 2 when the site
    cannot be read or its new catalog is refused: the last good one stays in force)."""
    answer = await agent.refresh()
    changed, count = bool(answer.get("changed")), answer.get("deployments")
    if args.json:
        json_line({"event": "refreshed", "changed": changed, "deployments": count,
                   "in_use_by_run": bool(answer.get("in_use_by_run"))})
    elif answer.get("in_use_by_run"):
        print(f"The run under way keeps the catalog it started with ({count} deployments); "
              "the site is read again when it ends.")
    elif changed:
        print(f"A new catalog is in force: {count} deployments.")
    else:
        print(f"The catalog is unchanged ({count} deployments).")
    return EXIT_OK


async def _continued(agent: AgentClient, run_id: str, seq: int) -> bool:
    """Whether the agent continued the run after the finish numbered `seq`."""
    summary = await agent.current()
    return summary is not None and summary["run_id"] == run_id and summary["continued_after"] >= seq


_COMMANDS = {"list": _list, "run": _run, "resume": _resume, "watch": _watch, "discard": _discard,
             "settings": _settings, "refresh": _refresh}


def _agent_sink(json_out: bool) -> Callable[[dict[str, Any]], None]:
    """Events from the agent, shown exactly as an in-process run shows them (`seq` is the
    agent's numbering, for reconnecting, and is not part of the command's output)."""
    if json_out:
        def emit(obj: dict[str, Any]) -> None:
            json_line({k: v for k, v in obj.items() if k != "seq"})

        return emit
    view = event_sink(False)

    def show(obj: dict[str, Any]) -> None:
        event = event_from_json(obj)
        if event is not None:
            view(event)

    return show


async def _follow(agent: AgentClient, run_id: str, args: argparse.Namespace, after: int = 0, *,
                  through: bool = False) -> int:
    """Show the run's events after `after` until it finishes; its exit code. Ctrl-C (or
    SIGTERM) asks the agent to cancel the run, and the events say when it has. A lost
    agent is waited for, or started again when it is the user's own (its successor
    continues the run); no event is shown twice.

    The first `ts_finished` ends it, also when the agent already continued the run past a
    restart and the replay holds the continuation too (`run` exits 5 at its restart).
    `through`: go on into a continuation the agent already started after a finish (a
    restart, or a cancel and a resume), as `watch` replays the whole run."""
    show = _agent_sink(args.json)
    revive = getattr(args, "revive", None)
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

    status: str | None = None
    last_seq = after
    lost_at: float | None = None
    try:
        with on_interrupt(ask_cancel):
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
                    if through and status is not None and await _continued(agent, run_id, last_seq):
                        status = None
                        continue
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
                    if revive is not None:
                        await revive()
                    await asyncio.sleep(0.2)
    except asyncio.CancelledError:
        if not refused:
            raise
        return _fail(refused[0].message)
    finally:
        for task in asked:
            if not task.done():
                await asyncio.wait([task], timeout=5)
    if status is None:
        return _fail(f"the agent stopped sending the events of the run {run_id} before it finished; "
                     "`software-center watch` follows it again")
    return _EXITS.get(status, 1)
