"""The restart a task sequence asks for, as the agent carries it out.

    user mode, no reboot command   a simulated restart: the agent waits the step's countdown,
                                   then continues the run as after a reboot
    a reboot command (system mode  the agent runs the command; the run continues once the
    runs `systemctl reboot`)       machine's boot id has changed, so an agent started after
                                   the reboot continues it by itself

The boot id is read from `/proc/sys/kernel/random/boot_id`, or from the file named by
`SOFTWARE_CENTER_BOOT_ID_FILE` (the seam tests use). A reboot command that cannot start,
or exits non-zero, is reported with a stable code (`RestartCode`) and tried again later.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import RestartCode, RestartProblem

__all__ = ["BOOT_ID_FILE", "read_boot_id", "run_reboot_command"]

BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
REBOOT_COMMAND_TIMEOUT_S = 120.0


def read_boot_id(environ: dict[str, str] | None = None) -> str | None:
    """This boot's id (None when it cannot be read)."""
    env = os.environ if environ is None else environ
    path = Path(env["SOFTWARE_CENTER_BOOT_ID_FILE"]) if env.get("SOFTWARE_CENTER_BOOT_ID_FILE") else BOOT_ID_FILE
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


async def run_reboot_command(command: Sequence[str], timeout_s: float = REBOOT_COMMAND_TIMEOUT_S) -> None:
    """Run the reboot command to its end; RestartProblem when it cannot start or fails."""
    shown = " ".join(command)
    try:
        proc = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        raise RestartProblem(RestartCode.NOT_STARTED,
                             f"the reboot command `{shown}` could not be started: {exc.strerror or exc}") from None
    try:
        _out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RestartProblem(RestartCode.FAILED,
                             f"the reboot command `{shown}` did not finish within {timeout_s:g} s") from None
    except asyncio.CancelledError:
        if proc.returncode is None:
            proc.kill()
        raise
    if proc.returncode != 0:
        said = err.decode("utf-8", "replace").strip().splitlines()
        detail = f": {said[-1]}" if said else ""
        raise RestartProblem(RestartCode.FAILED,
                             f"the reboot command `{shown}` exited with code {proc.returncode}{detail}")
