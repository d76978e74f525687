"""What the agent and its clients agree on: the API's version prefix, its own error codes,
the JSON shapes it answers with, and where the socket is by default.

Every error crosses the socket as `{"code": ..., "message": ...}`. `code` is a stable
value: an `ErrorCode` of the engine (`run_pending`, `no_run`, `site_unreachable`, ...),
a refusal of eligibility (`intranet_only`, `unknown_deployment`, ...), or one of
`AgentCode` below for what only the agent can say. `message` is one English sentence
for terminals and logs; clients never match it.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import os
import tempfile
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

from ..events import Event

__all__ = [
    "API_PREFIX",
    "MAX_SOCKET_PATH",
    "PROFILE_HEADER",
    "ROW_EXTRAS",
    "AgentCode",
    "RunSummary",
    "default_socket_path",
    "event_from_json",
    "socket_path_problem",
]

API_PREFIX = "/v1"
# A request's own site and trust settings (a JSON object; see core/agent/server.py).
PROFILE_HEADER = "Software-Center-Profile"
# What a row of `GET /v1/deployments` has beyond the fields of `list --json`.
ROW_EXTRAS = ("total_bytes", "present_bytes", "high_impact", "deadline")
MAX_SOCKET_PATH = 107  # bytes: sun_path holds 108 with its terminating NUL


class AgentCode(enum.StrEnum):
    """Errors only the agent reports (beside the engine's `ErrorCode` and refusal codes)."""

    RUN_ACTIVE = "run_active"  # a run is under way: one run at a time per machine
    RESTART_PENDING = "restart_pending"  # the run waits for a restart: it cannot be discarded
    NO_RESTART_PENDING = "no_restart_pending"  # restart now / snooze: no run waits for a restart
    RESTARTING = "restarting"  # restart now / snooze: the computer is already going down
    FORBIDDEN = "forbidden"  # the caller's tier does not allow the operation
    BAD_REQUEST = "bad_request"  # the request's JSON or query is not what the API takes
    NOT_FOUND = "not_found"  # no such endpoint, or no such run
    SITE_NOT_OPEN = "site_not_open"  # the site could not be opened (its own code is in `site_error`)
    AGENT_UNREACHABLE = "agent_unreachable"  # client side: nothing answers at the socket
    PROTOCOL = "protocol"  # client side: the agent's answer was not what the API says
    INTERNAL = "internal"  # a bug in the agent, reported in one line


class RunSummary(TypedDict):
    """`GET /v1/runs/current` and the `run` of `GET /v1/status`."""

    run_id: str
    deployment: str
    name: str
    status: str  # a RunStatus value: running, cancelled, restart_pending, succeeded, failed
    active: bool  # the agent is executing it now
    last_seq: int  # the seq of its last event so far (0: none yet)
    started_by: int | None  # uid of the caller that started it (None: not known)
    continued_after: int  # continued (resumed): its new events come after this seq; 0: never continued
    # A restart-pending run the agent is restarting for: {"mode": "simulated" | "reboot",
    # "countdown_s", "countdown_ends" (ISO time; simulated), "snoozed_until" (ISO time, while
    # postponed), "snooze_minutes" (the delays offered), "failed": {"code", "message"} | None};
    # None otherwise.
    restart: dict[str, Any] | None


def default_socket_path(data_dir: Path, environ: Mapping[str, str] | None = None) -> Path:
    """The user's agent socket for `data_dir`: one agent per data folder.

    With `XDG_RUNTIME_DIR`: `software-center/agent.sock` there for the default data folder,
    `software-center/agent-<hash>.sock` for another one. Without it: `<data>/agent/agent.sock`,
    or `<tmp>/software-center-<uid>/agent-<hash>.sock` when that path is too long for a socket."""
    from ..options import default_data_dir

    env = os.environ if environ is None else environ
    data_dir = Path(os.path.abspath(data_dir))
    digest = hashlib.sha256(os.fsencode(str(data_dir))).hexdigest()[:16]
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime:
        base = Path(runtime) / "software-center"
        if data_dir == Path(os.path.abspath(default_data_dir())):
            return base / "agent.sock"
        return base / f"agent-{digest}.sock"
    path = data_dir / "agent" / "agent.sock"
    if socket_path_problem(path) is None:
        return path
    return Path(tempfile.gettempdir()) / f"software-center-{os.getuid()}" / f"agent-{digest}.sock"


def socket_path_problem(path: Path) -> str | None:
    """Why a Unix socket cannot live at `path` (None: it can)."""
    size = len(os.fsencode(str(path)))
    if size > MAX_SOCKET_PATH:
        return (f"the socket path {path} is {size} bytes long; a Unix socket path may have at most "
                f"{MAX_SOCKET_PATH}: give a shorter --socket")
    return None


def event_from_json(obj: Mapping[str, Any]) -> Event | None:
    """An event as the engine made it, from its JSON form (`to_json`, plus `seq`, which is
    dropped); None for an event name this version does not know."""
    cls = _event_classes().get(str(obj.get("event")))
    if cls is None:
        return None
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in obj:
            continue
        value = obj[f.name]
        enum_type = next((t for t in typing.get_args(hints[f.name]) or (hints[f.name],)
                          if isinstance(t, type) and issubclass(t, enum.Enum)), None)
        if enum_type is not None and value is not None:
            try:
                value = enum_type(value)
            except ValueError:
                pass  # a value of a newer agent: kept as text
        values[f.name] = value
    try:
        return cls(**values)
    except TypeError:
        return None


def _event_classes() -> dict[str, type[Event]]:
    from .. import events

    out: dict[str, type[Event]] = {}
    for name in events.__all__:
        member = getattr(events, name)
        if isinstance(member, type) and issubclass(member, events.Event) and member is not events.Event:
            out[member.event] = member
    return out
