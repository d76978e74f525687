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

With a `core.RemoteEngine` (the window as a client of the agent) a run belongs to the
agent: `detach()` only stops following it (closing the window), `cancel()` asks the agent
and the run then ends with its own events, `attach()` follows the agent's current run
from its first event, and a lost agent is `linkChanged(False)` until it answers again.
The agent also carries out a run's restart: the countdown shown here is the one the
restart step asked for, at zero nothing runs here, and the run is followed again once
the agent continues it; `restartCommandRan(False)` says the agent's reboot command
failed (the person restarts the computer); Restart now asks the agent to continue now.

With a `LocalEngine` (in-process; the bridge's and controller's own tests) the old rules
hold: `await cancel()` stops the engine task (the run is saved and resumable), `close()`
detaches the smsts.log handler this controller installed, and at the countdown's end
`resume()` continues the run from its persisted state, exactly as after a reboot (or the
admin's `Options.restart_command` runs instead and the run continues at the next
`software-center resume`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from core import (
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
        self._begin(lambda: self.center.run(deployment_id, self.bridge.sink, given))

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
                self.problem.emit(agent_error_text(exc.code))
            return
        tasks = [t for t in (self._task, self._restart_task) if t is not None and not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks)  # never raises their CancelledError; our own cancel still propagates

    def restart_now(self) -> None:
        """The user does not want to wait for the countdown (with an agent: it is asked to
        continue the run now)."""
        if self._pending_restart is None or self.running:
            return
        self._stop_countdown()
        if self.remote is not None:
            self._pending_restart = None
            self.resume()
            return
        self._restart()

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
            self.problem.emit(self.tr("A task sequence is already running in this window."))
            return False
        if self.center.catalog is None or self.center.connection is None:
            self.problem.emit(self.tr("The software catalog is not loaded yet. Try again in a moment."))
            return False
        if self._log_handler is None and self.remote is None:  # the agent writes its own log
            try:
                self._log_handler = install_log(self.center.data_dir)
            except OSError as exc:
                self.problem.emit(fill(self.tr("The log cannot be written in the data folder %1 (%2). Nothing was "
                                               "started."), self.center.data_dir, exc.strerror or exc))
                return False
        return True

    def _begin(self, work: Callable[[], Coroutine[Any, Any, RunResult | None]]) -> None:
        self._pending_restart = None
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
            self.problem.emit(fill(self.tr("The task sequence stopped because of an unexpected error: %1"),
                                   task.exception()))
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
            self.problem.emit(agent_error_text(exc.code))
            return
        except RunError as exc:
            log.warning("The run could not start or continue: %s", exc)
            self.problem.emit(run_error_text(exc.code))
            return
        except OSError as exc:
            log.error("The run state could not be written: %s", exc)
            self.problem.emit(fill(self.tr("The data folder %1 cannot be written (%2). The run was stopped."),
                                   self.center.data_dir, exc.strerror or exc))
            return
        self.bridge.flush()
        if result is None:  # nothing to follow
            return
        if self.remote is not None:
            await self._note_saved()
        self._finish(result)
        if result.status is RunOutcome.RESTART_PENDING and self._pending_restart is not None:
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
        try:
            why = refusal_detail(Refusal(event.reason))
        except ValueError:  # a code this window does not know yet: the engine's words
            why = event.message
        self.problem.emit(fill(self.tr("This upgrade cannot run on this computer now: %1"), why))

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
        """The agent restarts for the run: say when its reboot command failed, and follow
        the run again once the agent continues it."""
        failed_shown: str | None = None
        while True:
            await asyncio.sleep(self.RESTART_POLL_S)
            try:
                info = await remote.restart_state(run_id)
            except AgentError as exc:
                log.warning("The agent's restart state could not be read: %s", exc.message)
                continue
            if info is None:
                break  # continued (or resumed, or discarded) by the agent
            failed = info.get("failed")
            code = str(failed.get("code")) if isinstance(failed, dict) else None
            if code is not None and code != failed_shown:
                failed_shown = code
                self.restart_failure = code
                self._stop_countdown()
                self.restartCommandRan.emit(False)
        self._stop_countdown()
        self._pending_restart = None
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
            self.restartCommandRan.emit(False)
            return
        if code != 0:
            log.error("The restart command exited with code %d", code)
        self.restartCommandRan.emit(code == 0)
