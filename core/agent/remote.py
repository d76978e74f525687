"""The engine as a client sees it over the agent's socket: `RemoteEngine`, an `EngineHost`.

    engine = RemoteEngine(locate_agent(None, data_dir, data_dir_given=True), data_dir)
    await engine.open()                       # starts the user's agent if it may and must
    result = await engine.run("DEP1", sink)   # the agent runs it; its events reach `sink`

The window uses it as it used `LocalEngine`, with what only an agent can do besides:

- A run belongs to the agent. Cancelling the task that follows it only stops following
  (`run`, `resume` and `attach` return nothing more); `cancel()` asks the agent, and the
  run then ends with its own events.
- `attach(sink)` follows the agent's current run: its events from the first one (a
  replay), then live.
- A follower that loses the agent (it died, or was restarted) says so through
  `on_link(False)`, waits for an agent to answer again (starting the user's agent when it
  may), says `on_link(True)` and goes on after the last `seq` it saw: every event once.
- A run stopped for a restart is restarted by the agent; `restart_state()` is what the
  agent says of that restart (its countdown, or why the reboot command failed).

Refusals and failures cross as codes: an `AgentError` (its `code`), or a refused
deployment as a `RunRefused` event and a refused `RunResult`, as with the engine in
process. The catalog is the agent's exact bytes, parsed here for the task-sequence tree.

The socket is read on a thread of its own with a plain asyncio loop, never on the
caller's loop: a Qt window's loop (qasync) is busy painting, and httpx's async transport
(anyio) does not run reliably on it. Every call hands its work to that thread and awaits
it; events, and the link's changes, reach the caller on the caller's loop, in order and
before the call that followed them returns. Cancelling a call cancels its work there.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ..catalog import Catalog, parse_catalog
from ..eligibility import ConnectionType, Listing, Refusal, Verdict, check_eligibility
from ..errors import AgentError, AgentStartError, ErrorCode
from ..events import Event, EventSink, RunFinished, RunOutcome, RunRefused, RunResult, RunStarted
from ..options import ConnectionSetting
from ..runstate import HistoryEntry, RunState, RunStatus
from .client import AgentClient
from .protocol import AgentCode, RunSummary, event_from_json
from .spawn import AgentPlace, ensure_agent

__all__ = ["RemoteEngine"]

log = logging.getLogger("software_center.agent.remote")

_CONNECTIONS: dict[str, ConnectionType] = {"internet": "internet", "intranet": "intranet"}
_SETTINGS: dict[str, ConnectionSetting] = {"auto": "auto", "internet": "internet", "intranet": "intranet"}
_ENDED = {s.value: RunOutcome(s.value) for s in (RunStatus.CANCELLED, RunStatus.FAILED, RunStatus.SUCCEEDED,
                                                 RunStatus.RESTART_PENDING)}
_RUN_STATE_FIELDS = {f.name for f in dataclasses.fields(RunState)}
LARGE_CATALOG = 1 << 20  # parsed off the loop above this size, so a window keeps painting


T = TypeVar("T")


def _this_loop() -> asyncio.AbstractEventLoop:
    """The caller's loop. A Qt loop (qasync) does not always mark itself running while a
    task steps (a step resumed from a Qt callback), so its set loop is the answer then."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop_policy().get_event_loop()


class _IoThread:
    """A plain asyncio loop on a daemon thread, for the socket's work."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="agent-client", daemon=True)
        self._thread.start()

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return await asyncio.wrap_future(future, loop=_this_loop())  # cancelling this cancels the work on the thread

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self.loop.close()


def _refusal(code: str) -> Refusal | None:
    try:
        return Refusal(code)
    except ValueError:
        return None


class RemoteEngine:
    """`EngineHost` for the agent at `place`, serving the data folder `data_dir`.

    `profile`: this client's own site and trust settings (`site`, `connection`,
    `site_key`, `ca_bundle`, `token`; only what was given explicitly), sent with each
    request. `on_link(bool)`: called with False when a follower lost the agent, True when
    it answers again. `prefetch`: begin the first `open()` at once, in the background
    (a window does, so the agent's answers arrive while it builds its widgets)."""

    owns_runs = True  # a run outlives its follower; cancel() asks the agent
    restart_command = None  # the agent carries out restarts itself

    def __init__(self, place: AgentPlace, data_dir: Path, *, profile: Mapping[str, Any] | None = None,
                 reconnect_s: float = 0.25, on_link: Callable[[bool], None] | None = None,
                 prefetch: bool = False) -> None:
        self.place = place
        self._data_dir = Path(os.path.abspath(data_dir))
        self.profile = {k: v for k, v in (profile or {}).items() if v is not None}
        self.client = AgentClient(place.socket, profile=self.profile)
        self.reconnect_s = reconnect_s
        self.on_link = on_link
        self.status: dict[str, Any] = {}
        self.catalog: Catalog | None = None
        self.catalog_signed: bool | None = None
        self.site_url: str | None = None
        self.site_setting: str | None = None
        self.connection: ConnectionType | None = None
        self.connection_setting: ConnectionSetting = _SETTINGS.get(str(self.profile.get("connection")), "auto")
        self._listings: list[Listing] = []
        self.last_seq: dict[str, int] = {}  # per run: the seq of the last event followed
        self.linked = True
        self._io = _IoThread()
        self._caller: asyncio.AbstractEventLoop | None = None  # where events and link changes go
        # The first open() starts now, on the socket's thread, while the caller builds its
        # window: the agent's answers and the catalog's parsing overlap with that.
        self._early: concurrent.futures.Future[Catalog] | None = (
            asyncio.run_coroutine_threadsafe(self._do_open(), self._io.loop) if prefetch else None)

    # --- what the window reads ------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """The agent's data folder (its log is `logs/smsts.log` there)."""
        served = self.status.get("data_dir")
        return Path(served) if isinstance(served, str) and served else self._data_dir

    @property
    def is_demo(self) -> bool:
        """The agent serves its embedded demo site."""
        return bool(self.status) and self.site_setting is None

    @property
    def organization(self) -> str | None:
        return self.catalog.site.organization if self.catalog is not None else None

    @property
    def mode(self) -> str:
        return str(self.status.get("mode") or "user")

    def listings(self) -> list[Listing]:
        """The deployments as the agent listed them at the last `open()`."""
        return list(self._listings)

    def verdict(self, deployment_id: str) -> Verdict:
        for item in self._listings:
            if item.deployment.id == deployment_id:
                return item.verdict
        assert self.catalog is not None and self.connection is not None, "open() first"
        return check_eligibility(self.catalog, deployment_id, self.connection)

    # --- opening --------------------------------------------------------------------

    async def _do_connect(self) -> dict[str, Any]:
        """Make sure the agent answers (starting the user's agent when it may); its status.
        Raises AgentStartError, or AgentError (`agent_unreachable`)."""
        try:
            self.status = await self.client.status()  # it usually answers: one round trip
        except AgentError as exc:
            if exc.code != AgentCode.AGENT_UNREACHABLE:
                raise
            await ensure_agent(self.place, self._data_dir)
            self.status = await self.client.status()
        return self.status

    async def _do_open(self) -> Catalog:
        """Connect, read the agent's catalog and its listings. Raises AgentStartError, or
        AgentError with the site's code (e.g. `site_unreachable`, `untrusted_site`)."""
        status = await self._do_connect()
        self.site_setting = status.get("site") if isinstance(status.get("site"), str) else None
        setting = _SETTINGS.get(str(status.get("connection_setting")))
        if setting is not None:
            self.connection_setting = setting
        data, about = await self.client.catalog(refresh=True)  # the site as it is now, as before the agent
        self.site_url = about.get("site_url") or None
        url = (self.site_url or "") + "catalog.json"
        try:
            if len(data) > LARGE_CATALOG:
                catalog = await asyncio.to_thread(parse_catalog, data, url)
            else:
                catalog = parse_catalog(data, url)
        except Exception as exc:  # the agent read it, so this is a version mismatch
            raise AgentError(AgentCode.PROTOCOL, f"the agent's catalog cannot be read here: {exc}") from None
        signed = about.get("signed")
        self.catalog_signed = True if signed == "true" else False if signed == "false" else None
        self.connection = _CONNECTIONS.get(about.get("connection", ""))
        listed = await self.client.deployments()
        self.catalog = catalog
        self._listings = self._make_listings(catalog, listed)
        return catalog

    async def _do_refresh_listings(self) -> list[Listing]:
        """The agent's listings again (what is cached changes what is left to download)."""
        if self.catalog is None:
            return []
        self._listings = self._make_listings(self.catalog, await self.client.deployments())
        return self.listings()

    def _make_listings(self, catalog: Catalog, listed: list[dict[str, Any]]) -> list[Listing]:
        by_id = {d.id: d for d in catalog.deployments}
        out: list[Listing] = []
        for obj in listed:
            dep = by_id.get(str(obj.get("id")))
            if dep is None:
                continue
            reason = obj.get("reason")
            refusal = _refusal(reason) if isinstance(reason, str) else None
            if isinstance(reason, str) and refusal is None and self.connection is not None:
                verdict = check_eligibility(catalog, dep.id, self.connection)  # a code this version lacks
            else:
                message = obj.get("message")
                verdict = Verdict(dep.id, refusal, message if isinstance(message, str) else None)
            total, download, present = obj.get("total_bytes"), obj.get("download_bytes"), obj.get("present_bytes")
            out.append(Listing(dep, verdict, total if isinstance(total, int) else 0,
                               download if isinstance(download, int) else 0,
                               present if isinstance(present, int) else 0))
        return out

    async def aclose(self) -> None:
        if self._early is not None:
            self._early.cancel()
            self._early = None
        if not self._io.loop.is_closed():
            await self._io.call(self._do_close())
        self._io.close()

    async def _do_close(self) -> None:
        """Stop following (a follower must not reconnect through a closed client), then close."""
        me = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not me]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self.client.aclose()

    # --- the calls (each runs on the socket's thread) -------------------------------

    async def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        self._caller = _this_loop()
        return await self._io.call(coro)

    def _to_caller(self, on_event: EventSink) -> EventSink:
        caller = _this_loop()

        def sink(event: Event) -> None:
            caller.call_soon_threadsafe(on_event, event)

        return sink

    async def connect(self) -> dict[str, Any]:
        """Make sure the agent answers (starting the user's agent when it may); its status.
        Raises AgentStartError, or AgentError (`agent_unreachable`)."""
        return await self._call(self._do_connect())

    async def open(self) -> Catalog:
        """Connect, read the agent's catalog and its listings. Raises AgentStartError, or
        AgentError with the site's code (e.g. `site_unreachable`, `untrusted_site`)."""
        early, self._early = self._early, None
        if early is not None:  # the one started with this object
            self._caller = _this_loop()
            return await asyncio.wrap_future(early, loop=self._caller)
        return await self._call(self._do_open())

    async def refresh_listings(self) -> list[Listing]:
        """The agent's listings again (what is cached changes what is left to download)."""
        return await self._call(self._do_refresh_listings())

    async def run(self, deployment_id: str, on_event: EventSink,
                  variables: Mapping[str, str] | None = None) -> RunResult:
        """Ask the agent to start the deployment and follow the run to its end. A refusal
        is reported as the engine reports it (a RunRefused event, a refused result); the
        agent's other refusals raise AgentError (`run_active`, `run_pending`, ...)."""
        return await self._call(self._do_run(deployment_id, self._to_caller(on_event), variables))

    async def resume(self, on_event: EventSink) -> RunResult:
        """Ask the agent to continue its saved run now, and follow it."""
        return await self._call(self._do_resume(self._to_caller(on_event)))

    async def attach(self, on_event: EventSink) -> RunResult | None:
        """Follow the agent's current run if one is under way or waits for its restart:
        every event from its first, then live. None: there is no such run."""
        return await self._call(self._do_attach(self._to_caller(on_event)))

    async def follow(self, run_id: str, on_event: EventSink) -> RunResult:
        """The run's events after the last one this engine followed (all of them the first
        time) into `on_event`, until the stream ends after its `ts_finished`."""
        return await self._call(self._do_follow(run_id, self._to_caller(on_event)))

    async def cancel(self) -> bool:
        """Ask the agent to cancel the run under way; False: none was under way."""
        return await self._call(self._do_cancel())

    async def current(self) -> RunSummary | None:
        """The agent's current (or last) run."""
        return await self._call(self._do_current())

    async def agent_status(self) -> dict[str, Any]:
        """The agent's status now (`GET /v1/status`): its policy version, pre-cache and schedule
        among the rest. Raises AgentError when the agent does not answer (no waiting)."""
        return await self._call(self.client.status())

    async def refresh_catalog(self) -> bool:
        """Have the agent read the site's catalog again now, if it changed; True if it did."""
        return bool((await self._call(self.client.refresh())).get("changed"))

    async def reconnect(self) -> None:
        """Wait until an agent answers again (starting the user's agent when it may)."""
        await self._call(self._do_reconnect())

    async def restart_state(self, run_id: str | None = None) -> dict[str, Any] | None:
        """What the agent says of the restart it carries out for the run waiting for one:
        `{"mode", "countdown_s", "countdown_ends", "snoozed_until", "snooze_minutes",
        "failed": {"code", "message"} | None}` (see RunSummary); None when no run waits for a
        restart (or not `run_id`)."""
        return await self._call(self._do_restart_state(run_id))

    async def discard(self) -> None:
        """Ask the agent to forget its failed or cancelled run, so another can start."""
        await self._call(self.client.discard())

    async def restart_now(self) -> None:
        """Ask the agent to carry out the restart the run waits for now."""
        await self._call(self.client.restart_now())

    async def snooze_restart(self, minutes: int) -> str | None:
        """Ask the agent to postpone that restart by `minutes`; until when (ISO time)."""
        answer = await self._call(self.client.snooze_restart(minutes))
        until = answer.get("snoozed_until")
        return until if isinstance(until, str) else None

    async def history(self) -> tuple[list[HistoryEntry], RunState | None]:
        """The runs (oldest first), and where a run that did not finish stands."""
        return await self._call(self._do_history())

    async def cache_usage(self) -> int:
        """The bytes the agent's content cache holds."""
        return await self._call(self._do_cache_usage())

    async def clear_cache(self) -> int:
        """Empty the agent's content cache (admin tier); the bytes it holds after."""
        return await self._call(self._do_clear_cache())

    async def set_connection(self, setting: ConnectionSetting) -> None:
        """Make `setting` the agent's connection setting (admin tier; AgentError `forbidden`
        otherwise). This client then uses it too, rather than a connection of its own."""
        await self._call(self._do_set_connection(setting))

    # --- runs -----------------------------------------------------------------------

    async def _do_run(self, deployment_id: str, on_event: EventSink,
                  variables: Mapping[str, str] | None = None) -> RunResult:
        """Ask the agent to start the deployment and follow the run to its end. A refusal
        is reported as the engine reports it (a RunRefused event, a refused result); the
        agent's other refusals raise AgentError (`run_active`, `run_pending`, ...)."""
        try:
            run_id = await self.client.start_run(deployment_id, variables)
        except AgentError as exc:
            refusal = _refusal(exc.code) if exc.status == 409 else None
            if refusal is None:
                raise
            on_event(RunRefused(deployment_id, refusal.value, exc.message))
            return RunResult(RunOutcome.REFUSED, exc.message, refusal=refusal)
        return await self._do_follow(run_id, on_event)

    async def _do_resume(self, on_event: EventSink) -> RunResult:
        """Ask the agent to continue its saved run now, and follow it."""
        run_id, _after = await self.client.resume()
        return await self._do_follow(run_id, on_event)

    async def _do_attach(self, on_event: EventSink) -> RunResult | None:
        """Follow the agent's current run if one is under way or waits for its restart:
        every event from its first, then live. None: there is no such run."""
        summary = await self._current()
        if summary is None or not (summary["active"] or summary["status"] == RunStatus.RESTART_PENDING.value):
            return None
        return await self._do_follow(summary["run_id"], on_event)

    async def _do_cancel(self) -> bool:
        """Ask the agent to cancel the run under way; False: none was under way."""
        try:
            await self.client.cancel()
        except AgentError as exc:
            if exc.code == ErrorCode.NO_RUN:
                return False
            raise
        return True

    async def _do_current(self) -> RunSummary | None:
        """The agent's current (or last) run."""
        return await self._current()

    async def _current(self) -> RunSummary | None:
        while True:
            try:
                return await self.client.current()
            except AgentError as exc:
                if exc.code != AgentCode.AGENT_UNREACHABLE:
                    raise
                await self._do_reconnect()

    async def _do_follow(self, run_id: str, on_event: EventSink) -> RunResult:
        """The run's events after the last one this engine followed (all of them the first
        time) into `on_event`, until the stream ends after its `ts_finished`. A lost agent
        is waited for; the run's result comes from its last `ts_finished`."""
        result: RunResult | None = None
        while True:
            try:
                async for obj in self.client.events(run_id, after=self.last_seq.get(run_id, 0)):
                    seq = obj.get("seq")
                    if isinstance(seq, int):
                        self.last_seq[run_id] = seq
                    event = event_from_json(obj)
                    if event is None:
                        continue  # the agent's own (restart_failed) or a newer kind: see restart_state()
                    on_event(event)
                    if isinstance(event, RunStarted):
                        result = None
                    elif isinstance(event, RunFinished):
                        result = RunResult(RunOutcome(event.status), event.error, event.error_code,
                                           reason=event.reason)
            except AgentError as exc:
                if exc.code != AgentCode.AGENT_UNREACHABLE:
                    raise
                await self._do_reconnect()
                continue
            if result is not None:
                return result
            # The stream ended without the run's end: it is between two of its parts (a
            # restart, an agent that continues it). Ask where it stands, then follow again.
            summary = await self._current()
            if summary is None or summary["run_id"] != run_id:
                return RunResult(RunOutcome.FAILED, "the agent no longer has this run", reason=ErrorCode.NO_RUN)
            if not summary["active"] and summary["status"] in _ENDED and summary["last_seq"] <= self.last_seq.get(
                    run_id, 0):
                return RunResult(_ENDED[summary["status"]])
            await asyncio.sleep(self.reconnect_s)

    async def _do_reconnect(self) -> None:
        """Wait until an agent answers again (starting the user's agent when it may)."""
        self._link(False)
        while True:
            try:
                await ensure_agent(self.place, self._data_dir)
                self.status = await self.client.status()
                break
            except (AgentError, AgentStartError) as exc:
                log.info("The agent does not answer yet: %s", exc)
                await asyncio.sleep(self.reconnect_s)
        self._link(True)

    def _link(self, up: bool) -> None:
        if self.linked == up:
            return
        self.linked = up
        on_link, caller = self.on_link, self._caller
        if on_link is not None and caller is not None and not caller.is_closed():
            caller.call_soon_threadsafe(on_link, up)

    async def _do_restart_state(self, run_id: str | None = None) -> dict[str, Any] | None:
        """What the agent says of the restart it carries out for the run waiting for one:
        `{"mode", "countdown_s", "failed": {"code", "message"} | None}`; None when no run
        waits for a restart (or not `run_id`)."""
        summary = await self._current()
        if summary is None or (run_id is not None and summary["run_id"] != run_id):
            return None
        if summary["status"] != RunStatus.RESTART_PENDING.value:
            return None
        return summary.get("restart") or {"mode": None, "countdown_s": None, "failed": None}

    # --- history, cache, settings ---------------------------------------------------

    async def _do_history(self) -> tuple[list[HistoryEntry], RunState | None]:
        """The runs (oldest first), and where a run that did not finish stands."""
        body = await self.client.history()
        entries: list[HistoryEntry] = []
        names = {f.name for f in dataclasses.fields(HistoryEntry)}
        for obj in body.get("entries") or []:
            if isinstance(obj, dict):
                try:
                    entries.append(HistoryEntry(**{k: v for k, v in obj.items() if k in names}))
                except TypeError:
                    continue
        saved = body.get("saved")
        state: RunState | None = None
        if isinstance(saved, dict):
            try:
                fields = {k: v for k, v in saved.items() if k in _RUN_STATE_FIELDS}
                fields["status"] = RunStatus(str(fields.get("status")))
                state = RunState(**fields)
            except (TypeError, ValueError):
                state = None
        return entries, state

    async def _do_cache_usage(self) -> int:
        return await self.client.cache_usage()

    async def _do_clear_cache(self) -> int:
        """Empty the agent's content cache (admin tier); the bytes it holds after."""
        body = await self.client.clear_cache()
        usage = body.get("bytes")
        return usage if isinstance(usage, int) else 0

    async def _do_set_connection(self, setting: ConnectionSetting) -> None:
        """Make `setting` the agent's connection setting (admin tier; AgentError `forbidden`
        otherwise). This client then uses it too, rather than a connection of its own."""
        await self.client.change_settings({"connection": setting})
        if "connection" in self.profile:
            old = self.client
            self.profile = {k: v for k, v in self.profile.items() if k != "connection"}
            self.client = AgentClient(self.place.socket, profile=self.profile)
            await old.aclose()
        self.connection_setting = setting
        self.connection = None

