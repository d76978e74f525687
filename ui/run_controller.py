"""Starting, watching, cancelling and resuming task-sequence runs from the window.

`RunController` owns the one engine task of the window (an `EngineHost`'s `run()` or
`resume()` wrapped with `asyncio.ensure_future` inside the qasync loop), the step model
and the event bridge that feeds it, and the restart countdown. Its slots are thin: they
check, hand the work to the engine and return. A run that cannot start (another process
holds the data folder's run lock, a saved run waits to be resumed, the data folder cannot
be written) is reported as one calm sentence through `problem`, never a traceback.

Signals, in the order a run produces them:

    started(deployment_id)     the engine started (or resumed) the run; the model is set up
    restartPending(event)      a restart step ran; `countdownChanged(seconds)` then ticks
    finished(RunResult)        every result the engine returns (succeeded, failed,
                               restart_pending, refused) and RunResult("cancelled") after
                               `cancel()`; not emitted when `problem` says it never started
    problem(str)               why a run could not start or continue, in translated words
    runningChanged(bool)       the engine task began / ended (`running`)
    restartCommandRan(bool)    the admin's restart command ran (or could not)
    snoozedChanged(object)     the restart was postponed until a datetime (None: not, or
                               no longer, postponed; the countdown then starts again)

With a `core.RemoteEngine` (the window as a client of the agent) a run belongs to the
agent: `detach()` only stops following it (closing the window), `cancel()` asks the agent
and the run then ends with its own events, `attach()` follows the agent's current run
from its first event, and a lost agent is `linkChanged(False)` until it answers again.
The agent also carries out a run's restart: the countdown shown here is the one the
restart step asked for, at zero nothing runs here, and the run is followed again once
the agent continues it; `restartCommandRan(False)` says the agent's reboot command
failed (the person restarts the computer); Restart now asks the agent to restart now
(a simulated restart: the run continues at once), and Snooze asks it to postpone the
restart by one of the agent's delays (`snooze_choices`); the agent's restart state keeps
the countdown here in step with its own (also for a window opened mid-countdown).

With a `LocalEngine` (in-process; the bridge's and controller's own tests) the old rules
hold: `await cancel()` stops the engine task (the run is saved and resumable), `close()`
detaches the smsts.log handler this controller installed, and at the countdown's end
`resume()` continues the run from its persisted state, exactly as after a reboot (or the
admin's `Options.restart_command` runs instead and the run continues at the next
`software-center resume`); Snooze stops the countdown here and starts it again after
the delay.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from core import (
    DEFAULT_SNOOZE_MINUTES,
    AgentError,
    CMTraceHandler,
    EngineHost,
    ErrorCode,
    Refusal,
    RemoteEngine,
    RestartPending,
    RunError,
    RunOutcome,
    RunRefused,
    RunResult,
    RunStarted,
    RunStatus,
    Win32Code,
    install_log,
    load_state,
    remove_log,
)

from .bridge import EventBridge, RunHeader
from .step_model import StepModel
from .wording import agent_error_text, fill, refusal_detail, run_error_text

__all__ = ["RunController"]

log = logging.getLogger("software_center.ui")

LOG_FILE = Path("logs") / "smsts.log"


class RunController(QObject):
    """The window's task-sequence runs: start, resume, cancel; progress through `model` and `bridge`."""

    started = Signal(str)  # deployment id
    finished = Signal(object)  # core.engine.RunResult
    problem = Signal(str)  # a run could not start or continue: translated words
    restartPending = Signal(object)  # core.events.RestartPending
    countdownChanged = Signal(int)  # seconds left before the (simulated) restart
    restartCommandRan = Signal(bool)  # the admin's restart command ran (True) or failed (False)
    runningChanged = Signal(bool)
    linkChanged = Signal(bool)  # False: the agent was lost and is being waited for; True: it answers again
    snoozedChanged = Signal(object)  # datetime (aware, UTC) the restart is postponed until, or None

    RESTART_POLL_S = 0.5  # how often the agent is asked about a restart it carries out

    def __init__(self, center: EngineHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.center = center
        self.remote = center if isinstance(center, RemoteEngine) else None
        if self.remote is not None:
            self.remote.on_link = self._on_link
        self._run_id: str | None = None
        self.model = StepModel(self)
        self.bridge = EventBridge(center, self.model, self)
        self.bridge.runStarted.connect(self._on_run_started)
        self.bridge.restartPending.connect(self._on_restart_pending)
        self.bridge.refused.connect(self._on_refused)
        self._task: asyncio.Future[None] | None = None
        self._restart_task: asyncio.Future[None] | None = None
        self._log_handler: CMTraceHandler | None = None
        self._pending_restart: RestartPending | None = None
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._tick)
        self._seconds_left = 0
        self.last_result: RunResult | None = None
        self._saved_status: RunStatus | None = None  # with an agent: what it last said of its run
        self._attach_task: asyncio.Future[None] | None = None
        self.restart_failure: str | None = None  # with an agent: the code of its failed reboot command
        self.snoozed_until: datetime | None = None  # the restart is postponed until then
        self.snooze_choices: list[int] = list(DEFAULT_SNOOZE_MINUTES)  # minutes (the agent's setting)
        self._snooze_timer = QTimer(self)  # in process: the end of a postponement
        self._snooze_timer.setSingleShot(True)
        self._snooze_timer.timeout.connect(self._snooze_over)
        self._action_task: asyncio.Future[None] | None = None  # restart now / snooze asked of the agent
        self._started_with: tuple[str, dict[str, str]] | None = None  # for Retry
        self._problem_words: Callable[[], str] | None = None  # the last problem, for a language switch
        self._waiting_restart = False  # the run's task returned with a restart to carry out

    # --- state -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the engine task runs (not during the restart countdown)."""
        return self._task is not None and not self._task.done()

    @property
    def counting_down(self) -> bool:
        """True while the restart countdown runs."""
        return self._countdown.isActive()

    @property
    def restart_waiting(self) -> bool:
        """A run waits for its restart: counting down, postponed, or the reboot under way."""
        return self._waiting_restart

    @property
    def seconds_left(self) -> int:
        return self._seconds_left

    @property
    def restart_event(self) -> RestartPending | None:
        """The RestartPending of the current countdown (None when there is none)."""
        return self._pending_restart

    @property
    def header(self) -> RunHeader:
        return self.bridge.header

    @property
    def log_path(self) -> Path:
        return self.center.data_dir / LOG_FILE

    @property
    def uses_restart_command(self) -> bool:
        return bool(self.center.restart_command)

    @property
    def reconnecting(self) -> bool:
        """The agent was lost; the run is followed again once it answers."""
        return self.remote is not None and not self.remote.linked

    @property
    def restart_by_agent(self) -> bool:
        """The agent carries out the restart (the countdown only shows it)."""
        return self.remote is not None

    def note_saved_run(self, status: RunStatus | None) -> None:
        """With an agent: what its history says of the saved run (the window read it), for
        the Resume and Retry buttons of a run this controller did not follow."""
        if self.remote is not None and not self.running:
            self._saved_status = status if status in (RunStatus.CANCELLED, RunStatus.RESTART_PENDING,
                                                       RunStatus.FAILED, RunStatus.RUNNING) else None

    def saved_run_status(self) -> RunStatus | None:
        """The status of a saved run waiting in the data folder (None when there is none)."""
        if self.remote is not None:
            return self._saved_status
        try:
            state = load_state(self.center.data_dir)
        except RunError:
            return None
        return state.status if state is not None else None

    # --- actions ---------------------------------------------------------------------

    def start(self, deployment_id: str, variables: Mapping[str, str] | None = None) -> None:
        """Start a deployment (the caller has asked for confirmation). Returns at once."""
        if not self._can_begin():
            return
        given = dict(variables or {})
        self._started_with = (deployment_id, given)
        self._begin(lambda: self.center.run(deployment_id, self.bridge.sink, given))

    def retry(self, deployment_id: str | None = None) -> None:
        """After a failure: start the deployment again (`deployment_id`, or the last run's;
        with the variables this window started it with). A run the agent kept unfinished (stopped by a full data folder)
        continues where it stopped instead; one it keeps as failed is forgotten first when
        it would refuse the new start. Returns at once."""
        deployment = deployment_id or self.header.deployment
        if not deployment:
            return
        if self.saved_run_status() in (RunStatus.CANCELLED, RunStatus.RUNNING):
            self.resume()
            return
        if not self._can_begin():
            return
        known, variables = self._started_with or ("", {})
        given = dict(variables) if known == deployment else {}
        remote = self.remote
        if remote is None:
            self._begin(lambda: self.center.run(deployment, self.bridge.sink, given))
            return

        async def again() -> RunResult:
            assert remote is not None
            try:
                return await remote.run(deployment, self.bridge.sink, given)
            except AgentError as exc:
                if exc.code != ErrorCode.RUN_PENDING.value:
                    raise
            log.info("The failed run is discarded before %s starts again", deployment)
            await remote.discard()
            return await remote.run(deployment, self.bridge.sink, given)

        self._started_with = (deployment, given)
        self._begin(again)

    def resume(self) -> None:
        """Continue the saved run (interrupted, cancelled or restart pending). Returns at once."""
        self._stop_countdown()
        if self.remote is not None:
            self._stop_watching_restart()
        if not self._can_begin():
            return
        self._begin(lambda: self.center.resume(self.bridge.sink))

    def attach(self) -> None:
        """Follow the agent's current run (from its first event, then live) if one is under
        way or waits for its restart. Returns at once; nothing happens without an agent.
        The controller counts as running only once such a run is found."""
        remote = self.remote
        if remote is None or self.running:
            return
        self._attach_task = asyncio.ensure_future(self._look_for_run(remote))

    def look_for_new_run(self) -> None:
        """Follow a run that became active in the agent while nothing is followed here: one
        another client started (`run --detach`, another window), or one the agent went on
        with by itself. Returns at once; a window calls it every few seconds."""
        remote = self.remote
        busy = (self._attach_task, self._restart_task)
        if remote is None or self.running or self._pending_restart is not None \
                or any(t is not None and not t.done() for t in busy):
            return
        self._attach_task = asyncio.ensure_future(self._look_for_active(remote))

    async def _look_for_active(self, remote: RemoteEngine) -> None:
        try:
            summary = await remote.current()
        except AgentError:
            return  # the agent is away: the next look may find it
        if summary is not None and summary["active"] and not self.running and self._pending_restart is None:
            run_id = summary["run_id"]
            self._begin(lambda: remote.follow(run_id, self.bridge.sink))

    async def _look_for_run(self, remote: RemoteEngine) -> None:
        try:
            summary = await remote.current()
        except AgentError as exc:
            log.warning("The agent's current run could not be read: %s", exc.message)
            return
        if summary is None:
            return
        if summary["active"] or summary["status"] == RunStatus.RESTART_PENDING.value:
            if not self.running:
                run_id = summary["run_id"]
                self._begin(lambda: remote.follow(run_id, self.bridge.sink))
        else:
            await self._note_saved()

    async def cancel(self) -> None:
        """Stop the run cleanly; the run stays resumable. With an agent: ask it to cancel
        (the run then ends with its own events, which this controller shows)."""
        self._stop_countdown()
        if self.remote is not None:
            if not self.running:
                return
            try:
                await self.remote.cancel()
            except AgentError as exc:
                log.warning("The agent did not cancel the run: %s", exc.message)
                code = exc.code
                self._say(lambda: agent_error_text(code))
            return
        tasks = [t for t in (self._task, self._restart_task) if t is not None and not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks)  # never raises their CancelledError; our own cancel still propagates

    def restart_now(self) -> None:
        """The user does not want to wait for the countdown (with an agent: it is asked to
        restart now; a simulated restart then continues the run at once)."""
        if self._pending_restart is None or self.running:
            return
        self._stop_countdown()
        self._set_snoozed(None)
        if self.remote is not None:
            self._action_task = asyncio.ensure_future(self._ask_agent(self.remote.restart_now()))
            return
        self._restart()

    def snooze(self, minutes: int) -> None:
        """Postpone the restart by `minutes` (one of `snooze_choices`); the countdown starts
        again after it. Returns at once."""
        if self._pending_restart is None or self.running:
            return
        self._stop_countdown()
        if self.remote is not None:
            self._action_task = asyncio.ensure_future(self._ask_agent(self.remote.snooze_restart(minutes)))
            return
        self._set_snoozed(datetime.now(UTC) + timedelta(minutes=minutes))
        self._snooze_timer.start(minutes * 60_000)

    async def _ask_agent(self, call: Coroutine[Any, Any, Any]) -> None:
        try:
            await call
        except AgentError as exc:
            log.warning("The agent did not carry out the restart request: %s", exc.message)
            code = exc.code
            self._say(lambda: agent_error_text(code))

    def _snooze_over(self) -> None:
        if self._pending_restart is not None and not self.running:
            self._set_snoozed(None)
            self._start_countdown(self._pending_restart)

    def _set_snoozed(self, until: datetime | None) -> None:
        if until is None:
            self._snooze_timer.stop()
        if until != self.snoozed_until:
            self.snoozed_until = until
            self.snoozedChanged.emit(until)

    async def detach(self) -> None:
        """Stop following (the window closes). With an agent the run goes on; in process
        there is no run without its follower, so this cancels it."""
        if self.remote is None:
            await self.cancel()
            return
        self._stop_countdown()
        tasks = [t for t in (self._task, self._restart_task, self._attach_task) if t is not None and not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def close(self) -> None:
        """Release what the controller holds outside itself (the log handler). Call after `cancel()`."""
        self._stop_countdown()
        if self._log_handler is not None:
            remove_log(self._log_handler)
            self._log_handler = None

    # --- running ---------------------------------------------------------------------

    def _can_begin(self) -> bool:
        if self.running or (self._restart_task is not None and not self._restart_task.done()):
            self._say(lambda: self.tr("A task sequence is already running in this window."))
            return False
        if self.center.catalog is None or self.center.connection is None:
            self._say(lambda: self.tr("The software catalog is not loaded yet. Try again in a moment."))
            return False
        if self._log_handler is None and self.remote is None:  # the agent writes its own log
            try:
                self._log_handler = install_log(self.center.data_dir)
            except OSError as exc:
                why = str(exc.strerror or exc)
                self._say(lambda: fill(self.tr("The log cannot be written in the data folder %1 (%2). Nothing was "
                                               "started."), self.center.data_dir, why))
                return False
        return True

    def _begin(self, work: Callable[[], Coroutine[Any, Any, RunResult | None]]) -> None:
        self._pending_restart = None
        self._waiting_restart = False
        self._set_snoozed(None)
        self.restart_failure = None
        self.last_result = None
        # The engine's coroutine is made inside the task, so a task cancelled before its
        # first step leaves no coroutine that was never awaited.
        self._task = asyncio.ensure_future(self._drive(work))
        self._task.add_done_callback(self._task_done)
        self.runningChanged.emit(True)

    def _task_done(self, task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("The run ended with an unexpected error", exc_info=task.exception())
            error = task.exception()
            self._say(lambda: fill(self.tr("The task sequence stopped because of an unexpected error: %1"), error))
        self.runningChanged.emit(False)

    async def _drive(self, work: Callable[[], Coroutine[Any, Any, RunResult | None]]) -> None:
        try:
            result = await work()
        except asyncio.CancelledError:
            self.bridge.flush()
            if self.remote is None:  # with an agent, this only stopped following: the run goes on
                self._finish(RunResult(RunOutcome.CANCELLED, "cancelled by the user", Win32Code.CANCELLED,
                                       reason=ErrorCode.CANCELLED))
            raise
        except AgentError as exc:
            log.warning("The agent could not start or continue the run: %s", exc.message)
            code = exc.code
            self._say(lambda: agent_error_text(code))
            return
        except RunError as exc:
            log.warning("The run could not start or continue: %s", exc)
            run_code = exc.code
            self._say(lambda: run_error_text(run_code))
            return
        except OSError as exc:
            log.error("The run state could not be written: %s", exc)
            why = str(exc.strerror or exc)
            self._say(lambda: fill(self.tr("The data folder %1 cannot be written (%2). The run was stopped."),
                                   self.center.data_dir, why))
            return
        self.bridge.flush()
        if result is None:  # nothing to follow
            return
        if self.remote is not None:
            await self._note_saved()
        self._finish(result)
        if result.status is RunOutcome.RESTART_PENDING and self._pending_restart is not None:
            self._waiting_restart = True
            self._start_countdown(self._pending_restart)
            if self.remote is not None and self._run_id is not None:
                self._restart_task = asyncio.ensure_future(self._watch_restart(self.remote, self._run_id))

    async def _note_saved(self) -> None:
        """With an agent: whether its run waits to be resumed (for Resume buttons)."""
        assert self.remote is not None
        try:
            summary = await self.remote.current()
        except AgentError:
            return
        try:
            status = RunStatus(summary["status"]) if summary is not None else None
        except ValueError:
            status = None
        self._saved_status = status if status in (RunStatus.CANCELLED, RunStatus.RESTART_PENDING,
                                                   RunStatus.FAILED) else None

    def _say(self, words: Callable[[], str]) -> None:
        """Report a problem; `words` makes its sentence in the current language (asked again
        by `problem_text()` after a language switch)."""
        self._problem_words = words
        self.problem.emit(words())

    def problem_text(self) -> str:
        """The last problem's sentence, in the current language ('' when there was none)."""
        return self._problem_words() if self._problem_words is not None else ""

    def _finish(self, result: RunResult) -> None:
        self.last_result = result
        self.finished.emit(result)

    # --- bridge signals --------------------------------------------------------------

    def _on_run_started(self, event: RunStarted) -> None:
        self._run_id = event.run_id
        self._saved_status = None
        self.started.emit(event.deployment)

    def _on_link(self, up: bool) -> None:
        self.linkChanged.emit(up)

    def _on_refused(self, event: RunRefused) -> None:
        def words() -> str:
            try:
                why = refusal_detail(Refusal(event.reason))
            except ValueError:  # a code this window does not know yet: the engine's words
                why = event.message
            return fill(self.tr("This upgrade cannot run on this computer now: %1"), why)

        self._say(words)

    def _on_restart_pending(self, event: RestartPending) -> None:
        # The countdown starts once the engine task has returned (see _drive): resuming
        # while it still holds the run lock would be refused.
        self._pending_restart = event
        self.restartPending.emit(event)

    # --- the restart -----------------------------------------------------------------

    def _start_countdown(self, event: RestartPending) -> None:
        self._seconds_left = max(0, int(event.countdown_s))
        self.countdownChanged.emit(self._seconds_left)
        if self._seconds_left == 0:
            QTimer.singleShot(0, self.restart_now)
        else:
            self._countdown.start()

    def _stop_countdown(self) -> None:
        self._countdown.stop()
        if self.remote is None:
            self._snooze_timer.stop()

    def _tick(self) -> None:
        self._seconds_left = max(0, self._seconds_left - 1)
        self.countdownChanged.emit(self._seconds_left)
        if self._seconds_left == 0:
            self._countdown.stop()
            self._restart()

    def _restart(self) -> None:
        if self.remote is not None:
            return  # the agent restarts; _watch_restart follows the run when it continues
        command = self.center.restart_command
        if command:
            self._restart_task = asyncio.ensure_future(self._run_restart_command(list(command)))
        else:
            self._pending_restart = None
            log.info("Simulated restart: the task sequence continues from its saved state")
            self.resume()

    def _stop_watching_restart(self) -> None:
        if self._restart_task is not None and not self._restart_task.done():
            self._restart_task.cancel()
        self._restart_task = None

    async def _watch_restart(self, remote: RemoteEngine, run_id: str) -> None:
        """The agent restarts for the run: keep the countdown in step with the agent's
        (postponed, started again), say when its reboot command failed, and follow the run
        again once the agent continues it."""
        failed_shown: str | None = None
        ends_shown: str | None = None
        first = True
        while True:
            if not first:
                await asyncio.sleep(self.RESTART_POLL_S)
            first = False
            try:
                info = await remote.restart_state(run_id)
            except AgentError as exc:
                log.warning("The agent's restart state could not be read: %s", exc.message)
                continue
            if info is None:
                break  # continued (or resumed, or discarded) by the agent
            choices = info.get("snooze_minutes")
            if isinstance(choices, list) and choices and all(isinstance(m, int) for m in choices):
                self.snooze_choices = list(choices)
            snoozed = _moment(info.get("snoozed_until"))
            self._set_snoozed(snoozed)
            ends = info.get("countdown_ends")
            if snoozed is not None:
                self._stop_countdown()
                ends_shown = None
            elif isinstance(ends, str) and ends != ends_shown and self._pending_restart is not None:
                ends_shown = ends  # a countdown (again): in step with the agent's
                end = _moment(ends)
                if end is not None:
                    left = max(0, math.ceil((end - datetime.now(UTC)).total_seconds()))
                    self._seconds_left = left
                    self.countdownChanged.emit(left)
                    if left > 0:
                        self._countdown.start()
                    else:
                        self._stop_countdown()
            failed = info.get("failed")
            code = str(failed.get("code")) if isinstance(failed, dict) else None
            if code is not None and code != failed_shown:
                failed_shown = code
                self.restart_failure = code
                self._stop_countdown()
                self.restartCommandRan.emit(False)
        self._stop_countdown()
        self._pending_restart = None
        self._set_snoozed(None)
        self._restart_task = None
        self._begin(lambda: remote.follow(run_id, self.bridge.sink))

    async def _run_restart_command(self, command: list[str]) -> None:
        log.info("Running the restart command %s; the run continues at the next `software-center resume`",
                 command)
        try:
            proc = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            code = await proc.wait()
        except OSError as exc:
            log.error("The restart command could not be started: %s", exc)
            self._waiting_restart = False  # in the person's hands now: Resume, or the next sign-in
            self.restartCommandRan.emit(False)
            return
        if code != 0:
            log.error("The restart command exited with code %d", code)
        self._waiting_restart = False
        self.restartCommandRan.emit(code == 0)


def _moment(value: Any) -> datetime | None:
    """An ISO time the agent sent (UTC when it names no zone); None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
