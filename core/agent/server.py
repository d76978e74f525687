"""The agent: one asyncio process that owns a data folder and its engine, and serves it
as HTTP+JSON over a Unix socket (aiohttp), under `/v1/`.

    GET  /v1/status                      the agent, its site and connection, the current run
    GET  /v1/deployments[?refresh=1]     the listings with their verdicts (as `list --json`)
    GET  /v1/catalog[?refresh=1]         the catalog as the agent read it (the exact bytes)
    POST /v1/runs                        {deployment, variables?, launch_mode?} -> {run_id}
    GET  /v1/runs/current                the current (or last) run: RunSummary
    GET  /v1/runs/{run_id}/events?after=SEQ
                                         application/x-ndjson: the run's events from after SEQ,
                                         then live until its `ts_finished`
    POST /v1/runs/current/cancel         ask the run under way to stop (saved; resumable)
    POST /v1/runs/current/resume         continue the saved run now
    POST /v1/runs/current/discard        forget a cancelled or failed run (its history stays)
    POST /v1/runs/current/restart        {"now": true} or {"snooze_minutes": N}: restart now,
                                         or postpone the restart the run waits for
    GET  /v1/settings                    the settings, the token only as set / not set
    POST /v1/settings                    {KEY: VALUE, ...}: change settings (root only)
    POST /v1/refresh                     read the catalog again now if it changed (a 304
                                         otherwise); the agent also does it every
                                         `poll_minutes` (core/agent/schedule.py)
    GET  /v1/history                     the run history, and where a saved run stands
    GET  /v1/cache                       how many bytes the content cache holds
    POST /v1/cache/clear                 empty the content cache (admin; not during a run)

A run that stops for a restart is continued by the agent: after a simulated restart (the
step's countdown) in user mode, or once the boot id has changed after the reboot command
(system mode, or a configured reboot command); see core/agent/restart.py. The person may
restart now, or postpone the restart by one of the `restart_snooze_minutes` delays; the
postponement is kept with the run pointer (an agent started meanwhile keeps it), and when
it ends the restart's countdown starts again.

One run at a time. The run is a task of the agent, not of the request that started it:
a client that goes away changes nothing. Every event of a run is appended to the run's
JSON Lines file (core/agent/eventlog.py) before followers see it, so a client that
attaches late, or after the agent restarted, replays it from the start.

When the agent starts and finds a run the last process did not finish (it died, or the
machine did), it continues it by itself, with the engine's resume: finished steps do not
run again and verified content is not fetched again. A SIGTERM or SIGINT while a run is
under way stops the agent as a crash would, so the next agent continues that run;
without a run it shuts down cleanly.

A request may carry a *profile* in the `Software-Center-Profile` header: a JSON object
with any of `site`, `connection`, `site_key`, `ca_bundle` and `token`, which replace the
agent's settings for that request (and for a run it starts, also when the run is
continued later). This is how `list --site URL --data-dir DIR` keeps its meaning through
the user's agent. Only the agent's own user and root may send one: the machine's agent
serves the site its admin set.

Who may do what is decided from the caller's uid (SO_PEERCRED): reading (status,
deployments, runs, events) is open to every caller that can reach the socket; starting a
run is for any identified user; cancelling, resuming or discarding a run is for the user
who started it, and for root (the admin tier), who may stop anyone's and alone changes
the settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import struct
import time
from collections.abc import Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from aiohttp import web

from ..center import SoftwareCenter
from ..cleanup import shielded
from ..cmtrace import CMTraceHandler, install_log, remove_log
from ..demo import demo_rate_bps
from ..eligibility import LaunchMode, Listing
from ..engine import TaskSequenceRunner
from ..errors import (
    AgentStartError,
    CatalogError,
    ErrorCode,
    RestartProblem,
    RunError,
    SettingError,
    SoftwareCenterError,
)
from ..events import Event, RestartPending, RunOutcome, RunResult, RunStarted, to_json
from ..fsutil import try_lock, unlock
from ..options import ConnectionSetting
from ..runstate import (
    HistoryEntry,
    RunLock,
    RunState,
    RunStatus,
    append_history,
    clear_state,
    load_history,
    load_state,
    state_dir,
)
from .deadlines import DeadlineKeeper
from .eventlog import (
    EventLog,
    RunPointer,
    is_run_id,
    last_seq_on_disk,
    load_pointer,
    prune,
    read_events,
    runs_dir,
    save_pointer,
)
from .notify import notify
from .precache import Precacher
from .protocol import API_PREFIX, PROFILE_HEADER, AgentCode, RunSummary, socket_path_problem
from .restart import read_boot_id, run_reboot_command
from .schedule import PolicyPoller
from .settings import (
    DEFAULT_NOTICE_MINUTES,
    DEFAULT_POLL_MINUTES,
    DEFAULT_PRECACHE_RATE_MBPS,
    DEFAULT_SNOOZE_MINUTES,
    SITE_KEYS,
    SettingsStore,
    parse_setting,
    public_settings,
)

__all__ = ["Agent", "ApiError"]

log = logging.getLogger("software_center.agent")

ROOT_UID = 0
_CONNECTIONS: dict[str, ConnectionSetting] = {"auto": "auto", "internet": "internet", "intranet": "intranet"}
_WAITING = (RunStatus.CANCELLED, RunStatus.RESTART_PENDING)
SYSTEM_REBOOT_COMMAND = ("systemctl", "reboot")


class ApiError(Exception):
    """An error answer: HTTP status, stable code, one English sentence, extra JSON fields."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = str(code)
        self.message = message
        self.extra = extra

    def response(self) -> web.Response:
        return web.json_response({"code": self.code, "message": self.message, **self.extra}, status=self.status)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def peer_uid(request: web.Request) -> int | None:
    """The calling process's uid, as the kernel reports it for the socket (None: unknown)."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return None
    try:
        _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    except OSError:
        return None
    return int(uid)


def describe_site_error(exc: SoftwareCenterError) -> str:
    """Why the site could not be opened, in the command line's words."""
    if isinstance(exc, CatalogError):
        return f"the site's catalog is invalid: {exc}"
    return str(exc)


def in_group(uid: int, group: str) -> bool:
    """Whether the user `uid` is a member of `group` (by name or number), as its primary
    group or a supplementary one. False for unknown users and groups."""
    import grp
    import pwd

    try:
        entry = grp.getgrgid(int(group)) if group.isdigit() else grp.getgrnam(group)
        user = pwd.getpwuid(uid)
    except (KeyError, ValueError, OverflowError):
        return False
    return user.pw_gid == entry.gr_gid or user.pw_name in entry.gr_mem


def activated_socket(environ: Mapping[str, str] | None = None) -> socket.socket | None:
    """The listening socket systemd passed (socket activation: `LISTEN_FDS`, `LISTEN_PID`,
    the first one at fd 3), or None."""
    env = os.environ if environ is None else environ
    try:
        if int(env.get("LISTEN_PID", "0")) != os.getpid() or int(env.get("LISTEN_FDS", "0")) < 1:
            return None
    except ValueError:
        return None
    if environ is None:  # not passed on to the step programs the agent starts
        for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
            os.environ.pop(name, None)
    sock = socket.socket(fileno=3)
    sock.setblocking(False)
    return sock


class Agent:
    """Serve one data folder's engine on `socket_path` until stopped (`serve()`)."""

    def __init__(
        self,
        data_dir: Path,
        socket_path: Path,
        *,
        site: str | None = None,
        connection: ConnectionSetting | None = None,
        exit_when_idle: float | None = None,
        socket_mode: int = 0o600,
        reboot_command: Sequence[str] | None = None,
        restart_countdown_s: float | None = None,
        restart_retry_s: float = 60.0,
        precache_delay_s: float = 60.0,
        mode: str = "user",
        settings_store: SettingsStore | None = None,
        log_file: Path | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.data_dir = Path(os.path.abspath(data_dir))
        self.socket_path = Path(os.path.abspath(socket_path))
        self.socket_mode = socket_mode
        self.exit_when_idle = exit_when_idle
        self.mode = mode
        self.log_file = log_file
        self.store = settings_store or SettingsStore(self.data_dir)
        try:
            settings = self.store.load()
        except (OSError, SettingError) as exc:
            raise AgentStartError(f"cannot read the settings: {exc}") from None
        given = {"site": site, "connection": connection, "restart_countdown_s": restart_countdown_s,
                 "reboot_command": list(reboot_command) if reboot_command else None}
        given.update(overrides or {})
        settings.update({k: v for k, v in given.items() if v is not None})
        self.settings: dict[str, Any] = settings
        self.center = self._make_center()
        self.site_error: dict[str, str] | None = None
        # Centers opened for requests with a profile (see the module's doc), by profile.
        self._centers: dict[str, SoftwareCenter] = {}
        self._run_center: SoftwareCenter | None = None  # the center the run under way uses
        self.seq = 0
        self.task: asyncio.Task[None] | None = None
        self.run_log: EventLog | None = None  # the log of the run being executed
        self.pointer: RunPointer | None = None
        self._starter: int | None = None  # uid that started (or owns) the run being launched
        self._first: asyncio.Future[str] | None = None
        self._lock_fd: int | None = None
        self._log_handler: CMTraceHandler | None = None
        self._runner: web.AppRunner | None = None
        self._stop = asyncio.Event()
        self._stop_signal: int | None = None
        self._requests = 0
        self._last_activity = time.monotonic()
        self._activated: socket.socket | None = None
        self.restart_retry_s = restart_retry_s
        self._countdown: float = 0  # the last restart step's countdown
        self._restart: asyncio.Task[None] | None = None  # carries out the restart of a waiting run
        self.restart_info: dict[str, Any] | None = None  # what that restart is doing (status shows it)
        self._launch_profile: dict[str, Any] = {}
        self._continued_after = 0  # a continued run's new events come after this seq
        # The policy refresh (core/agent/schedule.py): `version` counts the catalogs that
        # came into force for the agent's own site, so a client sees a new listing.
        self._said_bad: dict[str, str] = {}  # settings found invalid, by key: the value said
        self.policy: dict[str, Any] = {"version": 0, "checked_at": None, "changed_at": None, "error": None}
        self.poller = PolicyPoller(self.refresh_policy, self._poll_interval_s)
        self.precacher = Precacher(lambda: self.center if self.center.catalog is not None else None,
                                   self._running, self._precache_rate_bps,
                                   lambda: self.settings.get("precache_on_metered") is True,
                                   delay_s=precache_delay_s)
        self.deadlines = DeadlineKeeper(self.data_dir / "agent" / "schedule.json", self._listings_at, self._running,
                                        self._start_required, self._notice_s)

    # --- settings -------------------------------------------------------------------

    @property
    def reboot_command(self) -> list[str] | None:
        """The command that restarts the machine (None: a simulated restart)."""
        command = self.settings.get("reboot_command")
        if command:
            return list(command)
        return list(SYSTEM_REBOOT_COMMAND) if self.mode == "system" else None

    @property
    def restart_countdown_s(self) -> float | None:
        """The simulated restart's countdown (None: the restart step's own)."""
        value = self.settings.get("restart_countdown_s")
        return float(value) if isinstance(value, int | float) else None

    def _setting(self, key: str, default: Any) -> Any:
        """A setting as saved, or `default` when it is unset or (an options file edited by
        hand) not valid: said once per bad value, as some are read for every chunk."""
        value = self.settings.get(key)
        try:
            parsed = parse_setting(key, value)
        except SettingError as exc:
            if self._said_bad.get(key) != repr(value):
                self._said_bad[key] = repr(value)
                log.warning("%s; the default, %s, is used", exc, default)
            parsed = None
        return parsed if parsed is not None else default

    def _poll_interval_s(self) -> float:
        return 60.0 * float(self._setting("poll_minutes", DEFAULT_POLL_MINUTES))

    def _notice_s(self) -> float:
        return 60.0 * float(self._setting("notice_minutes", DEFAULT_NOTICE_MINUTES))

    def _listings_at(self, now: datetime) -> list[Listing] | None:
        if self.center.catalog is None:
            return None
        return self.center.listings(now=now, where=lambda d: d.purpose == "required" and d.deadline is not None)

    async def _start_required(self, dep_id: str) -> str:
        """A required deployment at its deadline: started by the agent itself (no caller,
        so only an admin may cancel it), from the site's catalog of now."""
        self._refuse_if_running()
        center = self.center
        verdict = center.verdict(dep_id)
        if verdict.refusal is not None:
            raise ApiError(409, verdict.refusal.value, verdict.message or "the deployment may not run here")
        runner = TaskSequenceRunner(center, self._sink)
        self._run_center = center
        return await self._launch(runner.run(dep_id, LaunchMode.SOFTWARE_CENTER, {}), None)

    def _precache_rate_bps(self) -> float:
        return float(self._setting("precache_rate_mbps", DEFAULT_PRECACHE_RATE_MBPS)) * 1_000_000 / 8

    @property
    def restart_snooze_minutes(self) -> list[int]:
        """The delays (minutes) a person may postpone a restart by."""
        return list(self._setting("restart_snooze_minutes", DEFAULT_SNOOZE_MINUTES))

    def _trust(self) -> dict[str, Any]:
        st = self.settings
        return {"site_key": st.get("site_key"), "ca_bundle": st.get("ca_bundle"), "token": st.get("token")}

    def _make_center(self, profile: Mapping[str, Any] | None = None) -> SoftwareCenter:
        st = {**self.settings, **(profile or {})}
        connection = _CONNECTIONS.get(str(st.get("connection")))
        return SoftwareCenter(self.data_dir, site=st.get("site"), connection=connection,
                              site_key=st.get("site_key"), ca_bundle=st.get("ca_bundle"), token=st.get("token"),
                              demo_rate_bps=demo_rate_bps())

    def _profile(self, request: web.Request) -> dict[str, Any]:
        """The request's profile (see the module's doc): {} when it has none."""
        raw = request.headers.get(PROFILE_HEADER)
        if raw is None or not raw.strip():
            return {}
        try:
            given = json.loads(raw)
        except ValueError:
            raise ApiError(400, AgentCode.BAD_REQUEST, f"{PROFILE_HEADER}: expected a JSON object") from None
        if not isinstance(given, dict):
            raise ApiError(400, AgentCode.BAD_REQUEST, f"{PROFILE_HEADER}: expected a JSON object")
        profile: dict[str, Any] = {}
        for key, value in given.items():
            if key not in SITE_KEYS:
                raise ApiError(400, AgentCode.BAD_REQUEST,
                               f"{PROFILE_HEADER}: {key!r} is not one of {', '.join(sorted(SITE_KEYS))}")
            try:
                parsed = parse_setting(str(key), value)
            except SettingError as exc:
                raise ApiError(400, AgentCode.BAD_REQUEST, str(exc)) from None
            if parsed is not None:
                profile[key] = parsed
        if profile:
            uid = peer_uid(request)
            if uid not in (ROOT_UID, os.getuid()):
                raise ApiError(403, AgentCode.FORBIDDEN,
                               "this agent serves the site and trust settings its admin chose; --site, "
                               "--connection, --site-key, --ca-bundle and a token are for your own agent "
                               "(give --data-dir)")
        return profile

    async def _center_for(self, profile: Mapping[str, Any], *, refresh: bool = False) -> SoftwareCenter:
        """An open center for the profile: the agent's own when the profile changes nothing.
        `refresh`: read its catalog again first (as a command did each time it ran), unless
        a run under way uses it; a catalog that fails to load leaves the last good one."""
        effective = {k: {**self.settings, **profile}.get(k) for k in sorted(SITE_KEYS)}
        if not profile or effective == {k: self.settings.get(k) for k in sorted(SITE_KEYS)}:
            fresh = self.center.catalog is None
            await self._need_site()
            if refresh and not fresh:
                await self._reload(self.center)
            return self.center
        key = json.dumps(effective, sort_keys=True)
        center = self._centers.get(key)
        if center is not None and center.catalog is not None:
            if refresh:
                await self._reload(center)
            return center
        center = self._make_center(profile)
        try:
            await center.open()
        except SoftwareCenterError as exc:
            await center.aclose()
            raise ApiError(503, exc.code, describe_site_error(exc)) from None
        except OSError as exc:
            await center.aclose()
            raise ApiError(503, ErrorCode.DATA_FOLDER_UNWRITABLE,
                           f"cannot use the data folder {self.data_dir}: {exc.strerror or exc}") from None
        except BaseException:
            await center.aclose()
            raise
        while len(self._centers) >= 4:  # a few sites at a time; the oldest not in use goes
            old_key = next((k for k, c in self._centers.items() if c is not self._run_center), None)
            if old_key is None:
                break
            await self._centers.pop(old_key).aclose()
        self._centers[key] = center
        return center

    async def _reload(self, center: SoftwareCenter) -> bool:
        """Read `center`'s catalog again if it changed (True when a new one is in force).
        A catalog that fails to load or to verify leaves the last good one, and is an
        ApiError naming why."""
        if self._running() and center is self._run_center:
            return False  # the run reads this catalog: it stays as the run started with it
        own = center is self.center
        try:
            changed = await center.refresh()
        except SoftwareCenterError as exc:
            if own:
                self.policy.update(checked_at=_now_iso(), error={"code": exc.code.value,
                                                                  "message": describe_site_error(exc)})
            raise ApiError(503, exc.code, describe_site_error(exc)) from None
        if own:
            self.policy.update(checked_at=_now_iso(), error=None)
            if changed:
                self._policy_changed()
        return changed

    def _policy_changed(self) -> None:
        self.policy.update(version=self.policy["version"] + 1, changed_at=self.policy["checked_at"] or _now_iso())
        self.precacher.wake(settle=True)
        self.deadlines.wake()
        assert self.center.catalog is not None
        log.info("A new catalog is in force: %d deployments", len(self.center.catalog.deployments))

    async def refresh_policy(self) -> bool:
        """The periodic policy refresh: the agent's own site's catalog read again if it
        changed. A site that is not open yet is opened when one is set (the embedded demo
        site is built on first use, not for this). Failures are logged and shown in
        /v1/status (`policy.error`); the last good catalog stays in force."""
        if self.center.catalog is None:
            if not self.settings.get("site"):
                return False
            await self._open_site()
            self.policy["checked_at"] = _now_iso()
            if self.center.catalog is None:
                self.policy["error"] = self.site_error
                return False
            self.policy["error"] = None
            self._policy_changed()
            return True
        try:
            return await self._reload(self.center)
        except ApiError as exc:
            log.warning("The catalog could not be read again; the last good one stays in force: %s", exc.message)
            return False

    async def _refresh(self, request: web.Request) -> web.Response:
        center = await self._center_for(self._profile(request))
        in_use = self._running() and center is self._run_center
        changed = await self._reload(center)
        assert center.catalog is not None
        return web.json_response({"changed": changed, "in_use_by_run": in_use,
                                  "deployments": len(center.catalog.deployments),
                                  "policy": self.policy if center is self.center else None})

    async def _get_settings(self, request: web.Request) -> web.Response:
        return web.json_response(public_settings(self.settings))

    async def _change_settings(self, request: web.Request) -> web.Response:
        uid = self._user(request, "change the agent's settings")
        if not self._is_admin(uid):
            raise ApiError(403, AgentCode.FORBIDDEN, "to change the agent's settings you must be root"
                           + (f" (or in the group {self.settings['admin_group']})" if self.settings.get("admin_group")
                              else ""))
        body = await _json_body(request)
        if "admin_group" in body and uid != ROOT_UID and self.mode == "system":
            raise ApiError(403, AgentCode.FORBIDDEN, "only root may change admin_group")
        if not body:
            raise ApiError(400, AgentCode.BAD_REQUEST, "expected an object of settings to change")
        changed: dict[str, Any] = {}
        for key, value in body.items():
            try:
                changed[key] = parse_setting(str(key), value)
            except SettingError as exc:
                raise ApiError(400, AgentCode.BAD_REQUEST, str(exc)) from None
        reopen = any(k in SITE_KEYS and changed[k] != self.settings.get(k) for k in changed)
        if reopen:
            self._refuse_if_running()
        settings = {**self.settings, **changed}
        try:
            self.store.save(settings)
        except OSError as exc:
            raise ApiError(500, ErrorCode.DATA_FOLDER_UNWRITABLE,
                           f"cannot save the settings: {exc.strerror or exc}") from None
        self.settings = settings
        if settings.get("token") and self._log_handler is not None:
            self._log_handler.add_secret(str(settings["token"]))
        log.info("The settings %s were changed (uid %s)", ", ".join(sorted(changed)), uid)
        if reopen:
            old = self.center
            self.center = self._make_center()
            await old.aclose()
            await self._open_site()
            if self.center.catalog is not None:
                self.policy["checked_at"] = _now_iso()
                self._policy_changed()
        if "poll_minutes" in changed:
            self.poller.reschedule()
        if reopen or "precache_on_metered" in changed:
            self.precacher.wake()
        if reopen or "notice_minutes" in changed:
            self.deadlines.wake()
        return web.json_response(public_settings(self.settings))

    # --- life -----------------------------------------------------------------------

    async def serve(self) -> int:
        """Start, tell systemd (if it asked), serve until a signal or idleness; the exit code."""
        try:
            await self.start()
        except BaseException:
            await self._close()
            raise
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._signalled, sig)
        try:
            notify("READY=1")
        except OSError as exc:
            log.warning("The service manager could not be told that the agent is ready: %s", exc)
        idle = asyncio.ensure_future(self._idle_watch()) if self.exit_when_idle is not None else None
        poll = asyncio.ensure_future(self.poller.run(at_once=False))  # start() read the catalog
        precache = asyncio.ensure_future(self.precacher.run())
        deadlines = asyncio.ensure_future(self.deadlines.run())
        try:
            await self._stop.wait()
        finally:
            for task in (poll, precache, deadlines):
                task.cancel()
            await asyncio.wait({poll, precache, deadlines})  # no download of its writes after this
            if idle is not None:
                idle.cancel()
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
        if self._running():
            self._die_with_run()
        await self._close()
        return 0

    async def start(self) -> None:
        """Take the data folder, open the site, listen, and continue an interrupted run."""
        if (problem := socket_path_problem(self.socket_path)) is not None:
            raise AgentStartError(problem)
        agent_dir = self.data_dir / "agent"
        try:
            agent_dir.mkdir(parents=True, exist_ok=True)
            self._lock_fd = try_lock(agent_dir / "agent.lock")
        except OSError as exc:
            raise AgentStartError(f"cannot use the data folder {self.data_dir}: {exc.strerror or exc}") from None
        if self._lock_fd is None:
            raise AgentStartError(f"another agent, or a --standalone command, already uses the data folder "
                                  f"{self.data_dir}")
        try:
            self._log_handler = install_log(self.data_dir, self.log_file)
            if self.settings.get("token"):
                self._log_handler.add_secret(str(self.settings["token"]))
        except OSError as exc:
            raise AgentStartError(f"cannot write the log in {self.data_dir}: {exc.strerror or exc}") from None
        self._activated = activated_socket()
        if self._activated is None:
            self._prepare_socket_path()
        self.seq = last_seq_on_disk(self.data_dir)
        self.pointer = load_pointer(self.data_dir)
        if self.settings.get("site"):
            # The embedded demo site (no site set) is built and served on first use: an
            # agent a client started for its own site never builds it.
            await self._open_site()
        app = web.Application(middlewares=[self._middleware])
        p = API_PREFIX
        app.router.add_get(f"{p}/status", self._status)
        app.router.add_get(f"{p}/deployments", self._deployments)
        app.router.add_get(f"{p}/catalog", self._catalog)
        app.router.add_post(f"{p}/runs", self._start_run)
        app.router.add_get(f"{p}/settings", self._get_settings)
        app.router.add_post(f"{p}/settings", self._change_settings)
        app.router.add_post(f"{p}/refresh", self._refresh)
        app.router.add_get(f"{p}/runs/current", self._current)
        app.router.add_post(f"{p}/runs/current/cancel", self._cancel)
        app.router.add_post(f"{p}/runs/current/resume", self._resume)
        app.router.add_post(f"{p}/runs/current/discard", self._discard)
        app.router.add_post(f"{p}/runs/current/restart", self._restart_request)
        app.router.add_get(p + "/runs/{run_id}/events", self._events)
        app.router.add_get(f"{p}/history", self._history)
        app.router.add_get(f"{p}/cache", self._cache)
        app.router.add_post(f"{p}/cache/clear", self._clear_cache)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site: web.BaseSite
        if self._activated is not None:  # systemd's socket unit listens for us (its mode is the unit's)
            site = web.SockSite(self._runner, self._activated, shutdown_timeout=1.0)
        else:
            site = web.UnixSite(self._runner, str(self.socket_path), shutdown_timeout=1.0)
        try:
            await site.start()
            if self._activated is None:
                os.chmod(self.socket_path, self.socket_mode)
        except OSError as exc:
            raise AgentStartError(f"cannot listen on {self.socket_path}: {exc.strerror or exc}") from None
        log.info("The agent serves %s on %s", self.data_dir, self.socket_path)
        await self._continue_interrupted()

    def stop(self) -> None:
        self._stop.set()

    def _signalled(self, sig: int) -> None:
        self._stop_signal = sig
        self._stop.set()

    def _prepare_socket_path(self) -> None:
        path = self.socket_path
        try:
            if not path.parent.is_dir():
                path.parent.mkdir(mode=0o700, parents=True)
            owner = path.parent.stat().st_uid
            if owner not in (os.getuid(), ROOT_UID):
                raise AgentStartError(f"the socket's folder {path.parent} belongs to another user (uid {owner})")
            if path.exists() or path.is_symlink():
                probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    probe.connect(str(path))
                except OSError:
                    path.unlink()  # left by an agent that died
                else:
                    raise AgentStartError(f"another agent already answers at {path}")
                finally:
                    probe.close()
        except OSError as exc:
            raise AgentStartError(f"cannot use the socket path {path}: {exc.strerror or exc}") from None

    async def _open_site(self) -> None:
        try:
            await self.center.open()
            self.site_error = None
            self.precacher.wake(settle=True)
            self.deadlines.wake()
        except SoftwareCenterError as exc:
            self.site_error = {"code": exc.code.value, "message": describe_site_error(exc)}
            log.warning("The site cannot be opened: %s", exc)
        except OSError as exc:
            self.site_error = {"code": ErrorCode.DATA_FOLDER_UNWRITABLE.value,
                               "message": f"cannot use the data folder {self.data_dir}: {exc.strerror or exc}"}
            log.warning("The site cannot be opened: %s", exc)

    async def _idle_watch(self) -> None:
        assert self.exit_when_idle is not None
        limit = self.exit_when_idle
        while True:
            await asyncio.sleep(min(1.0, max(limit / 4, 0.05)))
            now = time.monotonic()
            if self._running() or self._requests > 0 or self._restarting():
                self._last_activity = now
            elif now - self._last_activity >= limit:
                log.info("The agent was idle for %s s; it stops", limit)
                self._stop.set()
                return

    def _die_with_run(self) -> NoReturn:
        """Stopped by a signal during a run: leave the run as a crash would (the next agent
        continues it), rather than cancel it. The step's program outlives us in its host."""
        log.warning("The agent stops during the run %s; the next agent continues it",
                    self.run_log.run_id if self.run_log else "")
        if self.run_log is not None:
            self.run_log.close()
        if self._activated is None:
            with contextlib.suppress(OSError):
                self.socket_path.unlink()
        logging.shutdown()
        os._exit(0)

    async def _close(self) -> None:
        if self._restart is not None:
            self._restart.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._restart
            self._restart = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            if self._activated is None:  # a socket unit's socket stays: systemd owns it
                with contextlib.suppress(OSError):
                    self.socket_path.unlink()
        await self.center.aclose()
        for center in self._centers.values():
            await center.aclose()
        self._centers.clear()
        if self._log_handler is not None:
            remove_log(self._log_handler)
            self._log_handler = None
        if self._lock_fd is not None:
            unlock(self._lock_fd)
            self._lock_fd = None

    # --- runs -----------------------------------------------------------------------

    def _running(self) -> bool:
        return self.task is not None and not self.task.done()

    def _sink(self, event: Event) -> None:
        """Every event of the engine: numbered, appended to its run's file, handed to followers."""
        run_id = event.run_id
        if run_id is None:
            return  # a refusal starts no run; the request that asked answers it
        run_log = self.run_log
        if run_log is None or run_log.run_id != run_id:
            if run_log is not None:
                run_log.close()
            run_log = self.run_log = EventLog(self.data_dir, run_id)
            started = event if isinstance(event, RunStarted) else None
            self._run_known(run_id, started.deployment if started else "", started.name if started else "")
        if isinstance(event, RestartPending):
            self._countdown = event.countdown_s
        self.seq += 1
        try:
            run_log.append(self.seq, to_json(event))
        except OSError as exc:
            log.warning("An event of the run %s could not be kept: %s", run_id, exc)
        first = self._first
        if first is not None and not first.done():
            first.set_result(run_id)

    def _run_known(self, run_id: str, deployment: str, name: str) -> None:
        """The run being launched is `run_id`: the agent's current run from now on."""
        previous = self.pointer if self.pointer and self.pointer.get("run_id") == run_id else {}
        pointer: RunPointer = {
            "run_id": run_id,
            "deployment": deployment or previous.get("deployment", ""),
            "name": name or previous.get("name", ""),
            "started_by": self._starter,
        }
        pointer["continued_after"] = self._continued_after
        if self._launch_profile:  # the run's trust, for continuing it (the file is the agent's own)
            pointer["profile"] = dict(self._launch_profile)
        self.pointer = pointer
        try:
            save_pointer(self.data_dir, pointer)
        except OSError as exc:
            log.warning("The agent's run pointer could not be saved: %s", exc)
        prune(self.data_dir)

    async def _launch(self, call: Coroutine[Any, Any, RunResult], started_by: int | None,
                      own_center: SoftwareCenter | None = None, saved: RunState | None = None,
                      profile: Mapping[str, Any] | None = None) -> str:
        """Run `call` as the agent's task; the run's id once its first event is out.

        `saved`: the run being resumed, followed live from now on (a client attaching
        before its first new event must not see a finished replay)."""
        first: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        first.add_done_callback(lambda f: f.cancelled() or f.exception())  # always retrieved
        self._first = first
        self._starter = started_by
        self._launch_profile = {k: v for k, v in (profile or {}).items() if k not in ("site", "connection")}
        self._continued_after = self.seq if saved is not None else 0  # 0: a run from its start
        if saved is not None:
            self.run_log = EventLog(self.data_dir, saved.run_id)
            self._run_known(saved.run_id, saved.deployment, saved.name)
        await self.precacher.pause()  # the run's own downloads go first
        task = asyncio.ensure_future(self._execute(call, first, own_center))
        self.task = task
        task.add_done_callback(self._run_done)
        waiting: list[asyncio.Future[Any]] = [first, task]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if not first.done():
            first.set_exception(ApiError(500, AgentCode.INTERNAL, "the run ended before it started"))
        return first.result()

    async def _execute(self, call: Coroutine[Any, Any, RunResult], first: asyncio.Future[str],
                       own_center: SoftwareCenter | None) -> None:
        def refuse(error: ApiError) -> None:
            if not first.done():
                first.set_exception(error)
            else:
                log.error("The run stopped: %s", error.message)

        try:
            result = await call
            if result.status is RunOutcome.SUCCEEDED and self.pointer is not None:
                self.deadlines.succeeded(str(self.pointer.get("deployment") or ""))
            if result.status is RunOutcome.RESTART_PENDING and self.run_log is not None:
                self._restart_pending(self.run_log.run_id, asyncio.current_task())
            if result.status is RunOutcome.REFUSED:
                refuse(ApiError(409, result.refusal.value if result.refusal else AgentCode.FORBIDDEN,
                                result.error or "the deployment may not run here", refusal=True))
        except RunError as exc:
            refuse(ApiError(409, exc.code, str(exc)))
        except OSError as exc:
            refuse(ApiError(500, ErrorCode.DATA_FOLDER_UNWRITABLE,
                            f"cannot write the run state in {self.data_dir}: {exc.strerror or exc}"))
        except SoftwareCenterError as exc:
            refuse(ApiError(409, exc.code, str(exc)))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: said once, the agent goes on
            log.exception("The run failed unexpectedly")
            refuse(ApiError(500, AgentCode.INTERNAL, f"unexpected error ({type(exc).__name__}: {exc})"))
        finally:
            if own_center is not None:
                await shielded(own_center.aclose())

    def _run_done(self, task: asyncio.Task[None]) -> None:
        if self.task is task:
            self.task = None
            self._run_center = None
            self.precacher.release()
            self.deadlines.wake()
        if self.run_log is not None:
            self.run_log.close()
            self.run_log = None
        self._last_activity = time.monotonic()

    async def _resume_saved(self, state: RunState, started_by: int | None,
                            profile: Mapping[str, Any] | None = None) -> str:
        """Continue the saved run with the catalog it started with, as `resume` does."""
        connection = _CONNECTIONS.get(state.connection_setting)
        if connection is None:
            raise ApiError(409, ErrorCode.RUN_STATE_DAMAGED,
                           f"the saved run has an unknown connection_setting {state.connection_setting!r}")
        try:
            catalog_bytes = (state_dir(self.data_dir) / "catalog.json").read_bytes()
        except OSError as exc:
            raise ApiError(409, ErrorCode.RUN_STATE_DAMAGED,
                           f"the saved catalog of the run cannot be read: {exc.strerror or exc}") from None
        saved = (self.pointer or {}).get("profile") if (self.pointer or {}).get("run_id") == state.run_id else None
        profile = {**(saved if isinstance(saved, dict) else {}), **(profile or {})}
        profile.update({"site": state.site, "connection": connection})
        center = self._make_center(profile)
        try:
            await center.open(catalog_bytes)
        except SoftwareCenterError as exc:
            await center.aclose()
            raise ApiError(409, exc.code, str(exc)) from None
        except BaseException:
            await center.aclose()
            raise
        runner = TaskSequenceRunner(center, self._sink)
        return await self._launch(runner.resume(), started_by, center, state, profile)

    def _owner(self, run_id: str | None) -> int | None:
        pointer = self.pointer
        if pointer is not None and pointer.get("run_id") == run_id:
            owner = pointer.get("started_by")
            return owner if isinstance(owner, int) else None
        return None

    async def _continue_interrupted(self) -> None:
        """A run the last agent (or a crashed command) left unfinished continues now."""
        try:
            state = load_state(self.data_dir)
        except RunError as exc:
            log.warning("The saved run cannot be continued: %s", exc)
            return
        if state is not None and state.status is RunStatus.RESTART_PENDING:
            self._restart_pending(state.run_id, None, at_start=True)
            return
        if state is None or state.status in _WAITING:
            return  # nothing, or a run that waits for the user's resume
        log.info("Continuing the interrupted run %s of %s", state.run_id, state.deployment)
        try:
            await self._resume_saved(state, self._owner(state.run_id))
        except ApiError as exc:
            log.warning("The interrupted run cannot be continued: %s", exc.message)

    # --- restarts --------------------------------------------------------------------

    def _restarting(self) -> bool:
        return self._restart is not None and not self._restart.done()

    def _restart_pending(self, run_id: str, run_task: asyncio.Task[Any] | None, *, at_start: bool = False) -> None:
        """The run stopped for a restart: carry it out (a simulated one, or the reboot
        command), then continue the run. The boot id at the restart is saved with the run,
        so an agent started after the reboot knows the reboot happened."""
        pointer = dict(self.pointer or {})
        if pointer.get("run_id") == run_id:
            if not at_start or "restart_boot_id" not in pointer:
                pointer["restart_boot_id"] = read_boot_id()
            if not at_start:
                pointer["restart_countdown_s"] = self._countdown
                pointer.pop("restart_snoozed_until", None)  # a new restart: not postponed yet
            self.pointer = pointer
            try:
                save_pointer(self.data_dir, pointer)
            except OSError as exc:
                log.warning("The boot id at the restart could not be saved: %s", exc)
        if self._restart is not None:
            self._restart.cancel()
        self._restart = asyncio.ensure_future(self._carry_out_restart(run_id, run_task, pointer))

    def _restart_state(self, mode: str, countdown: float | None, *, snoozed_until: float | None = None,
                       ends: float | None = None) -> dict[str, Any]:
        """What status and runs/current say of the restart (see RunSummary)."""
        return {"mode": mode, "countdown_s": countdown, "failed": None,
                "countdown_ends": _iso(ends) if ends is not None else None,
                "snoozed_until": _iso(snoozed_until) if snoozed_until is not None else None,
                "snooze_minutes": self.restart_snooze_minutes}

    async def _carry_out_restart(self, run_id: str, run_task: asyncio.Task[Any] | None,
                                 pointer: RunPointer, *, now: bool = False) -> None:
        if run_task is not None:
            await asyncio.wait([run_task])  # the run's task ends first (it reported the restart)
        try:
            mode = "simulated" if self.reboot_command is None else "reboot"
            snoozed = pointer.get("restart_snoozed_until")
            if not now and isinstance(snoozed, int | float) and snoozed > time.time():
                self.restart_info = self._restart_state(mode, None, snoozed_until=float(snoozed))
                log.info("The restart for the run %s is postponed until %s", run_id, _iso(float(snoozed)))
                await asyncio.sleep(float(snoozed) - time.time())
                self._forget_snooze(run_id)  # over: the countdown starts again
            if self.reboot_command is None:
                countdown = self.restart_countdown_s
                if countdown is None:
                    saved = pointer.get("restart_countdown_s", 0)
                    countdown = float(saved) if isinstance(saved, int | float) else 0.0
                if now:
                    countdown = 0.0
                self.restart_info = self._restart_state(mode, countdown, ends=time.time() + countdown)
                log.info("A simulated restart: the run %s continues in %s s", run_id, countdown)
                await asyncio.sleep(countdown)
            else:
                self.restart_info = self._restart_state(mode, None)
                await self._reboot(run_id, pointer.get("restart_boot_id"))
            self.restart_info = None
            await self._continue_restarted(run_id)
        finally:
            if self._restart is asyncio.current_task():
                self.restart_info = None

    def _forget_snooze(self, run_id: str) -> None:
        pointer = self.pointer
        if pointer is not None and pointer.get("run_id") == run_id and "restart_snoozed_until" in pointer:
            pointer.pop("restart_snoozed_until")
            try:
                save_pointer(self.data_dir, pointer)
            except OSError as exc:
                log.warning("The agent's run pointer could not be saved: %s", exc)

    async def _reboot(self, run_id: str, boot_at_restart: Any) -> None:
        """Run the reboot command (again after a delay when it fails) until the boot id
        differs from the one at the restart."""
        assert self.reboot_command is not None and self.restart_info is not None
        info = self.restart_info
        while True:
            boot = read_boot_id()
            if isinstance(boot_at_restart, str) and boot is not None and boot != boot_at_restart:
                log.info("The machine has restarted (boot id %s): the run %s continues", boot, run_id)
                return
            wait = 1.0
            if not info.get("asked"):
                log.info("Restarting the computer for the run %s: %s", run_id, " ".join(self.reboot_command))
                try:
                    await run_reboot_command(self.reboot_command)
                except RestartProblem as exc:
                    log.error("The computer could not be restarted: %s; trying again in %s s",
                              exc.message, self.restart_retry_s)
                    info["failed"] = {"code": exc.code.value, "message": exc.message}
                    self._run_event(run_id, {"event": "restart_failed", "code": exc.code.value,
                                             "message": exc.message, "retry_s": self.restart_retry_s})
                    wait = self.restart_retry_s
                else:
                    info["failed"] = None
                    info["asked"] = True  # the machine is going down: wait for the next boot
            await asyncio.sleep(wait)

    def _run_event(self, run_id: str, obj: dict[str, Any]) -> None:
        """An event of the agent's own about a run that is not being executed (kept with it)."""
        self.seq += 1
        run_log = self.run_log if self.run_log is not None and self.run_log.run_id == run_id else None
        own = run_log is None
        if run_log is None:
            run_log = EventLog(self.data_dir, run_id)
        try:
            run_log.append(self.seq, {"event": obj["event"], "run_id": run_id,
                                      **{k: v for k, v in obj.items() if k != "event"}})
        except OSError as exc:
            log.warning("An event of the run %s could not be kept: %s", run_id, exc)
        finally:
            if own:
                run_log.close()

    async def _continue_restarted(self, run_id: str) -> None:
        if self._running():
            return
        try:
            state = load_state(self.data_dir)
        except RunError as exc:
            log.warning("The run cannot be continued after the restart: %s", exc)
            return
        if state is None or state.run_id != run_id or state.status is not RunStatus.RESTART_PENDING:
            return  # resumed or discarded meanwhile
        try:
            await self._resume_saved(state, self._owner(run_id))
        except ApiError as exc:
            log.warning("The run cannot be continued after the restart: %s", exc.message)

    # --- tiers ----------------------------------------------------------------------

    @staticmethod
    def _user(request: web.Request, what: str) -> int:
        uid = peer_uid(request)
        if uid is None:
            raise ApiError(403, AgentCode.FORBIDDEN, f"to {what} the agent must know your user, "
                                                     "and this connection does not say it")
        return uid

    def _is_admin(self, uid: int) -> bool:
        """The admin tier: root; the members of the `admin_group` setting; and, for a user's
        own agent, that user (its settings are the user's options)."""
        if uid == ROOT_UID or (self.mode != "system" and uid == os.getuid()):
            return True
        group = self.settings.get("admin_group")
        return bool(group) and in_group(uid, str(group))

    def _may_control(self, uid: int, run_id: str | None, what: str) -> None:
        """User tier over a run: the user who started it; admin tier: root and the admin group."""
        if self._is_admin(uid):
            return
        owner = self._owner(run_id)
        if owner is None:
            owner = os.getuid()  # a run of unknown origin belongs to the agent's own user
        if uid != owner:
            raise ApiError(403, AgentCode.FORBIDDEN,
                           f"to {what} this run you must be the user who started it (uid {owner}) or root"
                           + (f" (or in the group {self.settings['admin_group']})" if self.settings.get("admin_group")
                              else ""))

    # --- HTTP -----------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self._requests += 1
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except ApiError as exc:
            return exc.response()
        except web.HTTPException as exc:
            code = AgentCode.NOT_FOUND if exc.status in (404, 405) else AgentCode.BAD_REQUEST
            return ApiError(exc.status, code,
                            f"{request.method} {request.path} is not part of the agent's API").response()
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.exception("The agent failed to answer %s %s", request.method, request.path)
            return ApiError(500, AgentCode.INTERNAL, f"unexpected error ({type(exc).__name__}: {exc})").response()
        finally:
            self._requests -= 1
            self._last_activity = time.monotonic()

    def _summary(self) -> RunSummary | None:
        pointer = self.pointer
        if pointer is None:
            return None
        run_id = str(pointer["run_id"])
        active = self._running() and self.run_log is not None and self.run_log.run_id == run_id
        run_log = self.run_log if active and self.run_log is not None else EventLog(self.data_dir, run_id)
        if active:
            status = RunStatus.RUNNING.value
        else:
            try:
                state = load_state(self.data_dir)
            except RunError:
                state = None
            if state is not None and state.run_id == run_id:
                status = state.status.value
            elif run_log.last_event is not None and run_log.last_event.get("event") == "ts_finished":
                status = str(run_log.last_event.get("status"))
            else:
                status = "unknown"
        return {
            "run_id": run_id,
            "deployment": str(pointer.get("deployment", "")),
            "name": str(pointer.get("name", "")),
            "status": status,
            "active": active,
            "last_seq": run_log.last_seq,
            "started_by": self._owner(run_id),
            "continued_after": int(pointer.get("continued_after") or 0),
            "restart": self.restart_info if status == RunStatus.RESTART_PENDING.value and self.restart_info else None,
        }

    def _saved(self, run_id: str) -> bool:
        """The run's state is still kept (it waits, or was interrupted): not finished nor discarded."""
        try:
            state = load_state(self.data_dir)
        except RunError:
            return False
        return state is not None and state.run_id == run_id and state.status in (*_WAITING, RunStatus.RUNNING)

    async def _status(self, request: web.Request) -> web.Response:
        summary = self._summary()
        current = summary if summary is not None and (summary["active"] or self._saved(summary["run_id"])) else None
        profile = self._profile(request)
        c: SoftwareCenter | None = self.center
        site_error = self.site_error
        if profile:
            try:
                c = await self._center_for(profile)
                site_error = None
            except ApiError as exc:
                c, site_error = None, {"code": exc.code, "message": exc.message}
        wanted = {**self.settings, **profile}
        return web.json_response({
            "mode": self.mode,
            "pid": os.getpid(),
            "data_dir": str(self.data_dir),
            "socket": str(self.socket_path),
            "site": c.site_setting if c is not None else wanted.get("site"),
            "site_url": c.site_url if c is not None else None,
            "site_error": site_error,
            "organization": c.catalog.site.organization if c is not None and c.catalog is not None else None,
            "catalog_signed": c.catalog_signed if c is not None else None,
            "connection": c.connection if c is not None else None,
            "connection_setting": c.connection_setting if c is not None else wanted.get("connection") or "auto",
            "run": current,
            "policy": self.policy,
            "precache": self.precacher.state,
            "schedule": self.deadlines.schedule,
        })

    async def _need_site(self) -> None:
        if self.center.catalog is None:
            await self._open_site()  # it may answer now
        if self.center.catalog is None:
            err = self.site_error or {"code": AgentCode.SITE_NOT_OPEN.value, "message": "the site is not open"}
            raise ApiError(503, err["code"], err["message"])

    async def _deployments(self, request: web.Request) -> web.Response:
        center = await self._center_for(self._profile(request), refresh=request.query.get("refresh") == "1")
        listings = center.listings()
        return web.json_response([
            item.as_row() for item in listings
        ])

    async def _catalog(self, request: web.Request) -> web.Response:
        center = await self._center_for(self._profile(request), refresh=request.query.get("refresh") == "1")
        return web.Response(body=center.catalog_bytes, content_type="application/json",
                            headers={"Software-Center-Site-Url": center.site_url or "",
                                     "Software-Center-Connection": center.connection or "",
                                     "Software-Center-Signed": json.dumps(center.catalog_signed)})

    async def _start_run(self, request: web.Request) -> web.Response:
        uid = self._user(request, "start a run")
        profile = self._profile(request)
        body = await _json_body(request)
        dep_id = body.get("deployment")
        if not isinstance(dep_id, str) or not dep_id.strip():
            raise ApiError(400, AgentCode.BAD_REQUEST, "deployment: expected a deployment ID (text)")
        variables = body.get("variables")
        if variables is None:
            variables = {}
        if not isinstance(variables, dict):
            raise ApiError(400, AgentCode.BAD_REQUEST, "variables: expected an object of names and text values")
        for name, value in variables.items():
            if not isinstance(value, str) or not name.strip():
                raise ApiError(400, AgentCode.BAD_REQUEST, f"variables.{name}: expected a name and a text value")
        mode_value = body.get("launch_mode", LaunchMode.SOFTWARE_CENTER.value)
        modes = [m.value for m in LaunchMode]
        if mode_value not in modes:
            raise ApiError(400, AgentCode.BAD_REQUEST, f"launch_mode: expected one of {', '.join(modes)}")
        mode = LaunchMode(mode_value)
        self._refuse_if_running()
        center = await self._center_for(profile, refresh=True)  # a run starts from the site's catalog of now
        verdict = center.verdict(dep_id, mode)
        if verdict.refusal is not None:
            raise ApiError(409, verdict.refusal.value, verdict.message or "the deployment may not run here",
                           deployment=dep_id, refusal=True)
        self._refuse_if_running()  # checked again: nothing may start between this and the launch
        runner = TaskSequenceRunner(center, self._sink)
        self._run_center = center
        run_id = await self._launch(runner.run(dep_id, mode, variables), uid, profile=profile)
        return web.json_response({"run_id": run_id}, status=202)

    def _refuse_if_running(self) -> None:
        if self._running():
            p = self.pointer or {}
            what = f"the run of {p.get('deployment')} ({p.get('name')})" if p.get("run_id") else "a run"
            raise ApiError(409, AgentCode.RUN_ACTIVE, f"{what} is under way: watch it, or cancel it first",
                           run_id=p.get("run_id"))

    async def _current(self, request: web.Request) -> web.Response:
        summary = self._summary()
        if summary is None:
            raise ApiError(404, ErrorCode.NO_RUN, "the agent has run nothing yet")
        return web.json_response(summary)

    async def _cancel(self, request: web.Request) -> web.Response:
        uid = self._user(request, "cancel a run")
        task = self.task
        if task is None or task.done():
            raise ApiError(409, ErrorCode.NO_RUN, "no run is under way to cancel")
        run_id = self.run_log.run_id if self.run_log is not None else None
        self._may_control(uid, run_id, "cancel")
        task.cancel()
        return web.json_response({"run_id": run_id, "status": "cancelling"}, status=202)

    async def _resume(self, request: web.Request) -> web.Response:
        uid = self._user(request, "resume a run")
        profile = self._profile(request)
        self._refuse_if_running()
        try:
            state = load_state(self.data_dir)
        except RunError as exc:
            raise ApiError(409, exc.code, str(exc)) from None
        if state is None:
            raise ApiError(409, ErrorCode.NO_RUN, f"there is no task sequence run to resume in {self.data_dir}")
        self._may_control(uid, state.run_id, "resume")
        self._refuse_if_running()
        if self._restart is not None and self._restart is not asyncio.current_task():
            self._restart.cancel()  # asked to continue now: the restart is not waited for
            self._restart = None
            self.restart_info = None
        after = self.seq
        run_id = await self._resume_saved(state, self._owner(state.run_id) if self._is_admin(uid) else uid, profile)
        return web.json_response({"run_id": run_id, "after": after}, status=202)

    async def _restart_request(self, request: web.Request) -> web.Response:
        """User tier (the run's starter; admin for anyone's): `{"now": true}` restarts at once
        (a simulated restart continues the run now), `{"snooze_minutes": N}` postpones the
        restart by one of the `restart_snooze_minutes` delays; its countdown starts again after."""
        uid = self._user(request, "restart for a run")
        body = await _json_body(request)
        now = body.get("now", False)
        minutes = body.get("snooze_minutes")
        choices = self.restart_snooze_minutes
        if not isinstance(now, bool) or (now and minutes is not None) or (not now and minutes is None):
            raise ApiError(400, AgentCode.BAD_REQUEST,
                           'expected {"now": true} or {"snooze_minutes": N}, one of the two')
        if minutes is not None and (isinstance(minutes, bool) or minutes not in choices):
            raise ApiError(400, AgentCode.BAD_REQUEST,
                           f"snooze_minutes: expected one of {', '.join(str(m) for m in choices)}, not {minutes!r}")
        try:
            state = load_state(self.data_dir)
        except RunError as exc:
            raise ApiError(409, exc.code, str(exc)) from None
        if state is None or state.status is not RunStatus.RESTART_PENDING or self._running():
            raise ApiError(409, AgentCode.NO_RESTART_PENDING, "no run waits for a restart")
        self._may_control(uid, state.run_id, "restart for")
        info = self.restart_info or {}
        if info.get("asked"):
            raise ApiError(409, AgentCode.RESTARTING, "the computer is already restarting")
        pointer = dict(self.pointer or {})
        if pointer.get("run_id") != state.run_id:
            pointer = {"run_id": state.run_id, "deployment": state.deployment, "name": state.name,
                       "started_by": self._owner(state.run_id)}
        until: float | None = None
        if now:
            pointer.pop("restart_snoozed_until", None)
        else:
            until = time.time() + 60 * int(minutes or 0)
            pointer["restart_snoozed_until"] = until
        self.pointer = pointer
        try:
            save_pointer(self.data_dir, pointer)
        except OSError as exc:
            raise ApiError(500, ErrorCode.DATA_FOLDER_UNWRITABLE,
                           f"cannot keep the restart's time in {self.data_dir}: {exc.strerror or exc}") from None
        if self._restart is not None:
            self._restart.cancel()
        log.info("The restart for the run %s: %s (uid %s)", state.run_id,
                 "now" if now else f"postponed by {minutes} min", uid)
        self._restart = asyncio.ensure_future(self._carry_out_restart(state.run_id, None, pointer, now=now))
        await asyncio.sleep(0)  # its state (snoozed_until, the countdown) is set before the answer
        return web.json_response({"run_id": state.run_id, "status": "restarting" if now else "snoozed",
                                  "snoozed_until": _iso(until) if until is not None else None}, status=202)

    async def _discard(self, request: web.Request) -> web.Response:
        """Forget a cancelled or failed run so another can start. The content cache stays,
        and so does the run's history entry (cancelled or failed). A run under way or one
        waiting for a restart is not discarded."""
        uid = self._user(request, "discard a run")
        self._refuse_if_running()
        damaged: RunError | None = None
        try:
            state = load_state(self.data_dir)
        except RunError as exc:
            state, damaged = None, exc
        if state is None and damaged is None:
            raise ApiError(409, ErrorCode.NO_RUN, "there is no cancelled or failed run to discard")
        run_id = state.run_id if state is not None else (self.pointer or {}).get("run_id")
        if state is not None and state.status is RunStatus.RESTART_PENDING:
            raise ApiError(409, AgentCode.RESTART_PENDING,
                           f"the run of {state.deployment} ({state.name}) waits for a restart to continue; "
                           "it cannot be discarded", run_id=run_id)
        self._may_control(uid, run_id, "discard")
        lock = RunLock(self.data_dir)
        try:
            lock.acquire()
        except RunError as exc:
            raise ApiError(409, exc.code, str(exc)) from None
        try:
            if state is not None:
                status = state.status.value if state.status in (RunStatus.CANCELLED, RunStatus.FAILED) \
                    else RunStatus.FAILED.value  # interrupted and not continued: it did not finish
                known = next((e for e in load_history(self.data_dir) if e.run_id == state.run_id), None)
                if known is None or known.status != status:
                    append_history(self.data_dir, HistoryEntry(
                        state.run_id, state.deployment, state.name, state.started_at,
                        datetime.now(UTC).isoformat(timespec="seconds"), status,
                        state.error or "the run was discarded before it finished", state.error_code,
                        state.bytes_transferred, state.error_reason))
            clear_state(self.data_dir)
        except OSError as exc:
            raise ApiError(500, ErrorCode.DATA_FOLDER_UNWRITABLE,
                           f"cannot forget the run in {self.data_dir}: {exc.strerror or exc}") from None
        finally:
            lock.release()
        log.info("The run %s was discarded (uid %s)", run_id, uid)
        return web.json_response({"run_id": run_id, "status": "discarded"})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        run_id = request.match_info["run_id"]
        if not is_run_id(run_id):
            raise ApiError(404, AgentCode.NOT_FOUND, f"{run_id!r} is not a run id")
        raw_after = request.query.get("after", "0")
        try:
            after = int(raw_after)
            if after < 0:
                raise ValueError
        except ValueError:
            raise ApiError(400, AgentCode.BAD_REQUEST,
                           f"after: expected a sequence number (0 or more), not {raw_after!r}") from None
        path = runs_dir(self.data_dir) / f"{run_id}.jsonl"
        live = self.run_log if self._running() and self.run_log and self.run_log.run_id == run_id else None
        if live is None and not path.is_file():
            raise ApiError(404, ErrorCode.NO_RUN, f"the agent has no events of the run {run_id}")
        queue: asyncio.Queue[tuple[int, bytes] | None] | None = None
        if live is not None:
            queue = asyncio.Queue()
            live.followers.add(queue)
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        response.enable_chunked_encoding()
        try:
            # Read before the first await: the file and the queue then overlap, never leave a gap.
            kept = [(seq, line) for seq, line, _obj in read_events(path) if seq > after]
            await response.prepare(request)
            last = after
            for i in range(0, len(kept), 512):
                chunk = kept[i:i + 512]
                await response.write(b"".join(line for _seq, line in chunk))
                last = chunk[-1][0]
            while queue is not None:
                item = await queue.get()
                lines: list[bytes] = []
                finished = False
                while True:
                    if item is None:
                        finished = True
                        break
                    seq, line = item
                    if seq > last:
                        lines.append(line)
                        last = seq
                        if b'"event": "ts_finished"' in line:
                            finished = True
                            break
                    if queue.empty():
                        break
                    item = queue.get_nowait()
                if lines:
                    await response.write(b"".join(lines))
                if finished:
                    break
            await response.write_eof()
            return response
        except ConnectionResetError:  # the client went away; the run goes on
            return response
        finally:
            if live is not None and queue is not None:
                live.followers.discard(queue)

    # --- history and the content cache ----------------------------------------------

    async def _history(self, request: web.Request) -> web.Response:
        """Read tier: the runs of this data folder (oldest first) and, for a run that did
        not finish (under way, cancelled, waiting for a restart), where it stands."""
        entries = [dataclasses.asdict(e) for e in load_history(self.data_dir)]
        try:
            state = load_state(self.data_dir)
        except RunError:
            state = None
        saved: dict[str, Any] | None = None
        if state is not None and state.status is not RunStatus.SUCCEEDED:
            saved = {k: getattr(state, k) for k in SAVED_RUN_FIELDS}
            saved["status"] = state.status.value
        return web.json_response({"entries": entries, "saved": saved})

    async def _cache(self, request: web.Request) -> web.Response:
        """Read tier: the bytes the content cache holds (records and partial files included)."""
        usage = await asyncio.to_thread(self.center.store.usage_bytes)
        return web.json_response({"bytes": usage})

    async def _clear_cache(self, request: web.Request) -> web.Response:
        """Admin tier: remove every cached package; refused while a run is under way (it
        uses the cache). A saved run fetches what it needs again when it continues."""
        uid = self._user(request, "clear the content cache")
        if not self._is_admin(uid):
            raise ApiError(403, AgentCode.FORBIDDEN, "to clear the content cache you must be root"
                           + (f" (or in the group {self.settings['admin_group']})" if self.settings.get("admin_group")
                              else ""))
        self._refuse_if_running()
        try:
            freed = await asyncio.to_thread(self.center.store.clear)
        except OSError as exc:
            raise ApiError(500, ErrorCode.DATA_FOLDER_UNWRITABLE,
                           f"cannot clear the content cache in {self.data_dir}: {exc.strerror or exc}") from None
        usage = await asyncio.to_thread(self.center.store.usage_bytes)
        log.info("The content cache was cleared (uid %s): %d bytes freed", uid, freed)
        return web.json_response({"freed": freed, "bytes": usage})


# What GET /v1/history tells of a saved run (not its variables: they may hold secrets).
SAVED_RUN_FIELDS = ("run_id", "deployment", "task_sequence", "name", "site", "connection_setting",
                    "launch_mode", "started_at", "ip", "executed", "total", "status", "error",
                    "error_code", "error_reason", "bytes_transferred")


def _iso(epoch: float) -> str:
    """A moment as ISO 8601 in UTC, to the millisecond (a client counts down from it)."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


async def _json_body(request: web.Request) -> Mapping[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        raise ApiError(400, AgentCode.BAD_REQUEST, "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, AgentCode.BAD_REQUEST, "the request body must be a JSON object")
    return body
