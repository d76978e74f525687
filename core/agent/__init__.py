"""The agent: one process that owns a data folder and its engine, and serves it to its
clients (the command line now, the window later) over a Unix socket, as HTTP+JSON.

    protocol   what both sides agree on: the `/v1` prefix, the agent's own error codes,
               the run summary's shape, the default socket path
    eventlog   a run's events kept on disk as JSON Lines, numbered by `seq`
    notify     systemd's readiness datagram (`Type=notify`)
    settings   what an admin changes through the agent (the token is never shown)
    restart    the boot id and the reboot command, for a run that stopped for a restart
    server     `Agent`: the aiohttp application, the run it executes, the caller tiers
    client     `AgentClient`: the typed httpx client every command uses
    spawn      which agent a client talks to; the user's agent started on demand
    remote     `RemoteEngine`: the window's engine host over the socket (attach, follow,
               cancel, reconnect)

docs/AGENT.md describes the API as built. The names below load lazily, as `core`'s do:
a client (`AgentClient`, `ensure_agent`) never loads aiohttp, which only the agent's
server needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import *  # noqa: F403
    from .notify import *  # noqa: F403
    from .protocol import *  # noqa: F403
    from .remote import *  # noqa: F403
    from .restart import *  # noqa: F403
    from .server import *  # noqa: F403
    from .settings import *  # noqa: F403
    from .spawn import *  # noqa: F403

# name -> the module of this package that defines it
_EXPORTS = {
    "API_PREFIX": "protocol",
    "Agent": "server",
    "AgentClient": "client",
    "AgentCode": "protocol",
    "AgentPlace": "spawn",
    "ApiError": "server",
    "ON_DEMAND_IDLE_S": "spawn",
    "PROFILE_HEADER": "protocol",
    "ROW_EXTRAS": "protocol",
    "RemoteEngine": "remote",
    "RunSummary": "protocol",
    "DEFAULT_SNOOZE_MINUTES": "settings",
    "MAX_SNOOZE_MINUTES": "settings",
    "SETTING_KEYS": "settings",
    "SYSTEM_CONFIG": "settings",
    "SYSTEM_SOCKET": "spawn",
    "SettingsStore": "settings",
    "client_profile": "spawn",
    "default_socket_path": "protocol",
    "ensure_agent": "spawn",
    "event_from_json": "protocol",
    "locate_agent": "spawn",
    "notify": "notify",
    "parse_setting": "settings",
    "public_settings": "settings",
    "read_boot_id": "restart",
    "run_reboot_command": "restart",
    "socket_path_problem": "protocol",
}

__all__ = sorted(_EXPORTS)  # noqa: PLE0605


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core.agent' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
