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

docs/AGENT.md describes the API as built.
"""

from .client import AgentClient, AgentError
from .notify import notify
from .protocol import (
    API_PREFIX,
    PROFILE_HEADER,
    AgentCode,
    RunSummary,
    default_socket_path,
    event_from_json,
    socket_path_problem,
)
from .remote import RemoteEngine
from .restart import RestartCode, RestartProblem, read_boot_id, run_reboot_command
from .server import Agent, AgentStartError, ApiError
from .settings import SETTING_KEYS, SYSTEM_CONFIG, SettingError, SettingsStore, parse_setting, public_settings
from .spawn import ON_DEMAND_IDLE_S, SYSTEM_SOCKET, AgentPlace, ensure_agent, locate_agent

__all__ = [
    "API_PREFIX",
    "Agent",
    "AgentClient",
    "AgentCode",
    "AgentPlace",
    "ON_DEMAND_IDLE_S",
    "PROFILE_HEADER",
    "SYSTEM_SOCKET",
    "ensure_agent",
    "locate_agent",
    "AgentError",
    "AgentStartError",
    "ApiError",
    "RestartCode",
    "SETTING_KEYS",
    "SYSTEM_CONFIG",
    "SettingError",
    "SettingsStore",
    "parse_setting",
    "public_settings",
    "RemoteEngine",
    "RestartProblem",
    "RunSummary",
    "default_socket_path",
    "event_from_json",
    "notify",
    "read_boot_id",
    "run_reboot_command",
    "socket_path_problem",
]
