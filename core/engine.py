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

Every event goes to the caller's sink and to the log (CMTrace, via `logging`).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import errno
import json
import logging
import os
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .catalog import (
    Catalog,
    CheckReadinessStep,
    DownloadPackageContentStep,
    GroupStep,
    InstallPackageStep,
    RestartStep,
    RunCommandStep,
    SetVariableStep,
    Step,
    UpgradeOsStep,
    parse_catalog,
    referenced_packages,
)
from .cmtrace import CMTraceHandler
from .content import RetryPolicy, ordered_locations
from .eligibility import LaunchMode, Refusal
from .errors import CatalogError, ContentError, RunError
from .events import (
    DownloadFinished,
    Event,
    EventSink,
    RestartPending,
    RunFinished,
    RunRefused,
    RunStarted,
    StepFinished,
    StepProgressed,
    StepSkipped,
    StepStarted,
)
from .process import (
    ProgramError,
    _Output,
    _reported_exit_code,
    format_exit_code,
    kill_process_group,
    run_program,
    windows_setup_error,
)
from .fsutil import atomic_write_bytes, try_lock, unlock
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
    steps_dir,
)
from .variables import Variables, evaluate_condition, expand

if TYPE_CHECKING:
    from .center import SoftwareCenter

__all__ = ["Instruction", "RunResult", "TaskSequenceRunner", "flatten"]

log = logging.getLogger("software_center.engine")

# Exit codes the engine itself reports for steps without a program.
ERROR_DISK_FULL = 0x80070070
ERROR_NOT_ENOUGH_MEMORY = 0x8007000E
ERROR_CONTENT = 0x80091007  # ConfigMgr's "hash mismatch / content download" family
ERROR_CANCELLED = 0x800704C7  # ERROR_CANCELLED
ERROR_PROGRAM = 0x80070002  # file not found
ERROR_ACCESS_DENIED = 0x80070005  # the data folder cannot be written
SETUP_NO_ISSUES = 0xC1900210  # compatibility scan found nothing: success for scan-only
RESTART_CODE = 3010

_LAUNCH_MODE_VAR = {"software-center": "SMS", "media": "CD", "pxe": "PXE"}

# Every step's program runs under this host, which records how it ended even when this
# process dies meanwhile (see core/stephost.py for why and how).
STEP_HOST = Path(__file__).with_name("stephost.py")
_HOST_POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class Instruction:
    """One node of the flattened tree. `end` is the index just past it (past its children)."""

    step: Step
    parent: int | None
    end: int
    leaves: int  # executable steps inside (enabled leaves of enabled groups); 1 for an enabled leaf


def flatten(steps: list[Step]) -> list[Instruction]:
    out: list[Instruction] = []

    def add(items: list[Step], parent: int | None) -> None:
        for step in items:
            i = len(out)
            out.append(Instruction(step, parent, i + 1, 0))  # placeholder, fixed below
            if isinstance(step, GroupStep):
                add(step.steps, i)
                leaves = sum(out[j].leaves for j in range(i + 1, len(out)) if out[j].parent == i)
            else:
                leaves = 1
            out[i] = Instruction(step, parent, len(out), leaves if step.enabled else 0)

    add(steps, None)
    return out


def step_type(step: Step) -> str:
    return str(type(step).__struct_config__.tag)


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run (or resume) ended."""

    status: str  # succeeded | failed | cancelled | restart_pending | refused
    error: str | None = None
    error_code: int | None = None
    refusal: Refusal | None = None

    @property
    def exit_code(self) -> int:
        return {"succeeded": 0, "refused": 3, "failed": 4, "restart_pending": 5, "cancelled": 130}[self.status]


@dataclass(frozen=True, slots=True)
class _Outcome:
    ok: bool
    exit_code: int | None
    error: str | None = None
    restart: bool = False
    restart_countdown: int = 0
    restart_message: str | None = None


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
        self._vars = Variables()
        self._instructions: list[Instruction] = []
        self._ready: dict[str, Path] = {}  # packages verified during this process
        self._catalog: Catalog | None = None

    # --- public ----------------------------------------------------------------------

    async def run(
        self,
        deployment_id: str,
        launch_mode: LaunchMode = LaunchMode.SOFTWARE_CENTER,
        variables: Mapping[str, str] | None = None,
    ) -> RunResult:
        """Start a deployment. Raises RunError if another run holds the data folder or waits for resume."""
        center = self.center
        assert center.catalog is not None and center.connection is not None, "open the center first"
        self._lock.acquire()
        try:
            pending = load_state(self.data_dir)
            if pending is not None and pending.status not in (RunStatus.SUCCEEDED, RunStatus.FAILED):
                raise RunError(
                    f"the run of {pending.deployment} ({pending.name}) has not finished; "
                    "continue it with `software-center resume`"
                )
            verdict = center.verdict(deployment_id, launch_mode)
            if verdict.refusal is not None:
                assert verdict.message is not None
                log.warning("%s. Refused (%s).", verdict.log, verdict.refusal.value)
                self._emit(RunRefused(deployment_id, verdict.refusal.value, verdict.message))
                return RunResult("refused", verdict.message, None, verdict.refusal)
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
                name=ts.name,
                site=center.site_setting,
                connection_setting=center.connection_setting,
                launch_mode=launch_mode.value,
                started_at=now_iso(),
                total=sum(i.leaves for i in self._instructions if i.parent is None),
            )
            self._state = state
            self._vars = self._initial_variables(dep.id, launch_mode, variables or {})
            self._register_secrets()
            state.variables = self._vars.to_state()
            atomic_write_bytes(state_dir(self.data_dir) / "catalog.json", center.catalog_bytes)
            self._save()
            self._history()
            return await self._drive(resumed=False)
        finally:
            self._lock.release()

    async def resume(self) -> RunResult:
        """Continue the saved run. Raises RunError when there is none or it is held elsewhere."""
        center = self.center
        assert center.catalog is not None and center.connection is not None, "open the center first"
        self._lock.acquire()
        try:
            state = load_state(self.data_dir)
            if state is None:
                raise RunError("there is no task sequence run to resume")
            catalog = self._saved_catalog(center.catalog.url) or center.catalog
            dep = catalog.deployment(state.deployment)
            if dep is None or dep.task_sequence not in catalog.task_sequences:
                raise RunError(f"the saved run's deployment {state.deployment} is not in its catalog")
            self._catalog = catalog
            self._instructions = flatten(catalog.task_sequences[dep.task_sequence].steps)
            n = len(self._instructions)
            if state.ip > n or (state.in_progress is not None and state.in_progress >= n):
                raise RunError(
                    f"the saved run state {state_dir(self.data_dir) / 'run.json'} does not match the task "
                    f"sequence of {state.deployment}; delete it to discard that run"
                )
            self._state = state
            self._vars = Variables.from_state(state.variables)
            self._register_secrets()
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
            raise RunError(f"the saved catalog of the run ({path}) cannot be read: {exc.strerror or exc}") from None
        try:
            return parse_catalog(data, url)
        except CatalogError as exc:
            raise RunError(f"the saved catalog of the run ({path}) is damaged ({exc}); delete the run to discard it") from None

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
            "%s the task sequence '%s' (%s) of deployment %s; connection: %s; launch mode: %s",
            "Resuming" if resumed else "Starting",
            state.name,
            state.task_sequence,
            state.deployment,
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
                    return await self._finish("failed", problem[0], problem[1])
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
            return await self._finish("failed" if state.failed else "succeeded", *self._failure())
        except ContentError as exc:
            return await self._finish("failed", str(exc), ERROR_CONTENT)
        except OSError as exc:
            return self._storage_failed(exc)
        except asyncio.CancelledError:
            await asyncio.shield(self._cancelled())
            raise

    def _failure(self) -> tuple[str | None, int | None]:
        assert self._state is not None
        if not self._state.failed:
            return None, None
        last = self._state.results[-1] if self._state.results else {}
        return last.get("error"), last.get("exit_code")

    async def _step_once(self) -> RunResult | None:
        """Execute the instruction at the pointer; a RunResult when the run stops."""
        state = self._state
        assert state is not None
        ip = state.ip
        ins = self._instructions[ip]
        step = ins.step
        if not step.enabled:
            log.info("The %s '%s' is disabled; skipped", _kind(step), step.name)
            self._advance(ip, ins.end)
            self._save()
            self._emit(StepSkipped(step.name, "disabled", state.total))
            return None
        if not evaluate_condition(step.condition, self._vars):
            log.info("The condition of %s '%s' evaluated to false; skipped", _kind(step), step.name)
            state.total -= ins.leaves
            self._advance(ip, ins.end)
            self._save()
            self._emit(StepSkipped(step.name, "condition", state.total))
            return None
        if isinstance(step, GroupStep):
            log.info("Entering group '%s' (instruction pointer %d)", step.name, ip)
            state.ip = ip + 1
            self._save()
            return None

        state.executed += 1
        index = state.executed
        state.in_progress = ip
        state.attempt = None
        state.step_started_at = None
        self._vars.set("_SMSTSCurrentActionName", step.name)
        self._save()
        log.info("Start executing an instruction. Instruction name: %s. Instruction pointer: %d", step.name, ip)
        self._emit(StepStarted(index, state.total, step.name, step_type(step)))
        outcome = await self._execute(step, index)
        return self._complete_step(ip, index, outcome)

    def _complete_step(self, ip: int, index: int, outcome: _Outcome, *, announce_restart: bool = True) -> RunResult | None:
        """Record a finished step, move the pointer, save, then report it."""
        state = self._state
        assert state is not None
        ins = self._instructions[ip]
        step = ins.step
        code = outcome.exit_code if outcome.exit_code is not None else (0 if outcome.ok else 1)
        self._vars.set("_SMSTSLastActionRetCode", str(code))
        self._vars.set("_SMSTSLastActionSucceeded", "true" if outcome.ok else "false")
        self._vars.set("_SMSTSLastActionName", step.name)
        status = "succeeded" if outcome.ok else "failed"
        error = self._vars.mask(outcome.error) if outcome.error is not None else None
        state.results.append(
            {"index": index, "name": step.name, "status": status, "exit_code": outcome.exit_code, "error": error}
        )
        attempt = state.attempt
        state.in_progress = None
        state.child_pgid = None
        state.attempt = None
        state.step_started_at = None
        if outcome.ok:
            log.info("The action (%s) completed successfully with exit code %s", step.name, format_exit_code(code))
            next_ip: int | None = ins.end
        else:
            log.error("The action (%s) failed with exit code %s: %s", step.name, format_exit_code(code), error)
            next_ip = self._after_failure(ip)
        finished = StepFinished(index, step.name, status, outcome.exit_code, error)
        if next_ip is None:
            state.failed = True
            state.ip = len(self._instructions)
            self._save()
            self._forget_attempt(attempt)
            self._emit(finished)
            return None
        self._advance(ip, next_ip)
        if outcome.restart:
            state.status = RunStatus.RESTART_PENDING
            self._save()
            self._forget_attempt(attempt)
            self._emit(finished)
            log.info("A restart is required after '%s'; the run is saved and resumes after the restart", step.name)
            if not announce_restart:
                return None
            self._emit(RestartPending(step.name, outcome.restart_countdown, outcome.restart_message))
            self._history("restart_pending")
            self._emit(RunFinished("restart_pending", None, None))
            return RunResult("restart_pending")
        self._save()
        self._forget_attempt(attempt)
        self._emit(finished)
        return None

    def _after_failure(self, ip: int) -> int | None:
        """Where execution continues after the step at `ip` failed; None: the sequence fails."""
        ins = self._instructions[ip]
        if ins.step.continue_on_error:
            log.warning("'%s' failed but continues on error", ins.step.name)
            return ins.end
        g = ins.parent
        while g is not None:
            group = self._instructions[g]
            if group.step.continue_on_error:
                log.warning("The group '%s' failed but continues on error", group.step.name)
                self._skip_rest(ip + 1, group.end)
                return group.end
            log.error("The group '%s' failed", group.step.name)
            g = group.parent
        return None

    def _skip_rest(self, start: int, end: int) -> None:
        """Steps a failed group will not run no longer count towards the total."""
        assert self._state is not None
        i = start
        while i < end:
            ins = self._instructions[i]
            self._state.total -= ins.leaves
            i = ins.end

    def _advance(self, ip: int, new_ip: int) -> None:
        """Move the pointer, logging the end of each group it leaves."""
        assert self._state is not None
        g = self._instructions[ip].parent
        while g is not None and self._instructions[g].end <= new_ip:
            log.info("Leaving group '%s'", self._instructions[g].step.name)
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
        state.executed -= 1
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
                self._emit(StepStarted(state.executed, state.total, step.name, step_type(step)))

        outcome: _Outcome | None = None
        if state.attempt is not None and isinstance(step, (RunCommandStep, InstallPackageStep, UpgradeOsStep)):
            outcome = await self._recover_attempt(step, state.attempt, announce)
        elif state.child_pgid is not None:
            await kill_process_group(state.child_pgid)
        if outcome is None:
            log.info("The previous run stopped during '%s'; that step runs again", step.name)
            abandoned = self._rewind()
            self._save()
            self._forget_attempt(abandoned)
            return None
        log.info(
            "The program of '%s' ended while no process ran the task sequence; its result is used "
            "and the step does not run again", step.name,
        )
        announce()
        return self._complete_step(ip, state.executed, outcome)

    async def _recover_attempt(
        self, step: RunCommandStep | InstallPackageStep | UpgradeOsStep, token: str, announce: Callable[[], None]
    ) -> _Outcome | None:
        """Wait for the host of an interrupted attempt to end (up to the step's timeout),
        then its result; None when the program did not end by itself (run the step again)."""
        state = self._state
        assert state is not None
        base = steps_dir(self.data_dir) / token
        deadline = None if state.step_started_at is None else state.step_started_at + step.timeout_s
        stopped = waiting = False
        while True:
            fd = try_lock(_attempt_file(base, ".lock"))
            if fd is not None:
                break
            if not waiting:
                waiting = True
                log.info("The program of '%s' started before the interruption is still running; waiting for it", step.name)
                announce()
            try:
                if deadline is not None and time.time() >= deadline and not stopped:
                    log.warning(
                        "The program of '%s' did not finish within %s s; stopping it and its child processes",
                        step.name, step.timeout_s,
                    )
                    stopped = True
                    await asyncio.shield(self._stop_host(base))
                await asyncio.sleep(_HOST_POLL_S)
            except asyncio.CancelledError:
                # Cancelled while waiting: nothing of the old program may outlive the cancel.
                await asyncio.shield(self._stop_host(base))
                raise
        try:
            record = _read_record(base)
            if record is None:
                # The fence: a host that has not started its program yet never will.
                _unlink(_attempt_file(base, ".ticket"))
        finally:
            unlock(fd)
        if stopped:
            return _Outcome(False, None, f"the program did not finish within {step.timeout_s} s and was stopped")
        if record is None or (record["returncode"] < 0 and record["terminated"]):
            # Never started, or stopped by a cancel/timeout that the dead process was doing.
            if state.child_pgid is not None:
                await kill_process_group(state.child_pgid)
            return None
        return self._outcome_from_record(step, record)

    async def _stop_host(self, base: Path) -> None:
        assert self._state is not None
        pgid = self._state.child_pgid or _host_pid(base)
        if pgid is not None:
            await kill_process_group(pgid)

    def _outcome_from_record(self, step: RunCommandStep | InstallPackageStep | UpgradeOsStep,
                             record: Mapping[str, Any]) -> _Outcome:
        if record.get("spawn_error"):
            return _Outcome(False, ERROR_PROGRAM, str(record["spawn_error"]))
        output = _Output(None, None)
        output.feed(record["tail"])
        output.close()
        code = _reported_exit_code(record["returncode"], output.declared_exit_code)
        log.info("Process completed with exit code %s", format_exit_code(code))
        return self._judge(step, code, output.tail)

    def _finished_anyway(self) -> _Outcome | None:
        """On cancel: the running program's successful result if it ended before it could be stopped."""
        state = self._state
        assert state is not None and state.in_progress is not None
        step = self._instructions[state.in_progress].step
        if state.attempt is None or not isinstance(step, (RunCommandStep, InstallPackageStep, UpgradeOsStep)):
            return None
        record = _read_record(steps_dir(self.data_dir) / state.attempt)
        if record is None or record["returncode"] < 0 or record.get("spawn_error"):
            return None
        outcome = self._outcome_from_record(step, record)
        return outcome if outcome.ok else None

    async def _host_gone(self, token: str) -> bool:
        """Whether no host runs the attempt's program any more (stopping it if one does)."""
        base = steps_dir(self.data_dir) / token
        for _ in range(2):
            fd = try_lock(_attempt_file(base, ".lock"))
            if fd is not None:
                unlock(fd)
                return True
            await self._stop_host(base)
        return False

    def _forget_attempt(self, token: str | None) -> None:
        if token is not None:
            base = steps_dir(self.data_dir) / token
            for suffix in (".json", ".ticket", ".lock"):
                _unlink(_attempt_file(base, suffix))

    # --- step types -----------------------------------------------------------------

    async def _execute(self, step: Step, index: int) -> _Outcome:
        try:
            if isinstance(step, CheckReadinessStep):
                return self._check_readiness(step)
            if isinstance(step, SetVariableStep):
                value = expand(step.value, self._vars)
                self._vars.set(step.variable, value, secret=step.secret)
                self._register_secrets()
                log.info("Set variable %s = %s", step.variable, self._vars.mask(value) if not step.secret else "********")
                return _Outcome(True, 0)
            if isinstance(step, RestartStep):
                return _Outcome(True, 0, restart=True, restart_countdown=step.timeout_s, restart_message=step.message)
            if isinstance(step, DownloadPackageContentStep):
                return await self._download_step(step)
            if isinstance(step, (RunCommandStep, InstallPackageStep, UpgradeOsStep)):
                return await self._program_step(step, index)
        except ContentError as exc:
            return _Outcome(False, ERROR_CONTENT, str(exc))
        raise AssertionError(f"unknown step type {type(step).__name__}")

    def _check_readiness(self, step: CheckReadinessStep) -> _Outcome:
        if step.min_free_disk_mb is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            free_mb = shutil.disk_usage(self.data_dir).free // (1024 * 1024)
            log.info("Free disk space on the data folder's disk: %d MB (needs %d MB)", free_mb, step.min_free_disk_mb)
            if free_mb < step.min_free_disk_mb:
                return _Outcome(
                    False, ERROR_DISK_FULL, f"not enough free disk space: {free_mb} MB free, {step.min_free_disk_mb} MB needed"
                )
        if step.min_memory_mb is not None:
            mem_mb = _physical_memory_mb()
            if mem_mb is None:
                log.warning("The amount of memory could not be read; the memory check is skipped")
            else:
                log.info("Physical memory: %d MB (needs %d MB)", mem_mb, step.min_memory_mb)
                if mem_mb < step.min_memory_mb:
                    return _Outcome(
                        False, ERROR_NOT_ENOUGH_MEMORY, f"not enough memory: {mem_mb} MB, {step.min_memory_mb} MB needed"
                    )
        return _Outcome(True, 0)

    async def _download_step(self, step: DownloadPackageContentStep) -> _Outcome:
        errors: list[str] = []
        for n, pid in enumerate(step.packages, start=1):
            try:
                folder = await self._ensure_package(pid)
            except ContentError as exc:
                errors.append(f"{pid}: {exc}")
                if not step.continue_download_on_error:
                    break
                log.warning("Download of %s failed; continuing with the other packages", pid)
                continue
            if step.path_variable:
                self._vars.set(f"{step.path_variable}{n:02d}", str(folder))
                log.info("Set %s%02d to the folder of %s", step.path_variable, n, pid)
        if errors:
            return _Outcome(False, ERROR_CONTENT, "; ".join(errors))
        return _Outcome(True, 0)

    async def _program_step(self, step: RunCommandStep | InstallPackageStep | UpgradeOsStep, index: int) -> _Outcome:
        state = self._state
        assert state is not None
        if step.package is not None:
            cwd = await self._ensure_package(step.package)
        else:
            cwd = self.data_dir / "work"
            cwd.mkdir(parents=True, exist_ok=True)
        argv = [expand(a, self._vars) for a in step.command]
        if isinstance(step, UpgradeOsStep) and step.compat_scan_only:
            argv += ["/Compat", "ScanOnly"]
        log.info("Executing command line: %s (in %s)", self._vars.mask(" ".join(argv)), cwd)

        def progress(percent: float, text: str) -> None:
            self._emit(StepProgressed(index, percent, self._vars.mask(text)))

        def started(pgid: int) -> None:
            state.child_pgid = pgid
            self._save()

        # The attempt is saved before its host exists, and the host runs the program
        # only while it holds the attempt's ticket: see _recover_attempt.
        token = uuid.uuid4().hex
        base = steps_dir(self.data_dir) / token
        base.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(_attempt_file(base, ".ticket"), os.O_WRONLY | os.O_CREAT, 0o600))
        state.attempt = token
        state.step_started_at = time.time()
        self._save()
        host = [sys.executable, "-I", str(STEP_HOST), str(base), "--", *argv]
        try:
            result = await run_program(
                host, cwd=cwd, env=None, timeout_s=step.timeout_s, on_progress=progress, on_start=started
            )
        except ProgramError as exc:
            return _Outcome(False, ERROR_PROGRAM, str(exc))
        if result.timed_out:
            return _Outcome(False, None, f"the program did not finish within {step.timeout_s} s and was stopped")
        record = _read_record(base)
        if record is not None and record.get("spawn_error"):
            return _Outcome(False, ERROR_PROGRAM, str(record["spawn_error"]))
        code = result.exit_code
        assert code is not None
        log.info("Process completed with exit code %s", format_exit_code(code))
        return self._judge(step, code, result.output_tail)

    def _judge(self, step: RunCommandStep | InstallPackageStep | UpgradeOsStep, code: int, tail: str) -> _Outcome:
        """A program's exit code (and output) as the step's outcome."""
        if isinstance(step, RunCommandStep) and step.output_variable:
            self._vars.set(step.output_variable, tail)
        if isinstance(step, UpgradeOsStep):
            success = code in (0, RESTART_CODE) or (step.compat_scan_only and code == SETUP_NO_ISSUES)
        else:
            success = code in step.success_codes
        if not success:
            words = windows_setup_error(code) if isinstance(step, UpgradeOsStep) else None
            return _Outcome(False, code, words or f"the program exited with code {format_exit_code(code)}")
        return _Outcome(True, code, restart=code == RESTART_CODE)

    # --- content ---------------------------------------------------------------------

    async def _ensure_package(self, pid: str) -> Path:
        """The package's verified folder, downloading it now if needed (on demand)."""
        catalog = self._catalog
        assert catalog is not None
        pkg = catalog.packages[pid]
        store = self.center.store
        if pid in self._ready and store.is_complete(pid, pkg):
            return self._ready[pid]
        self._vars.set("_SMSTSCurrentActionPackageID", pid)
        connection = self.center.connection
        assert connection is not None
        folder = await store.fetch(
            pid,
            pkg,
            catalog.url,
            connection,
            on_event=self._emit,
            retry=RetryPolicy.from_variables(self._vars),
            allow_cloud=self.center.options.allow_cloud_content,
        )
        self._ready[pid] = folder
        return folder

    def _preflight(self) -> tuple[str, int] | None:
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
                return msg, ERROR_CONTENT
            needed += pkg.total_bytes - store.cached_bytes(pid, pkg)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.data_dir).free
        if needed > free:
            msg = (
                f"not enough free disk space for the content: {needed // 2**20} MB to download, "
                f"{free // 2**20} MB free"
            )
            log.error("Pre-flight check failed: %s", msg)
            return msg, ERROR_DISK_FULL
        log.info("Pre-flight check passed: %d MB to download", needed // 2**20)
        return None

    # --- bookkeeping -----------------------------------------------------------------

    def _initial_variables(self, deployment_id: str, launch_mode: LaunchMode, given: Mapping[str, str]) -> Variables:
        state = self._state
        assert state is not None
        v = Variables()
        v.set("PYTHON", sys.executable)
        v.set("_SMSTSPackageID", state.task_sequence)
        v.set("_SMSTSPackageName", state.name)
        v.set("_SMSTSAdvertID", deployment_id)
        v.set("_SMSTSLaunchMode", _LAUNCH_MODE_VAR[launch_mode.value])
        v.set("_SMSTSInWinPE", "false")
        v.set("_SMSTSMachineName", socket.gethostname())
        v.set("_SMSTSMDataPath", str(self.data_dir))
        v.set("_SMSTSLogPath", str(self.data_dir / "logs"))
        v.set("_SMSTSClientCache", str(self.data_dir / "cache"))
        v.set("_SMSTSSiteCode", self._catalog.site.code if self._catalog else "")
        v.set("_SMSTSInternetClient", "true" if self.center.connection == "internet" else "false")
        for name, value in given.items():
            v.set(name, value)
        return v

    def _register_secrets(self) -> None:
        for handler in logging.getLogger("software_center").handlers:
            if isinstance(handler, CMTraceHandler):
                for value in self._vars.secret_values:
                    handler.add_secret(value)

    def _emit(self, event: Event) -> None:
        if isinstance(event, DownloadFinished) and self._state is not None:
            self._state.bytes_transferred += event.bytes_transferred
        if self._vars.secret_values:  # no text of any event ever shows a secret value
            masked = {
                f.name: self._vars.mask(value)
                for f in dataclasses.fields(event)
                if isinstance(value := getattr(event, f.name), str)
            }
            if any(masked[name] != getattr(event, name) for name in masked):
                event = dataclasses.replace(event, **masked)
        self._sink(event)

    def _save(self) -> None:
        assert self._state is not None
        self._state.variables = self._vars.to_state()
        save_state(self.data_dir, self._state)

    def _history(self, status: str | None = None, error: str | None = None, code: int | None = None) -> None:
        s = self._state
        assert s is not None
        try:
            append_history(
                self.data_dir,
                HistoryEntry(s.run_id, s.deployment, s.name, s.started_at, now_iso(), status or s.status.value,
                             error, code, s.bytes_transferred),
            )
        except OSError as exc:
            log.warning("The run history could not be saved: %s", exc)

    async def _finish(self, status: str, error: str | None, code: int | None) -> RunResult:
        """The run ended. Its result is saved first, so a crash before the state is cleared
        makes `resume` report the same result instead of losing it."""
        state = self._state
        assert state is not None
        if status == "succeeded":
            log.info("Task sequence '%s' completed successfully (0x00000000)", state.name)
        else:
            log.error(
                "Task sequence '%s' failed with error %s: %s",
                state.name,
                format_exit_code(code) if code is not None else "(none)",
                error,
            )
        state.status = RunStatus.SUCCEEDED if status == "succeeded" else RunStatus.FAILED
        state.error, state.error_code = error, code
        state.ip = len(self._instructions)
        try:
            self._save()
        except OSError as exc:
            log.warning("The run state could not be saved: %s", exc)
        self._history(status, error, code)
        self._emit(RunFinished(status, error, code))
        clear_state(self.data_dir)
        return RunResult(status, error, code)

    def _report_finished(self) -> RunResult:
        """`resume` of a run that had finished, but whose process died before it cleared the state."""
        state = self._state
        assert state is not None and self.center.connection is not None
        status = "succeeded" if state.status is RunStatus.SUCCEEDED else "failed"
        log.info("The task sequence '%s' had already finished (%s)", state.name, status)
        self._emit(RunStarted(state.deployment, state.task_sequence, state.name, state.total,
                              self.center.connection, True))
        self._history(status, state.error, state.error_code)
        self._emit(RunFinished(status, state.error, state.error_code))
        clear_state(self.data_dir)
        return RunResult(status, state.error, state.error_code)

    def _storage_failed(self, exc: OSError) -> RunResult:
        """The data folder cannot be written (full, read-only): stop, keep the last saved state."""
        full = exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
        code = ERROR_DISK_FULL if full else ERROR_ACCESS_DENIED
        what = "is full" if full else "cannot be written"
        message = (
            f"the data folder {self.data_dir} {what} ({exc.strerror or exc}); the run is kept: "
            "make room or fix the folder, then run `software-center resume`"
        )
        log.error("The task sequence stopped: %s", message)
        self._history("failed", message, code)
        self._emit(RunFinished("failed", message, code))
        return RunResult("failed", message, code)

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
                    log.info("The program of '%s' finished before it could be stopped; the step counts as done",
                             step.name)
                    self._complete_step(state.in_progress, state.executed, done, announce_restart=False)
                    state.status = RunStatus.CANCELLED
                elif state.attempt is not None and not await self._host_gone(state.attempt):
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
            self._forget_attempt(abandoned)
        except OSError as exc:
            log.error("The run state could not be saved after cancel: %s", exc)
        log.warning("The task sequence '%s' was cancelled; it can be resumed", state.name)
        self._history("cancelled", "cancelled by the user", ERROR_CANCELLED)
        self._emit(RunFinished("cancelled", "cancelled by the user", ERROR_CANCELLED))


# --- step program attempts (see core/stephost.py) -----------------------------------------


def _attempt_file(base: Path, suffix: str) -> Path:
    return base.with_name(base.name + suffix)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.debug("Could not remove %s: %s", path, exc)


def _host_pid(base: Path) -> int | None:
    """The pid a host wrote into its lock file (its process group: it leads it)."""
    try:
        text = _attempt_file(base, ".lock").read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() and int(text) > 1 else None


def _read_record(base: Path) -> dict[str, Any] | None:
    """The host's result for the attempt, or None (none yet, or not understood); "tail" as bytes."""
    try:
        raw = json.loads(_attempt_file(base, ".json").read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("The result of a step's program is unreadable (%s); ignored", exc)
        return None
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("returncode"), int)
        or not isinstance(raw.get("terminated"), bool)
        or not isinstance(raw.get("tail"), str)
        or not isinstance(raw.get("spawn_error"), (str, type(None)))
    ):
        log.warning("The result of a step's program is not understood; ignored")
        return None
    try:
        raw["tail"] = base64.b64decode(raw["tail"], validate=True)
    except ValueError:
        log.warning("The result of a step's program is not understood; ignored")
        return None
    return raw


def _kind(step: Step) -> str:
    return "group" if isinstance(step, GroupStep) else "step"


def _physical_memory_mb() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError, AttributeError):
        pass
    if sys.platform == "win32":
        import ctypes

        class _MemStatus(ctypes.Structure):
            _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                        ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                        ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                        ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                        ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

        status = _MemStatus()
        status.dwLength = ctypes.sizeof(_MemStatus)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.ullTotalPhys // (1024 * 1024))
    return None
