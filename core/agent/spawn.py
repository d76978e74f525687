"""Which agent a client talks to, and the user's agent started on demand.

    place = locate_agent(explicit, data_dir, data_dir_given=...)
    await ensure_agent(place, data_dir)      # starts `software-center agent --user` if needed

The order is the contract of docs/AGENT.md: `--agent PATH`, else `SOFTWARE_CENTER_AGENT`,
else the machine's agent (`/run/software-center/agent.sock`, when it exists and no data
folder was named), else the user's agent for the data folder, which a client starts
when none answers. That agent stops by itself after a minute with no run and no client
(`--exit-when-idle`), so the window and the demo need no set-up.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import AgentError, AgentStartError
from .client import AgentClient
from .protocol import default_socket_path

__all__ = ["ON_DEMAND_IDLE_S", "SYSTEM_SOCKET", "AgentPlace", "client_profile", "ensure_agent", "locate_agent"]

SYSTEM_SOCKET = Path("/run/software-center/agent.sock")
ON_DEMAND_IDLE_S = 60.0  # an agent a client started stops after this long with nothing to do
START_TIMEOUT_S = 30.0
# A client's own site and trust settings go to the agent with each request (its profile),
# not through the environment the agent inherits.
_CLIENT_ONLY = frozenset({"SOFTWARE_CENTER_AGENT", "SOFTWARE_CENTER_SITE", "SOFTWARE_CENTER_SITE_KEY",
                          "SOFTWARE_CENTER_CA_BUNDLE", "SOFTWARE_CENTER_TOKEN"})
_started: list[int] = []  # pids of the agents this process started, reaped once they exit


@dataclass(frozen=True)
class AgentPlace:
    """Where the agent is: its socket; whether a user agent may be started there."""

    socket: Path
    startable: bool
    system: bool = False


def locate_agent(explicit: Path | str | None, data_dir: Path, *, data_dir_given: bool,
                 environ: Mapping[str, str] | None = None, system_socket: Path = SYSTEM_SOCKET) -> AgentPlace:
    env = os.environ if environ is None else environ
    if explicit:
        return AgentPlace(Path(os.path.abspath(Path(explicit).expanduser())), False)
    if env.get("SOFTWARE_CENTER_AGENT"):
        return AgentPlace(Path(os.path.abspath(Path(env["SOFTWARE_CENTER_AGENT"]).expanduser())), False)
    if not data_dir_given and system_socket.exists():
        return AgentPlace(system_socket, False, True)
    return AgentPlace(default_socket_path(data_dir, env), True)


def client_profile(place: AgentPlace, *, site: str | None = None, connection: str | None = None,
                   site_key: str | None = None, ca_bundle: str | None = None,
                   environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A client's own site and trust settings for its requests (the agent's profile): what
    it was given, and, for the user's own agent only, SOFTWARE_CENTER_SITE, _SITE_KEY,
    _CA_BUNDLE and _TOKEN. The machine's agent serves the site its admin set, so the
    environment is not sent to it (a user's shell variables would only get refused)."""
    env = os.environ if environ is None else environ
    own = place.startable
    given = {
        "site": site or (env.get("SOFTWARE_CENTER_SITE") if own else None),
        "connection": connection,
        "site_key": site_key or (env.get("SOFTWARE_CENTER_SITE_KEY") if own else None),
        "ca_bundle": ca_bundle or (env.get("SOFTWARE_CENTER_CA_BUNDLE") if own else None),
        "token": env.get("SOFTWARE_CENTER_TOKEN") if own else None,
    }
    return {k: v for k, v in given.items() if v}


async def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        async with AgentClient(socket_path, timeout_s=5.0) as agent:
            await agent.status()
    except AgentError:
        return False
    return True


def _exit_code(pid: int) -> int | None:
    """The started agent's exit code once it has exited (reaping it); None while it runs."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        done, status = pid, 0  # reaped already
    if done == 0:
        return None
    if pid in _started:
        _started.remove(pid)
    return os.waitstatus_to_exitcode(status) if done == pid and status else 0


def _reap() -> None:
    for pid in list(_started):
        _exit_code(pid)


def _start(command: list[str], env: dict[str, str], errors: int) -> Callable[[], int | None]:
    """Start the agent in a session of its own (so a terminal's Ctrl-C does not reach it),
    standard error to `errors`; a function giving its exit code once it has exited.

    POSIX: posix_spawn and a bare pid, so an agent that outlives this process leaves no
    `Popen` behind to warn about it."""
    if hasattr(os, "posix_spawn"):
        null = os.open(os.devnull, os.O_RDWR)
        try:
            pid = os.posix_spawn(command[0], command, env, setsid=True, file_actions=[
                (os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, errors, 2)])
        finally:
            os.close(null)
        _started.append(pid)
        return lambda: _exit_code(pid)
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors, env=env,
                            start_new_session=True, close_fds=True)
    return proc.poll


async def ensure_agent(place: AgentPlace, data_dir: Path, *, idle_s: float = ON_DEMAND_IDLE_S,
                       timeout_s: float = START_TIMEOUT_S) -> None:
    """Make sure an agent answers at `place`: start the user's agent for `data_dir` when it
    may be started and none answers. AgentStartError says why it could not start; for an
    agent that may not be started here, the caller's first request reports it missing."""
    _reap()
    if not place.startable or await _answers(place.socket):
        return
    folder = place.socket.parent
    if folder.exists():
        owner = folder.stat().st_uid
        if owner not in (os.getuid(), 0):
            raise AgentStartError(f"the agent's folder {folder} belongs to another user (uid {owner}); "
                                  "remove it, or give --agent")
    command = [sys.executable, "-m", "cli.main", "agent", "--user", "--data-dir", str(data_dir),
               "--socket", str(place.socket), "--exit-when-idle", repr(float(idle_s))]
    env = {k: v for k, v in os.environ.items() if k not in _CLIENT_ONLY}
    errors = tempfile.TemporaryFile()  # what it says before it answers (it logs to smsts.log after)
    try:
        exit_code = _start(command, env, errors.fileno())
    except OSError as exc:
        errors.close()
        raise AgentStartError(f"the agent could not be started: {exc.strerror or exc}") from None
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if await _answers(place.socket):
                return
            code = exit_code()
            if code is not None:
                if await _answers(place.socket):  # another client's agent was first
                    return
                errors.seek(0)
                said = errors.read().decode("utf-8", "replace").strip().splitlines()
                reason = said[-1].removeprefix("software-center: ") if said else f"exit code {code}"
                raise AgentStartError(f"cannot start the agent for {data_dir}: {reason}")
            if time.monotonic() > deadline:
                raise AgentStartError(f"the agent for {data_dir} did not answer within {timeout_s:.0f} s")
            await asyncio.sleep(0.05)
    finally:
        errors.close()
