"""The task-sequence engine: runs a deployment's step tree with ConfigMgr semantics.

The tree is flattened into instructions (a group, then its children) with an
instruction pointer, as ConfigMgr's TSManager does; the pointer, the variables and the
results are saved atomically after every step, so a crash re-runs at most the step that
was running, and `resume` continues exactly there.

A step's program runs under a host process (core/stephost.py) that outlives this one and
records how the program ended. After a crash, `resume` waits for a host that still runs
(up to the step's timeout) and uses its result: a program that finished while no engine
was running is never started again. Only a program that had not started, or that was
stopped (cancel, timeout, power loss), runs again. Events are emitted after the save they
report, so a crash between the two may lose a report but never repeats a step.

Semantics: disabled steps and groups are skipped; a false condition skips; a failed step
fails its group, a failed group fails the sequence, unless the failing item (or an
enclosing group) has `continue_on_error`, in which case execution continues after it.
Content is fetched on demand, just before the first step that needs a package (its
download events fall inside that step), or all before step 1 (`all_before_start`).

Progress is counted as ConfigMgr counts it: the total is every enabled non-group step
(inside enabled groups), fixed when the run starts; each step keeps its position in that
list, so a skipped step is passed over and the count jumps.

This module owns the step loop and the run's bookkeeping; what each step does is
core/steps.py, and the files by which a step's program outlives this process are
core/attempts.py. Every event goes to the caller's sink and to the log (CMTrace, via
`logging`), in ConfigMgr's own phrases where admins search for them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import errno
import logging
import shutil
import socket
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .attempts import Attempts
from .catalog import (
    Catalog,
    GroupStep,
    Step,
    TaskSequence,
    parse_catalog,
    referenced_packages,
)
from .cleanup import shielded
from .cmtrace import CMTraceHandler
from .content import RetryPolicy, ordered_locations
from .eligibility import LaunchMode
from .errors import CatalogError, ContentError, ErrorCode, RunError, Win32Code
from .events import (
    Event,
    EventSink,
    RestartPending,
    RunFinished,
    RunOutcome,
    RunRefused,
    RunResult,
    RunStarted,
    SkipReason,
    StepFinished,
    StepOutcome,
    StepProgressed,
    StepSkipped,
    StepStarted,
)
from .fsutil import atomic_write_bytes
from .process import kill_process_group
from .runstate import (
    HistoryEntry,
    RunLock,
    RunState,
    RunStatus,
    append_history,
    clear_state,
    load_state,
    now_iso,
    save_state,
    state_dir,
)
from .steps import Outcome, ProgramStep, StepExecutor, timed_out
from .variables import Variables, evaluate_condition

if TYPE_CHECKING:
    from .center import SoftwareCenter

__all__ = ["Instruction", "TaskSequenceRunner", "flatten", "step_type"]

log = logging.getLogger("software_center.engine")

_LAUNCH_MODE_VAR = {"software-center": "SMS", "media": "CD", "pxe": "PXE"}


@dataclass(frozen=True, slots=True)
class Instruction:
    """One node of the flattened tree. `end` is the index just past it (past its children)."""

    step: Step
    parent: int | None
    end: int
    leaves: int  # steps it counts for in the total: enabled leaves of enabled groups; 1 for an enabled leaf
    position: int  # counted steps before it in the run; a counted step is "Step position+1 of total"


def flatten(steps: list[Step]) -> list[Instruction]:
    """The step tree as instructions: each group, then its children, depth first."""
    out: list[Instruction] = []
    counted_so_far = 0

    def add(items: list[Step], parent: int | None, counted: bool) -> None:
        nonlocal counted_so_far
        for step in items:
            i = len(out)
            counts = counted and step.enabled
            position = counted_so_far
            out.append(Instruction(step, parent, i + 1, 0, position))  # placeholder, fixed below
            if isinstance(step, GroupStep):
                add(step.steps, i, counts)
                leaves = counted_so_far - position
            else:
                leaves = 1 if counts else 0
                counted_so_far += leaves
            out[i] = Instruction(step, parent, len(out), leaves, position)

    add(steps, None, True)
    return out


def step_type(step: Step) -> str:
    """The step's `type` as the site format names it (`run_command`, `group`, ...)."""
    return str(type(step).__struct_config__.tag)





class TaskSequenceRunner:
    """Runs or resumes one task sequence for a `SoftwareCenter` that is open.

    `on_event` receives every event (the CLI's JSON/terminal views, the window's bridge).
    Cancel by cancelling the task awaiting `run()`/`resume()`: the current download or
    program tree is stopped, the state is saved, `RunFinished(cancelled)` is emitted and
    CancelledError propagates; `resume` continues later.
    """

    def __init__(self, center: SoftwareCenter, on_event: EventSink) -> None:
        self.center = center
        self.data_dir = center.data_dir
        self._sink = on_event
        self._lock = RunLock(center.data_dir)
        self._state: RunState | None = None
        self.variables = Variables()
        self._instructions: list[Instruction] = []
        self._ready: dict[str, Path] = {}  # packages verified during this process
        self._catalog: Catalog | None = None
        self._attempts = Attempts(center.data_dir)
        self._steps = StepExecutor(center.data_dir, self, self._attempts, self._ensure_package)

    # --- public ----------------------------------------------------------------------

    async def run(
        self,
        deployment_id: str,
        launch_mode: LaunchMode = LaunchMode.SOFTWARE_CENTER,
        variables: Mapping[str, str] | None = None,
    ) -> RunResult:
        """Start a deployment. Raises RunError (`code` run_locked or run_pending) if another
        process holds the data folder or an unfinished run waits for resume."""
        center = self.center
        assert center.catalog is not None and center.connection is not None, "open the center first"
        self._lock.acquire()
        try:
            pending = load_state(self.data_dir)
            if pending is not None and pending.status not in (RunStatus.SUCCEEDED, RunStatus.FAILED):
                raise RunError(
                    f"the run of {pending.deployment} ({pending.name}) has not finished; "
                    "continue it with `software-center resume`",
                    ErrorCode.RUN_PENDING,
                )
            verdict = center.verdict(deployment_id, launch_mode)
            if verdict.refusal is not None:
                assert verdict.message is not None
                log.warning("%s. Refused (%s).", verdict.log, verdict.refusal.value)
                self._emit(RunRefused(deployment_id, verdict.refusal.value, verdict.message))
                return RunResult(RunOutcome.REFUSED, verdict.message, None, verdict.refusal)
            if pending is not None:  # a finished run whose clean-up was interrupted
                clear_state(self.data_dir)
            catalog = center.catalog
            dep = catalog.deployment(deployment_id)
            assert dep is not None
            ts = catalog.task_sequences[dep.task_sequence]
            self._catalog = catalog
            self._instructions = flatten(ts.steps)
            state = RunState(
                run_id=uuid.uuid4().hex,
                deployment=dep.id,
                task_sequence=dep.task_sequence,
                name=dep.name,
                site=center.site_setting,
                connection_setting=center.connection_setting,
                launch_mode=launch_mode.value,
                started_at=now_iso(),
                total=sum(i.leaves for i in self._instructions if i.parent is None),
            )
            self._state = state
            self.variables = self._initial_variables(dep.id, ts, launch_mode, variables or {})
            self.secrets_changed()
            state.variables = self.variables.to_state()
            atomic_write_bytes(state_dir(self.data_dir) / "catalog.json", center.catalog_bytes)
            self._save()
            self._history()
            return await self._drive(resumed=False)
        finally:
            self._lock.release()

    async def resume(self) -> RunResult:
        """Continue the saved run. Raises RunError (`code` run_locked, no_run or
        run_state_damaged) when there is none, it is held elsewhere or it cannot be used."""
        center = self.center
        assert center.catalog is not None and center.connection is not None, "open the center first"
        self._lock.acquire()
        try:
            state = load_state(self.data_dir)
            if state is None:
                raise RunError("there is no task sequence run to resume", ErrorCode.NO_RUN)
            catalog = self._saved_catalog(center.catalog.url) or center.catalog
            dep = catalog.deployment(state.deployment)
            if dep is None or dep.task_sequence not in catalog.task_sequences:
                raise RunError(f"the saved run's deployment {state.deployment} is not in its catalog",
                               ErrorCode.RUN_STATE_DAMAGED)
            self._catalog = catalog
            self._instructions = flatten(catalog.task_sequences[dep.task_sequence].steps)
            n = len(self._instructions)
            if state.ip > n or (state.in_progress is not None and state.in_progress >= n):
                raise RunError(
                    f"the saved run state {state_dir(self.data_dir) / 'run.json'} does not match the task "
                    f"sequence of {state.deployment}; delete it to discard that run",
                    ErrorCode.RUN_STATE_DAMAGED,
                )
            # The total is the task sequence's, fixed: a run saved by an older version that
            # shrank it as steps were skipped counts as this one does.
            state.total = sum(i.leaves for i in self._instructions if i.parent is None)
            self._state = state
            self.variables = Variables.from_state(state.variables)
            self.secrets_changed()
            if state.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
                return self._report_finished()
            state.status = RunStatus.RUNNING
            self._save()
            self._history()
            return await self._drive(resumed=True)
        finally:
            self._lock.release()

    def _saved_catalog(self, url: str) -> Catalog | None:
        """The catalog the run started with (its saved copy), read against the site's current URL.

        A run continues with the task sequence it began, whichever catalog the site serves
        now (the window keeps the current one open; the CLI opens the copy itself).
        """
        path = state_dir(self.data_dir) / "catalog.json"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RunError(f"the saved catalog of the run ({path}) cannot be read: {exc.strerror or exc}",
                           ErrorCode.RUN_STATE_DAMAGED) from None
        try:
            return parse_catalog(data, url)
        except CatalogError as exc:
            raise RunError(f"the saved catalog of the run ({path}) is damaged ({exc}); delete the run to discard it",
                           ErrorCode.RUN_STATE_DAMAGED) from None

    # --- hooks for the step executors (core/steps.py) ------------------------------------

    def emit_progress(self, event: StepProgressed) -> None:
        self._emit(event)

    def attempt_starting(self, token: str, started_at: float) -> None:
        """A step's program host is about to start: saved first, so a crash finds it."""
        assert self._state is not None
        self._state.attempt = token
        self._state.step_started_at = started_at
        self._save()

    def program_started(self, pgid: int) -> None:
        assert self._state is not None
        self._state.child_pgid = pgid
        self._save()

    def secrets_changed(self) -> None:
        """No log line ever shows a secret variable's value."""
        for handler in logging.getLogger("software_center").handlers:
            if isinstance(handler, CMTraceHandler):
                for value in self.variables.secret_values:
                    handler.add_secret(value)

    # --- the loop --------------------------------------------------------------------

    async def _drive(self, *, resumed: bool) -> RunResult:
        state = self._state
        catalog = self._catalog
        assert state is not None and catalog is not None
        connection = self.center.connection
        assert connection is not None
        dep = catalog.deployment(state.deployment)
        assert dep is not None
        log.info(
            "%s the task sequence '%s' (%s) of deployment %s (%s); connection: %s; launch mode: %s",
            "Resuming" if resumed else "Starting",
            self.variables.get("_SMSTSPackageName", state.task_sequence),
            state.task_sequence,
            state.deployment,
            state.name,
            connection,
            state.launch_mode,
        )
        self._emit(RunStarted(state.deployment, state.task_sequence, state.name, state.total, connection, resumed))
        try:
            if not state.prepared:
                # Also after a crash before step 1: the pre-flight and an interrupted
                # all_before_start download are done again, before any step.
                problem = self._preflight()
                if problem is not None:
                    return await self._finish(RunOutcome.FAILED, *problem)
                if dep.download == "all_before_start":
                    log.info("Downloading all content before the first step (deployment setting)")
                    for pid in referenced_packages(catalog.task_sequences[state.task_sequence]):
                        await self._ensure_package(pid)
                state.prepared = True
                self._save()
            if state.in_progress is not None:
                stop = await self._continue_interrupted()
                if stop is not None:
                    return stop
            while state.ip < len(self._instructions):
                outcome = await self._step_once()
                if outcome is not None:
                    return outcome
            if state.failed:
                return await self._finish(RunOutcome.FAILED, *self._failure())
            return await self._finish(RunOutcome.SUCCEEDED, None, None, None)
        except ContentError as exc:
            return await self._finish(RunOutcome.FAILED, str(exc), Win32Code.CONTENT_FAILED, exc.code)
        except OSError as exc:
            return self._storage_failed(exc)
        except asyncio.CancelledError:
            await shielded(self._cancelled())
            raise

    def _failure(self) -> tuple[str | None, int | None, ErrorCode | None]:
        """The run's failure: that of the step whose failure ended it."""
        assert self._state is not None
        last = self._state.results[-1] if self._state.results else {}
        return last.get("error"), last.get("exit_code"), _reason(last.get("reason"))

    def _index(self, ip: int) -> int:
        """The 1-based "Step x of y" number of the step at `ip`."""
        return self._instructions[ip].position + 1

    async def _step_once(self) -> RunResult | None:
        """Execute the instruction at the pointer; a RunResult when the run stops."""
        state = self._state
        assert state is not None
        ip = state.ip
        ins = self._instructions[ip]
        step = ins.step
        if not step.enabled:
            log.info("The %s (%s) has been skipped because it is disabled", _kind(step), step.name)
            self._advance(ip, ins.end)
            self._save()
            self._emit(StepSkipped(step.name, SkipReason.DISABLED, state.total, ip=ip))
            return None
        if not evaluate_condition(step.condition, self.variables):
            log.info("The %s (%s) has been skipped because the condition is evaluated to be false",
                     _kind(step), step.name)
            self._advance(ip, ins.end)
            self._save()
            self._emit(StepSkipped(step.name, SkipReason.CONDITION, state.total, ip=ip))
            return None
        if isinstance(step, GroupStep):
            log.info("Entering the group (%s). Instruction pointer: %d", step.name, ip)
            state.ip = ip + 1
            self._save()
            return None

        index = self._index(ip)
        state.in_progress = ip
        state.attempt = None
        state.step_started_at = None
        self.variables.set("_SMSTSCurrentActionName", step.name)
        self._save()
        log.info("Start executing an instruction. Instruction name: %s. Instruction pointer: %d", step.name, ip)
        self._emit(StepStarted(index, state.total, step.name, step_type(step), ip=ip))
        outcome = await self._steps.execute(step, ip, index)
        return self._complete_step(ip, outcome)

    def _complete_step(self, ip: int, outcome: Outcome, *, announce_restart: bool = True) -> RunResult | None:
        """Record a finished step, move the pointer, save, then report it."""
        state = self._state
        assert state is not None
        ins = self._instructions[ip]
        step = ins.step
        index = self._index(ip)
        code = outcome.exit_code if outcome.exit_code is not None else (0 if outcome.ok else 1)
        self.variables.set("_SMSTSLastActionRetCode", str(code))
        self.variables.set("_SMSTSLastActionSucceeded", "true" if outcome.ok else "false")
        self.variables.set("_SMSTSLastActionName", step.name)
        status = StepOutcome.SUCCEEDED if outcome.ok else StepOutcome.FAILED
        error = self.variables.mask(outcome.error) if outcome.error is not None else None
        reason = None if outcome.ok else outcome.reason
        state.results.append({"index": index, "ip": ip, "name": step.name, "status": status.value,
                              "exit_code": outcome.exit_code, "error": error,
                              "reason": reason.value if reason is not None else None})
        attempt = state.attempt
        state.in_progress = None
        state.child_pgid = None
        state.attempt = None
        state.step_started_at = None
        if outcome.ok:
            log.info("Successfully completed the action (%s) with the exit win32 code %d", step.name, code)
            next_ip: int | None = ins.end
        else:
            log.error("Failed to run the action: %s. %s (Error: %s)", step.name, error, _hex(code))
            next_ip = self._after_failure(ip)
        finished = StepFinished(index, step.name, status, outcome.exit_code, error, ip=ip, reason=reason)
        if next_ip is None:
            state.failed = True
            state.ip = len(self._instructions)
            self._save()
            self._attempts.forget(attempt)
            self._emit(finished)
            return None
        self._advance(ip, next_ip)
        if outcome.restart:
            state.status = RunStatus.RESTART_PENDING
            self._save()
            self._attempts.forget(attempt)
            self._emit(finished)
            log.info("The action (%s) initiated a reboot request", step.name)
            log.info("The run is saved and resumes after the restart")
            if not announce_restart:
                return None
            self._emit(RestartPending(step.name, outcome.restart_countdown, outcome.restart_message))
            self._history(RunStatus.RESTART_PENDING.value)
            self._emit(RunFinished(RunOutcome.RESTART_PENDING, None, None))
            return RunResult(RunOutcome.RESTART_PENDING)
        self._save()
        self._attempts.forget(attempt)
        self._emit(finished)
        return None

    def _after_failure(self, ip: int) -> int | None:
        """Where execution continues after the step at `ip` failed; None: the sequence fails."""
        ins = self._instructions[ip]
        if ins.step.continue_on_error:
            log.warning("The action (%s) failed; continuing because it continues on error", ins.step.name)
            return ins.end
        g = ins.parent
        while g is not None:
            group = self._instructions[g]
            if group.step.continue_on_error:
                log.warning("The group (%s) failed; continuing because it continues on error", group.step.name)
                return group.end
            log.error("The group (%s) failed", group.step.name)
            g = group.parent
        return None

    def _advance(self, ip: int, new_ip: int) -> None:
        """Move the pointer, logging the end of each group it leaves."""
        assert self._state is not None
        g = self._instructions[ip].parent
        while g is not None and self._instructions[g].end <= new_ip:
            log.info("Leaving the group (%s)", self._instructions[g].step.name)
            g = self._instructions[g].parent
        self._state.ip = new_ip

    # --- after an interruption ---------------------------------------------------------

    def _rewind(self) -> str | None:
        """The interrupted step runs again: it no longer counts as started. Returns the
        abandoned attempt, whose files the caller removes once the state is saved."""
        state = self._state
        assert state is not None and state.in_progress is not None
        attempt = state.attempt
        state.ip = state.in_progress
        state.in_progress = None
        state.attempt = None
        state.child_pgid = None
        state.step_started_at = None
        return attempt

    async def _continue_interrupted(self) -> RunResult | None:
        """The process that ran the step at `in_progress` died. Finish that step from what
        its program host recorded (waiting for a host still running), or run it again."""
        state = self._state
        assert state is not None and state.in_progress is not None
        ip = state.in_progress
        step = self._instructions[ip].step
        announced = False

        def announce() -> None:
            nonlocal announced
            if not announced:
                announced = True
                self._emit(StepStarted(self._index(ip), state.total, step.name, step_type(step), ip=ip))

        outcome: Outcome | None = None
        if state.attempt is not None and isinstance(step, ProgramStep):
            outcome = await self._recover_attempt(step, state.attempt, announce)
        elif state.child_pgid is not None:
            await kill_process_group(state.child_pgid)
        if outcome is None:
            log.info("The previous run stopped during the action (%s); that step runs again", step.name)
            abandoned = self._rewind()
            self._save()
            self._attempts.forget(abandoned)
            return None
        log.info(
            "The program of the action (%s) ended while no process ran the task sequence; its result is used "
            "and the step does not run again", step.name,
        )
        announce()
        return self._complete_step(ip, outcome)

    async def _recover_attempt(self, step: ProgramStep, token: str, announce: Callable[[], None]) -> Outcome | None:
        """Wait for the host of an interrupted attempt to end (up to the step's timeout),
        then its result; None when the program did not end by itself (run the step again)."""
        state = self._state
        assert state is not None

        def waiting() -> None:
            log.info("The program of the action (%s) started before the interruption is still running; "
                     "waiting for it", step.name)
            announce()

        deadline = None if state.step_started_at is None else state.step_started_at + step.timeout_s
        record, stopped = await self._attempts.wait(token, deadline=deadline, pgid=state.child_pgid, on_wait=waiting)
        if stopped:
            return timed_out(step)
        if record is None or (record.returncode < 0 and record.terminated):
            # Never started, or stopped by a cancel/timeout that the dead process was doing.
            if state.child_pgid is not None:
                await self._attempts.stop(token, state.child_pgid)
            return None
        return self._steps.from_record(step, record)

    def _finished_anyway(self) -> Outcome | None:
        """On cancel: the running program's successful result if it ended before it could be stopped."""
        state = self._state
        assert state is not None and state.in_progress is not None
        step = self._instructions[state.in_progress].step
        if state.attempt is None or not isinstance(step, ProgramStep):
            return None
        record = self._attempts.record(state.attempt)
        if record is None or record.returncode < 0 or record.spawn_error:
            return None
        outcome = self._steps.from_record(step, record)
        return outcome if outcome.ok else None

    # --- content ---------------------------------------------------------------------

    async def _ensure_package(self, pid: str) -> Path:
        """The package's verified folder, downloading it now if needed (on demand)."""
        catalog = self._catalog
        assert catalog is not None
        pkg = catalog.packages[pid]
        store = self.center.store
        if pid in self._ready and store.is_complete(pid, pkg):
            return self._ready[pid]
        self.variables.set("_SMSTSCurrentActionPackageID", pid)
        connection = self.center.connection
        assert connection is not None
        folder = await store.fetch(
            pid,
            pkg,
            catalog.url,
            connection,
            on_event=self._emit,
            retry=RetryPolicy.from_variables(self.variables),
            allow_cloud=self.center.options.allow_cloud_content,
            on_transferred=self._count_transferred,
        )
        self._ready[pid] = folder
        return folder

    def _preflight(self) -> tuple[str, int, ErrorCode] | None:
        """Before anything runs: every package has a usable location, and the disk has room."""
        state, catalog = self._state, self._catalog
        assert state is not None and catalog is not None and self.center.connection is not None
        store = self.center.store
        needed = 0
        for pid in referenced_packages(catalog.task_sequences[state.task_sequence]):
            pkg = catalog.packages[pid]
            if not ordered_locations(pkg, self.center.connection, self.center.options.allow_cloud_content):
                msg = f"package {pid} has no content location usable on the {self.center.connection}"
                log.error("Pre-flight check failed: %s", msg)
                return msg, Win32Code.CONTENT_FAILED, ErrorCode.NO_CONTENT_LOCATION
            needed += pkg.total_bytes - store.cached_bytes(pid, pkg)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.data_dir).free
        if needed > free:
            msg = (
                f"not enough free disk space for the content: {needed // 2**20} MB to download, "
                f"{free // 2**20} MB free"
            )
            log.error("Pre-flight check failed: %s", msg)
            return msg, Win32Code.DISK_FULL, ErrorCode.DISK_FULL
        log.info("Pre-flight check passed: %d MB to download", needed // 2**20)
        return None

    # --- bookkeeping -----------------------------------------------------------------

    def _initial_variables(self, deployment_id: str, ts: TaskSequence, launch_mode: LaunchMode,
                           given: Mapping[str, str]) -> Variables:
        state = self._state
        assert state is not None
        v = Variables()
        v.set("PYTHON", sys.executable)
        v.set("_SMSTSPackageID", state.task_sequence)
        v.set("_SMSTSPackageName", ts.name)
        v.set("_SMSTSAdvertID", deployment_id)
        v.set("_SMSTSLaunchMode", _LAUNCH_MODE_VAR[launch_mode.value])
        v.set("_SMSTSInWinPE", "false")
        v.set("_SMSTSMachineName", socket.gethostname())
        v.set("_SMSTSMDataPath", str(self.data_dir))
        v.set("_SMSTSLogPath", str(self.data_dir / "logs"))
        v.set("_SMSTSClientCache", str(self.data_dir / "cache"))
        v.set("_SMSTSSiteCode", self._catalog.site.code if self._catalog else "")
        v.set("_SMSTSInternetClient", "true" if self.center.connection == "internet" else "false")
        # The sequence's own variables, then those given for this run (which win).
        for var in ts.variables:
            v.set(var.name, var.value, secret=var.secret)
        for name, value in given.items():
            v.set(name, value)
        return v

    def _count_transferred(self, n: int) -> None:
        """What a download really received, however it ended: a cancelled or failed
        download's bytes count too (the run's history says what it cost)."""
        if self._state is not None:
            self._state.bytes_transferred += n

    def _emit(self, event: Event) -> None:
        """Report an event: stamped with the run's id, with no secret in any text."""
        state = self._state
        changes: dict[str, Any] = {}
        if state is not None and event.run_id != state.run_id:
            changes["run_id"] = state.run_id
        if self.variables.secret_values:  # no text of any event ever shows a secret value
            for f in dataclasses.fields(event):
                value = getattr(event, f.name)
                if f.name == "run_id" or isinstance(value, enum.Enum) or not isinstance(value, str):
                    continue  # codes and ids, not free text
                if (masked := self.variables.mask(value)) != value:
                    changes[f.name] = masked
        self._sink(dataclasses.replace(event, **changes) if changes else event)

    def _save(self) -> None:
        state = self._state
        assert state is not None
        ip = state.in_progress if state.in_progress is not None else state.ip
        state.executed = self._instructions[ip].position if ip < len(self._instructions) else state.total
        state.variables = self.variables.to_state()
        save_state(self.data_dir, state)

    def _history(self, status: str | None = None, error: str | None = None, code: int | None = None,
                 reason: ErrorCode | None = None) -> None:
        s = self._state
        assert s is not None
        try:
            append_history(
                self.data_dir,
                HistoryEntry(s.run_id, s.deployment, s.name, s.started_at, now_iso(), status or s.status.value,
                             error, code, s.bytes_transferred, reason.value if reason is not None else None,
                             s.total, [{k: r.get(k) for k in ("index", "name", "status", "exit_code")}
                                       for r in s.results]),
            )
        except OSError as exc:
            log.warning("The run history could not be saved: %s", exc)

    async def _finish(self, status: RunOutcome, error: str | None, code: int | None,
                      reason: ErrorCode | None) -> RunResult:
        """The run ended. Its result is saved first, so a crash before the state is cleared
        makes `resume` report the same result instead of losing it."""
        state = self._state
        assert state is not None
        if status is RunOutcome.SUCCEEDED:
            log.info("Task sequence completed 0x00000000")
        else:
            log.error("Task sequence execution failed with error code %s", _hex(code if code is not None else 1))
            log.error("The task sequence of %s failed: %s", state.deployment, error)
        state.status = RunStatus.SUCCEEDED if status is RunOutcome.SUCCEEDED else RunStatus.FAILED
        state.error, state.error_code = error, code
        state.error_reason = reason.value if reason is not None else None
        state.ip = len(self._instructions)
        try:
            self._save()
        except OSError as exc:
            log.warning("The run state could not be saved: %s", exc)
        self._history(status.value, error, code, reason)
        self._emit(RunFinished(status, error, code, reason=reason))
        self._clear_finished()
        return RunResult(status, error, code, reason=reason)

    def _report_finished(self) -> RunResult:
        """`resume` of a run that had finished, but whose process died before it cleared the state."""
        state = self._state
        assert state is not None and self.center.connection is not None
        status = RunOutcome.SUCCEEDED if state.status is RunStatus.SUCCEEDED else RunOutcome.FAILED
        reason = _reason(state.error_reason)
        log.info("The task sequence of %s had already finished (%s)", state.deployment, status.value)
        self._emit(RunStarted(state.deployment, state.task_sequence, state.name, state.total,
                              self.center.connection, True))
        self._history(status.value, state.error, state.error_code, reason)
        self._emit(RunFinished(status, state.error, state.error_code, reason=reason))
        self._clear_finished()
        return RunResult(status, state.error, state.error_code, reason=reason)

    def _clear_finished(self) -> None:
        """Forget a finished run. Its result is saved and reported: a folder that cannot be
        written now changes nothing (the next run or resume clears it)."""
        try:
            clear_state(self.data_dir)
        except OSError as exc:
            log.warning("The finished run's state could not be removed: %s", exc)

    def _storage_failed(self, exc: OSError) -> RunResult:
        """The data folder cannot be written (full, read-only): stop, keep the last saved state."""
        full = exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
        code = Win32Code.DISK_FULL if full else Win32Code.ACCESS_DENIED
        reason = ErrorCode.DISK_FULL if full else ErrorCode.DATA_FOLDER_UNWRITABLE
        what = "is full" if full else "cannot be written"
        message = (
            f"the data folder {self.data_dir} {what} ({exc.strerror or exc}); the run is kept: "
            "make room or fix the folder, then run `software-center resume`"
        )
        log.error("The task sequence stopped: %s", message)
        self._history(RunOutcome.FAILED.value, message, code, reason)
        self._emit(RunFinished(RunOutcome.FAILED, message, code, reason=reason))
        return RunResult(RunOutcome.FAILED, message, code, reason=reason)

    async def _cancelled(self) -> None:
        state = self._state
        if state is None:
            return
        state.status = RunStatus.CANCELLED
        abandoned: str | None = None
        try:
            if state.in_progress is not None:
                done = self._finished_anyway()
                if done is not None:
                    # The program ended on its own just as the cancel came: the step is done.
                    step = self._instructions[state.in_progress].step
                    log.info("The program of the action (%s) finished before it could be stopped; "
                             "the step counts as done", step.name)
                    self._complete_step(state.in_progress, done, announce_restart=False)
                    state.status = RunStatus.CANCELLED
                elif state.attempt is not None and not await self._attempts.gone(state.attempt, state.child_pgid):
                    # The program outlived the stop (e.g. a second cancel cut the grace
                    # short, or it ignores TERM): keep the attempt, so `resume` waits for it
                    # or stops it, and never starts a second copy beside it.
                    log.warning("The program of the cancelled step is still running; resume will wait for it")
                else:
                    abandoned = self._rewind()
                    state.child_pgid = None
            else:
                state.child_pgid = None
            self._save()
            self._attempts.forget(abandoned)
        except OSError as exc:
            log.error("The run state could not be saved after cancel: %s", exc)
        log.warning("The task sequence of %s was cancelled; it can be resumed", state.deployment)
        message = "cancelled by the user"
        self._history(RunOutcome.CANCELLED.value, message, Win32Code.CANCELLED, ErrorCode.CANCELLED)
        self._emit(RunFinished(RunOutcome.CANCELLED, message, Win32Code.CANCELLED, reason=ErrorCode.CANCELLED))


_CODES = frozenset(code.value for code in ErrorCode)


def _reason(saved: object) -> ErrorCode | None:
    """A failure code read back from saved state (None: none, or one this version lacks)."""
    return ErrorCode(saved) if saved in _CODES else None


def _hex(code: int) -> str:
    """An exit code as ConfigMgr writes it in "(Error: ...)": eight hex digits."""
    return f"{code & 0xFFFFFFFF:08X}"


def _kind(step: Step) -> str:
    return "group" if isinstance(step, GroupStep) else "action"
