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

Closing the window during a run: `await cancel()` (the run is saved and resumable), then
`close()` (detaches the smsts.log handler this controller installed).

Restart: this app does not reboot. When the countdown reaches zero (or `restart_now()`),
`resume()` continues the run from its persisted state, exactly as after a reboot. When
`Options.restart_command` is set, that command runs instead and nothing resumes here:
the run continues at the next `software-center resume` (e.g. at login).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from core import (
    CMTraceHandler,
    EngineHost,
    ErrorCode,
    Refusal,
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
from .wording import fill, refusal_detail, run_error_text

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

    def __init__(self, center: EngineHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.center = center
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

    def saved_run_status(self) -> RunStatus | None:
        """The status of a saved run waiting in the data folder (None when there is none)."""
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
        if not self._can_begin():
            return
        self._begin(lambda: self.center.resume(self.bridge.sink))

    async def cancel(self) -> None:
        """Stop the run cleanly and wait until it has stopped; the run stays resumable."""
        self._stop_countdown()
        tasks = [t for t in (self._task, self._restart_task) if t is not None and not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks)  # never raises their CancelledError; our own cancel still propagates

    def restart_now(self) -> None:
        """The user does not want to wait for the countdown."""
        if self._pending_restart is None or self.running:
            return
        self._stop_countdown()
        self._restart()

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
        if self._log_handler is None:
            try:
                self._log_handler = install_log(self.center.data_dir)
            except OSError as exc:
                self.problem.emit(fill(self.tr("The log cannot be written in the data folder %1 (%2). Nothing was "
                                               "started."), self.center.data_dir, exc.strerror or exc))
                return False
        return True

    def _begin(self, work: Callable[[], Coroutine[Any, Any, RunResult]]) -> None:
        self._pending_restart = None
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

    async def _drive(self, work: Callable[[], Coroutine[Any, Any, RunResult]]) -> None:
        try:
            result = await work()
        except asyncio.CancelledError:
            self.bridge.flush()
            self._finish(RunResult(RunOutcome.CANCELLED, "cancelled by the user", Win32Code.CANCELLED,
                                   reason=ErrorCode.CANCELLED))
            raise
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
        self._finish(result)
        if result.status is RunOutcome.RESTART_PENDING and self._pending_restart is not None:
            self._start_countdown(self._pending_restart)

    def _finish(self, result: RunResult) -> None:
        self.last_result = result
        self.finished.emit(result)

    # --- bridge signals --------------------------------------------------------------

    def _on_run_started(self, event: RunStarted) -> None:
        self.started.emit(event.deployment)

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
        command = self.center.restart_command
        if command:
            self._restart_task = asyncio.ensure_future(self._run_restart_command(list(command)))
        else:
            self._pending_restart = None
            log.info("Simulated restart: the task sequence continues from its saved state")
            self.resume()

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
