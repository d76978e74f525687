"""Step executors: what each kind of step does, and how its result is judged.

`StepExecutor.execute(step, ip, index)` runs one enabled, non-group step whose condition
held, and returns its `Outcome`; it never raises for a step's own failure (content that
cannot be had, a program that fails, times out or cannot start): those are outcomes with
a stable `reason` (core/errors.ErrorCode) and, where there is one, a number. The run's
bookkeeping (pointer, state, events about the step itself) belongs to the engine; an
executor only reports progress and tells the engine when a program attempt begins.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .attempts import AttemptRecord, Attempts
from .catalog import (
    CheckReadinessStep,
    DownloadPackageContentStep,
    InstallPackageStep,
    RestartStep,
    RunCommandStep,
    SetVariableStep,
    Step,
    UpgradeOsStep,
)
from .errors import ContentError, ErrorCode, ProgramError, Win32Code
from .events import StepProgressed
from .process import blocking_app, exit_code_from_output, format_exit_code, run_program, setup_block_error
from .variables import Variables, expand

__all__ = ["Outcome", "ProgramStep", "StepExecutor"]

log = logging.getLogger("software_center.engine")

ProgramStep = RunCommandStep | InstallPackageStep | UpgradeOsStep


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a step ended. `exit_code`: the program's (0 for steps without one; None when it
    was stopped); `reason`: the stable failure code (None on success)."""

    ok: bool
    exit_code: int | None
    error: str | None = None
    reason: ErrorCode | None = None
    restart: bool = False
    restart_countdown: int = 0
    restart_message: str | None = None


def failed(reason: ErrorCode, error: str, exit_code: int | None) -> Outcome:
    return Outcome(False, exit_code, error, reason)


def timed_out(step: ProgramStep) -> Outcome:
    return failed(ErrorCode.PROGRAM_TIMEOUT,
                  f"the program did not finish within {step.timeout_s} s and was stopped", None)


class RunHooks(Protocol):
    """What an executor needs from the run that owns it."""

    variables: Variables

    def emit_progress(self, event: StepProgressed) -> None: ...
    def attempt_starting(self, token: str, started_at: float) -> None: ...
    def program_started(self, pgid: int) -> None: ...
    def secrets_changed(self) -> None: ...


class StepExecutor:
    """Runs steps for one run: `ensure_package(pid)` gives a package's verified folder."""

    def __init__(self, data_dir: Path, hooks: RunHooks, attempts: Attempts,
                 ensure_package: Callable[[str], Awaitable[Path]]) -> None:
        self.data_dir = data_dir
        self._hooks = hooks
        self._attempts = attempts
        self._ensure_package = ensure_package

    @property
    def _vars(self) -> Variables:
        return self._hooks.variables

    async def execute(self, step: Step, ip: int, index: int) -> Outcome:
        try:
            if isinstance(step, CheckReadinessStep):
                return self._check_readiness(step)
            if isinstance(step, SetVariableStep):
                value = expand(step.value, self._vars)
                self._vars.set(step.variable, value, secret=step.secret)
                self._hooks.secrets_changed()
                log.info("Set variable %s = %s", step.variable,
                         self._vars.mask(value) if not step.secret else "********")
                return Outcome(True, 0)
            if isinstance(step, RestartStep):
                return Outcome(True, 0, restart=True, restart_countdown=step.timeout_s, restart_message=step.message)
            if isinstance(step, DownloadPackageContentStep):
                return await self._download(step)
            if isinstance(step, ProgramStep):
                return await self._program(step, ip, index)
        except ContentError as exc:
            return failed(exc.code, str(exc), Win32Code.CONTENT_FAILED)
        raise AssertionError(f"unknown step type {type(step).__name__}")

    def _check_readiness(self, step: CheckReadinessStep) -> Outcome:
        if step.min_free_disk_mb is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            free_mb = shutil.disk_usage(self.data_dir).free // (1024 * 1024)
            log.info("Free disk space on the data folder's disk: %d MB (needs %d MB)", free_mb, step.min_free_disk_mb)
            if free_mb < step.min_free_disk_mb:
                return failed(ErrorCode.DISK_FULL,
                              f"not enough free disk space: {free_mb} MB free, {step.min_free_disk_mb} MB needed",
                              Win32Code.DISK_FULL)
        if step.min_memory_mb is not None:
            mem_mb = physical_memory_mb()
            if mem_mb is None:
                log.warning("The amount of memory could not be read; the memory check is skipped")
            else:
                log.info("Physical memory: %d MB (needs %d MB)", mem_mb, step.min_memory_mb)
                if mem_mb < step.min_memory_mb:
                    return failed(ErrorCode.NOT_ENOUGH_MEMORY,
                                  f"not enough memory: {mem_mb} MB, {step.min_memory_mb} MB needed",
                                  Win32Code.NOT_ENOUGH_MEMORY)
        return Outcome(True, 0)

    async def _download(self, step: DownloadPackageContentStep) -> Outcome:
        errors: list[str] = []
        reason: ErrorCode | None = None
        for n, pid in enumerate(step.packages, start=1):
            try:
                folder = await self._ensure_package(pid)
            except ContentError as exc:
                errors.append(f"{pid}: {exc}")
                reason = reason or exc.code
                if not step.continue_download_on_error:
                    break
                log.warning("Download of %s failed; continuing with the other packages", pid)
                continue
            if step.path_variable:
                self._vars.set(f"{step.path_variable}{n:02d}", str(folder))
                log.info("Set %s%02d to the folder of %s", step.path_variable, n, pid)
        if reason is not None:
            return failed(reason, "; ".join(errors), Win32Code.CONTENT_FAILED)
        return Outcome(True, 0)

    async def _program(self, step: ProgramStep, ip: int, index: int) -> Outcome:
        if step.package is not None:
            cwd = await self._ensure_package(step.package)
        else:
            cwd = self.data_dir / "work"
            cwd.mkdir(parents=True, exist_ok=True)
        if isinstance(step, RunCommandStep) and step.working_directory is not None:
            # A relative folder is taken from the package's folder (or the work folder).
            cwd = cwd / expand(step.working_directory, self._vars)
        argv = [expand(a, self._vars) for a in step.command]
        if isinstance(step, UpgradeOsStep) and step.compat_scan_only:
            argv += ["/Compat", "ScanOnly"]
        log.info("Executing command line: %s (in %s)", self._vars.mask(" ".join(argv)), cwd)

        def progress(percent: float, text: str) -> None:
            self._hooks.emit_progress(StepProgressed(index, percent, self._vars.mask(text), ip=ip))

        # The attempt is saved before its host exists, and the host runs the program
        # only while it holds the attempt's ticket (core/attempts.py).
        token = uuid.uuid4().hex
        self._attempts.new_ticket(token)
        self._hooks.attempt_starting(token, time.time())
        try:
            result = await run_program(
                self._attempts.host_command(token, argv), cwd=cwd, env=None, timeout_s=step.timeout_s,
                on_progress=progress, on_start=self._hooks.program_started,
            )
        except ProgramError as exc:
            return failed(exc.code, str(exc), Win32Code.FILE_NOT_FOUND)
        if result.timed_out:
            return timed_out(step)
        record = self._attempts.record(token)
        if record is not None and record.spawn_error:
            return failed(ErrorCode.PROGRAM_NOT_STARTED, record.spawn_error, Win32Code.FILE_NOT_FOUND)
        code = result.exit_code
        assert code is not None
        log.info("Process completed with exit code %s", format_exit_code(code))
        return self.judge(step, code, result.output_tail)

    def from_record(self, step: ProgramStep, record: AttemptRecord) -> Outcome:
        """The outcome of a program that ended while no engine ran, from its host's record."""
        if record.spawn_error:
            return failed(ErrorCode.PROGRAM_NOT_STARTED, record.spawn_error, Win32Code.FILE_NOT_FOUND)
        code, tail = exit_code_from_output(record.returncode, record.output)
        log.info("Process completed with exit code %s", format_exit_code(code))
        return self.judge(step, code, tail)

    def judge(self, step: ProgramStep, code: int, tail: str) -> Outcome:
        """A program's exit code (and output) as the step's outcome."""
        if isinstance(step, RunCommandStep) and step.output_variable:
            self._vars.set(step.output_variable, tail)
        if isinstance(step, UpgradeOsStep):
            success = code in (0, Win32Code.REBOOT_REQUIRED) or (
                step.compat_scan_only and code == Win32Code.SETUP_NO_ISSUES)
        else:
            success = code in step.success_codes
        if not success:
            # Setup's words for its code; for a compatibility block, with the app its output names.
            words = (setup_block_error(code, blocking_app(tail) if code == Win32Code.SETUP_COMPAT_BLOCK else None)
                     if isinstance(step, UpgradeOsStep) else None)
            return failed(ErrorCode.PROGRAM_FAILED, words or f"the program exited with code {format_exit_code(code)}",
                          code)
        return Outcome(True, code, restart=code == Win32Code.REBOOT_REQUIRED)


def physical_memory_mb() -> int | None:
    """This machine's physical memory in MB, or None when it cannot be read."""
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
