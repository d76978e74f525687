"""The one client of the agent's API: httpx over the agent's Unix socket.

    async with AgentClient(socket_path) as agent:
        run_id = await agent.start_run("DEP1")
        async for event in agent.events(run_id):
            ...

Every failure is an `AgentError` with the agent's stable `code` (or `agent_unreachable`
when nothing answers at the socket) and its one-sentence `message`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, cast

import httpx

from ..errors import AgentError
from .protocol import API_PREFIX, PROFILE_HEADER, AgentCode, RunSummary

__all__ = ["AgentClient"]

_BASE = "http://agent" + API_PREFIX


class AgentClient:
    """Typed calls to the agent listening on `socket_path`."""

    def __init__(self, socket_path: Path | str, *, timeout_s: float = 30.0,
                 profile: Mapping[str, Any] | None = None) -> None:
        """`profile`: this client's own site and trust settings (`site`, `connection`,
        `site_key`, `ca_bundle`, `token`), sent with every request; None values are left out."""
        self.socket_path = Path(socket_path)
        given = {k: v for k, v in (profile or {}).items() if v is not None}
        headers = {PROFILE_HEADER: json.dumps(given)} if given else {}
        # Plain HTTP on a local socket: no TLS, so no certificate store to load (that alone
        # took ~20 ms per client).
        self._http = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=str(socket_path), verify=False),
            base_url=_BASE,
            timeout=timeout_s,
            headers=headers,
            verify=False,
        )

    async def __aenter__(self) -> AgentClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- calls ----------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("GET", "/status"))

    async def deployments(self, *, refresh: bool = False) -> list[dict[str, Any]]:
        """The listings; `refresh`: the agent reads the site's catalog again first."""
        path = "/deployments?refresh=1" if refresh else "/deployments"
        return cast(list[dict[str, Any]], await self._call("GET", path))

    async def start_run(self, deployment: str, variables: Mapping[str, str] | None = None,
                        launch_mode: str | None = None) -> str:
        """Start a run; its id as soon as it has started."""
        body: dict[str, Any] = {"deployment": deployment}
        if variables:
            body["variables"] = dict(variables)
        if launch_mode is not None:
            body["launch_mode"] = launch_mode
        return self._run_id(await self._call("POST", "/runs", body))

    async def current(self) -> RunSummary | None:
        """The current (or last) run; None when the agent has run nothing."""
        try:
            return cast(RunSummary, await self._call("GET", "/runs/current"))
        except AgentError as exc:
            if exc.status == 404:
                return None
            raise

    async def cancel(self) -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("POST", "/runs/current/cancel", {}))

    async def resume(self) -> tuple[str, int]:
        """Continue the saved run now: its id, and the `seq` its new events come after."""
        body = await self._call("POST", "/runs/current/resume", {})
        after = body.get("after") if isinstance(body, dict) else None
        return self._run_id(body), after if isinstance(after, int) else 0

    async def restart_now(self) -> dict[str, Any]:
        """Carry out the restart the saved run waits for now (a simulated restart: the run
        continues at once): `{"run_id", "status": "restarting"}`."""
        return cast(dict[str, Any], await self._call("POST", "/runs/current/restart", {"now": True}))

    async def snooze_restart(self, minutes: int) -> dict[str, Any]:
        """Postpone that restart by `minutes` (one of the agent's `restart_snooze_minutes`):
        `{"run_id", "status": "snoozed", "snoozed_until"}`."""
        return cast(dict[str, Any], await self._call("POST", "/runs/current/restart", {"snooze_minutes": minutes}))

    async def catalog(self, *, refresh: bool = False) -> tuple[bytes, dict[str, str]]:
        """The catalog as the agent read it (exact bytes), and what the agent says of it:
        `site_url`, `connection`, `signed` (JSON true / false / null)."""
        try:
            response = await self._http.get("/catalog", params={"refresh": "1"} if refresh else None)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if response.status_code >= 400:
            raise self._error(response)
        h = response.headers
        return response.content, {"site_url": h.get("software-center-site-url", ""),
                                  "connection": h.get("software-center-connection", ""),
                                  "signed": h.get("software-center-signed", "null")}

    async def refresh(self) -> dict[str, Any]:
        """Have the agent read the site's catalog again if it changed: `{"changed",
        "deployments", "in_use_by_run", "policy"}`."""
        return cast(dict[str, Any], await self._call("POST", "/refresh", {}))

    async def settings(self) -> dict[str, Any]:
        """The agent's settings (the token only as "set" / "not set")."""
        return cast(dict[str, Any], await self._call("GET", "/settings"))

    async def change_settings(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change settings (admin tier); the settings after the change."""
        return cast(dict[str, Any], await self._call("POST", "/settings", dict(changes)))

    async def discard(self) -> dict[str, Any]:
        """Forget the cancelled or failed run so another can start: `{"run_id", "status"}`."""
        return cast(dict[str, Any], await self._call("POST", "/runs/current/discard", {}))

    async def history(self) -> dict[str, Any]:
        """`{"entries": [...], "saved": {...} | None}`: the runs, oldest first, and where a
        saved run stands."""
        return cast(dict[str, Any], await self._call("GET", "/history"))

    async def cache_usage(self) -> int:
        """The bytes the agent's content cache holds."""
        body = await self._call("GET", "/cache")
        if not isinstance(body, dict) or not isinstance(body.get("bytes"), int):
            raise AgentError(AgentCode.PROTOCOL, "the agent's answer to GET /cache has no bytes")
        return int(body["bytes"])

    async def clear_cache(self) -> dict[str, Any]:
        """Empty the content cache (admin tier): `{"freed", "bytes"}`."""
        return cast(dict[str, Any], await self._call("POST", "/cache/clear", {}))

    async def events(self, run_id: str, after: int = 0) -> AsyncIterator[dict[str, Any]]:
        """The run's events after `after` (its `seq`), then live until it finishes."""
        try:
            async with self._http.stream("GET", f"/runs/{run_id}/events", params={"after": after},
                                         timeout=httpx.Timeout(30.0, read=None)) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise self._error(response)
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    try:
                        event = json.loads(line)
                    except ValueError:
                        raise AgentError(AgentCode.PROTOCOL, f"the agent sent a line that is not JSON: {line[:80]!r}",
                                         200) from None
                    if not isinstance(event, dict) or "event" not in event:
                        raise AgentError(AgentCode.PROTOCOL, "the agent sent an event without its name", 200)
                    yield event
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None

    # --- plumbing -------------------------------------------------------------------

    async def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if response.status_code >= 400:
            raise self._error(response)
        try:
            return response.json()
        except ValueError:
            raise AgentError(AgentCode.PROTOCOL, f"the agent's answer to {method} {path} is not JSON",
                             response.status_code) from None

    def _unreachable(self, exc: Exception) -> AgentError:
        reason = str(exc) or type(exc).__name__
        return AgentError(AgentCode.AGENT_UNREACHABLE, f"no agent answers at {self.socket_path} ({reason})")

    @staticmethod
    def _error(response: httpx.Response) -> AgentError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            extra = {k: v for k, v in body.items() if k not in ("code", "message")}
            return AgentError(body["code"], str(body.get("message", "")), response.status_code, extra)
        return AgentError(AgentCode.PROTOCOL, f"the agent answered HTTP {response.status_code} without an error code",
                          response.status_code)

    @staticmethod
    def _run_id(body: Any) -> str:
        if not isinstance(body, dict) or not isinstance(body.get("run_id"), str):
            raise AgentError(AgentCode.PROTOCOL, "the agent's answer has no run_id")
        return str(body["run_id"])
