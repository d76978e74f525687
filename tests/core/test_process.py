"""core.process: real child processes — progress lines, exit codes, timeouts and cancellation kill the tree."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import RunError
from core.process import (
    MARKER_VARIABLE,
    OUTPUT_TAIL_CHARS,
    ProgramError,
    ProgramResult,
    _LineSplitter,
    format_exit_code,
    kill_process_group,
    run_program,
    windows_setup_error,
)

PY = sys.executable
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups and exit-code truncation")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds escaped children through /proc")


class Recorder:
    def __init__(self) -> None:
        self.progress: list[tuple[float, str]] = []
        self.output: list[str] = []

    def on_progress(self, percent: float, text: str) -> None:
        self.progress.append((percent, text))

    def on_output(self, line: str) -> None:
        self.output.append(line)


async def run(code: str, cwd: Path, *args: str, timeout_s: float = 20.0, rec: Recorder | None = None,
              **kwargs: object) -> ProgramResult:
    rec = rec or Recorder()
    return await run_program(
        [PY, "-c", code, *args], cwd=cwd, env=None, timeout_s=timeout_s,
        on_progress=rec.on_progress, on_output=rec.on_output, **kwargs,  # type: ignore[arg-type]
    )


def gone(pid: int) -> bool:
    """True when `pid` no longer runs (a zombie nobody reaped yet counts as gone)."""
    if sys.platform.startswith("linux"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return True
        return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def wait_gone(pids: list[int], within_s: float = 3.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if all(gone(p) for p in pids):
            return True
        await asyncio.sleep(0.02)
    return all(gone(p) for p in pids)


async def wait_file(path: Path, within_s: float = 10.0) -> str:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if path.exists() and (text := path.read_text()).endswith("\n"):
            return text
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} was not written")


@pytest.fixture
def reap() -> Iterator[list[int]]:
    """Pids to SIGKILL at teardown, so a failing test leaves nothing running."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if not gone(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


# A child that starts a grandchild, writes "child grandchild\n" to argv[1], and both hang.
HANGING_TREE = r"""
import os, subprocess, sys, time
g = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
with open(sys.argv[1], "w") as f:
    f.write(f"{os.getpid()} {g.pid}\n")
print("PROGRESS 1 ready", flush=True)
time.sleep(60)
"""


# --- progress and output ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_progress_lines_reach_the_callback_in_order(tmp_path: Path) -> None:
    rec = Recorder()
    code = (
        "print('PROGRESS 0 Starting Windows Setup')\n"
        "print('copying files')\n"
        "print('PROGRESS 12.5 Downlevel: copying')\n"
        "print('  PROGRESS   50   Half way  ')\n"
        "print('PROGRESS 100')\n"
    )
    result = await run(code, tmp_path, rec=rec)
    assert result.exit_code == 0 and not result.timed_out
    assert rec.progress == [(0.0, "Starting Windows Setup"), (12.5, "Downlevel: copying"), (50.0, "Half way"),
                            (100.0, "")]
    assert rec.output == ["copying files"]
    assert result.output_tail == "copying files"


@pytest.mark.asyncio
async def test_malformed_progress_lines_are_plain_output_not_fatal(tmp_path: Path) -> None:
    rec = Recorder()
    bad = ["PROGRESS", "PROGRESS abc text", "PROGRESS nan", "PROGRESS NaN x", "PROGRESS inf", "PROGRESS 101 over",
           "PROGRESS -1 under", "PROGRESS 50abc", "PROGRESS 1e1", "PROGRESS 1_0", "progress 5 lower case"]
    code = "".join(f"print({line!r})\n" for line in [*bad, "PROGRESS 42 fine"])
    result = await run(code, tmp_path, rec=rec)
    assert result.exit_code == 0
    assert rec.progress == [(42.0, "fine")]
    assert rec.output == bad


@pytest.mark.asyncio
async def test_garbage_binary_output_and_overlong_lines_survive(tmp_path: Path) -> None:
    rec = Recorder()
    code = (
        "import sys\n"
        "out = sys.stdout.buffer\n"
        "out.write(b'\\xff\\xfe\\x00bin\\x80ary\\n')\n"
        "out.write(b'x' * 300000 + b'\\n')\n"
        "out.write(b'PROGRESS 60 after the garbage\\r\\n')\n"
        "out.write(b'one\\rtwo\\r\\nthree\\n')\n"
        "out.write(b'caf\\xc3\\xa9 ' + b'y' * 5000000)\n"  # 5 MB, no newline at the end
    )
    result = await run(code, tmp_path, rec=rec)
    assert result.exit_code == 0
    assert rec.progress == [(60.0, "after the garbage")]
    assert rec.output[0] == "\ufffd\ufffd\x00bin\ufffdary"
    assert rec.output[1] == "x" * 8192 + " [line truncated]"
    assert rec.output[2:5] == ["one", "two", "three"]
    assert rec.output[5].startswith("café yyy") and rec.output[5].endswith(" [line truncated]")
    assert len(rec.output) == 6
    assert len(result.output_tail) == OUTPUT_TAIL_CHARS


@pytest.mark.asyncio
async def test_output_tail_keeps_the_last_1000_characters(tmp_path: Path) -> None:
    rec = Recorder()
    result = await run("for i in range(5000): print(f'line {i:04d}')", tmp_path, rec=rec)
    assert len(rec.output) == 5000
    assert len(result.output_tail) == OUTPUT_TAIL_CHARS
    assert result.output_tail.endswith("line 4998\nline 4999")
    assert ("\n".join(rec.output)).endswith(result.output_tail)


def test_line_splitter_handles_chunk_boundaries() -> None:
    s = _LineSplitter(8)
    assert s.feed(b"ab\r") == [(b"ab", False)]
    assert s.feed(b"\ncd") == []  # the "\n" completes "\r\n": no empty line
    assert s.feed(b"\r\rx") == [(b"cd", False), (b"", False)]
    assert s.feed(b"123456789012") == [(b"x1234567", True)]
    assert s.feed(b"3456\nok") == []  # the rest of the overlong line is dropped
    assert s.close() == [(b"ok", False)]


# --- exit codes --------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("code", [0, 1, 3, 255])
async def test_exit_code_is_passed_through(tmp_path: Path, code: int) -> None:
    result = await run(f"import sys; sys.exit({code})", tmp_path)
    assert result == ProgramResult(code, False, "", result.duration_s)


@pytest.mark.asyncio
async def test_3010_survives_through_the_exitcode_line(tmp_path: Path) -> None:
    result = await run("import sys; print('installed'); print('EXITCODE 3010'); sys.exit(3010)", tmp_path)
    assert result.exit_code == 3010
    assert result.output_tail == "installed"  # the control line is not output


@posix_only
@pytest.mark.asyncio
async def test_without_the_line_posix_truncates_3010(tmp_path: Path) -> None:
    result = await run("import sys; sys.exit(3010)", tmp_path)
    assert result.exit_code == 3010 & 0xFF


@posix_only
@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("line", "os_exit", "reported"),
    [
        ("EXITCODE 0xC1900208", 8, 0xC1900208),  # the low byte agrees
        ("EXITCODE -1047526904", 8, 0xC1900208),  # signed spelling, reported unsigned
        ("RESULT 0xC1900210", 0x10, 0xC1900210),  # the demo site's spelling
        ("RESULT 0xC1900200", 1, 0xC1900200),  # low byte 0: the program exits 1, never 0
        ("RESULT 3010", 3010 & 0xFF, 3010),
        ("EXITCODE 0xC1900208", 1, 1),  # crashed after printing it: the OS is right
        ("RESULT 0", 1, 1),  # declared success, then died: a failure
        ("EXITCODE 0xC1900208", 0, 0),  # contradicts a clean exit: not trusted
        ("EXITCODE 0x1C1900208", 8, 8),  # more than 32 bits: not a code, plain output
    ],
)
async def test_declared_exit_code_is_trusted_only_when_the_os_agrees(
    tmp_path: Path, line: str, os_exit: int, reported: int
) -> None:
    result = await run(f"import sys; print({line!r}); sys.exit({os_exit})", tmp_path)
    assert result.exit_code == reported


@pytest.mark.asyncio
async def test_demo_setup_reports_its_windows_setup_code(tmp_path: Path) -> None:
    setup = Path(__file__).parents[2] / "resources" / "demo_site" / "packages" / "win11-24h2" / "setup.py"
    if not setup.is_file():
        pytest.skip("the demo site's setup.py is not there")
    work = tmp_path / "pkg"
    (work / "sources").mkdir(parents=True)
    (work / "setup.py").write_bytes(setup.read_bytes())
    (work / "sources" / "install.wim").write_bytes(b"wim" * 100)
    rec = Recorder()
    result = await run_program(
        [PY, "setup.py", "/Auto", "Upgrade", "/Quiet", "/duration", "0", "/simulate-result", "0xC1900208"],
        cwd=work, env=None, timeout_s=30, on_progress=rec.on_progress, on_output=rec.on_output,
    )
    assert result.exit_code == 0xC1900208
    assert windows_setup_error(result.exit_code) == "An incompatible app or driver is blocking the upgrade"
    assert rec.progress[0] == (0.0, "Starting Windows Setup")
    assert [p for p, _ in rec.progress] == sorted(p for p, _ in rec.progress)


def test_format_exit_code() -> None:
    assert format_exit_code(0) == "0"
    assert format_exit_code(3010) == "3010"
    assert format_exit_code(0xC1900208) == "0xC1900208"
    assert format_exit_code(-1047526904) == "0xC1900208"
    assert format_exit_code(0x80070070) == "0x80070070"
    assert format_exit_code(-1) == "0xFFFFFFFF"
    assert format_exit_code(0x7FFFFFFF) == str(0x7FFFFFFF)


def test_windows_setup_errors_in_words() -> None:
    assert windows_setup_error(0xC1900208) == "An incompatible app or driver is blocking the upgrade"
    assert windows_setup_error(-1047526904) == windows_setup_error(0xC1900208)
    for code in (0xC190020E, 0xC1900210, 0xC1900101, 0xC1900200, 0xC1900204, 0x80070070):
        assert windows_setup_error(code)
    assert "disk space" in (windows_setup_error(0xC190020E) or "")
    assert windows_setup_error(0) is None
    assert windows_setup_error(3010) is None


def test_program_result_is_frozen() -> None:
    result = ProgramResult(0, False, "", 0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.exit_code = 1  # type: ignore[misc]


# --- starting ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_env_and_cwd_are_applied(tmp_path: Path) -> None:
    work = tmp_path / "work dir"
    work.mkdir()
    rec = Recorder()
    code = "import os; print(os.getcwd()); print(os.environ.get('STEP_VALUE')); print('HOME' in os.environ)"
    result = await run_program([PY, "-c", code], cwd=work, env={"STEP_VALUE": "ñandú 42"}, timeout_s=20,
                               on_progress=None, on_output=rec.on_output)
    assert result.exit_code == 0
    assert rec.output == [str(work.resolve()), "ñandú 42", "False"]  # the mapping is the whole environment


@pytest.mark.asyncio
async def test_env_none_inherits_and_the_run_is_marked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SC_INHERITED", "yes")
    rec = Recorder()
    code = f"import os; print(os.environ['SC_INHERITED']); print(len(os.environ['{MARKER_VARIABLE}']))"
    await run(code, tmp_path, rec=rec)
    assert rec.output == ["yes", "32"]


@posix_only
@pytest.mark.asyncio
async def test_the_program_leads_its_own_session(tmp_path: Path) -> None:
    seen: list[tuple[int, int, int]] = []

    def started(pgid: int) -> None:
        seen.append((pgid, os.getpgid(pgid), os.getsid(pgid)))

    result = await run("import time; time.sleep(0.2)", tmp_path, on_start=started)
    assert result.exit_code == 0
    [(pgid, group, session)] = seen
    assert pgid == group == session != os.getpgid(0)


@pytest.mark.asyncio
async def test_a_missing_program_is_a_program_error(tmp_path: Path) -> None:
    with pytest.raises(ProgramError, match="no-such-setup-program") as caught:
        await run_program(["no-such-setup-program", "/auto"], cwd=tmp_path, env=None, timeout_s=5, on_progress=None)
    assert isinstance(caught.value, RunError)
    assert "not found" in str(caught.value)
    with pytest.raises(ProgramError, match="not found"):
        await run_program(["./setup.exe"], cwd=tmp_path, env=None, timeout_s=5, on_progress=None)


@posix_only
@pytest.mark.asyncio
async def test_a_program_that_is_not_executable_is_a_program_error(tmp_path: Path) -> None:
    script = tmp_path / "install.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    with pytest.raises(ProgramError, match="install.sh.*not executable"):
        await run_program([str(script)], cwd=tmp_path, env=None, timeout_s=5, on_progress=None)


@pytest.mark.asyncio
async def test_bad_working_folder_and_empty_command_are_program_errors(tmp_path: Path) -> None:
    with pytest.raises(ProgramError, match="working folder"):
        await run_program([PY, "-c", "pass"], cwd=tmp_path / "missing", env=None, timeout_s=5, on_progress=None)
    with pytest.raises(ProgramError, match="empty"):
        await run_program([], cwd=tmp_path, env=None, timeout_s=5, on_progress=None)


# --- timeout and cancellation kill the whole tree ---------------------------------------------------


@posix_only
@pytest.mark.asyncio
async def test_timeout_kills_the_child_and_its_grandchild(tmp_path: Path, reap: list[int]) -> None:
    pids = tmp_path / "pids.txt"
    rec = Recorder()
    started = time.monotonic()
    result = await run(HANGING_TREE, tmp_path, str(pids), timeout_s=1.5, rec=rec)
    elapsed = time.monotonic() - started
    child, grandchild = map(int, pids.read_text().split())
    reap += [child, grandchild]
    assert result.timed_out and result.exit_code is None
    assert rec.progress == [(1.0, "ready")]
    assert 1.5 <= elapsed < 1.5 + 3.0 + 2.0
    assert await wait_gone([child, grandchild])


@posix_only
@pytest.mark.asyncio
async def test_a_child_ignoring_sigterm_is_killed_after_the_grace(tmp_path: Path, reap: list[int]) -> None:
    pids = tmp_path / "pids.txt"
    code = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + HANGING_TREE
    started = time.monotonic()
    result = await run(code, tmp_path, str(pids), timeout_s=1.0, kill_grace_s=0.3)
    child, grandchild = map(int, pids.read_text().split())
    reap += [child, grandchild]
    assert result.timed_out
    assert time.monotonic() - started < 1.0 + 0.3 + 2.5
    assert await wait_gone([child, grandchild])


@linux_only
@pytest.mark.asyncio
async def test_timeout_kills_a_grandchild_that_left_the_group_and_was_orphaned(
    tmp_path: Path, reap: list[int]
) -> None:
    pids = tmp_path / "pids.txt"
    # The middle process starts a setsid() grandchild and exits at once: the grandchild is
    # in another group and session, and its parent is no longer ours.
    code = r"""
import os, subprocess, sys, time
mid = subprocess.Popen([sys.executable, "-c",
    "import os, subprocess, sys; "
    "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True, "
    "stdout=subprocess.DEVNULL); "
    "print(g.pid)"], stdout=subprocess.PIPE, text=True)
escaped = int(mid.communicate()[0])
with open(sys.argv[1], "w") as f:
    f.write(f"{os.getpid()} {escaped}\n")
time.sleep(60)
"""
    rec = Recorder()
    task = asyncio.create_task(run(code, tmp_path, str(pids), timeout_s=30, rec=rec))
    child, escaped = map(int, (await wait_file(pids)).split())
    reap += [child, escaped]
    assert os.getsid(escaped) != os.getsid(child)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_gone([child, escaped])


@posix_only
@pytest.mark.asyncio
async def test_cancel_kills_the_tree_and_raises_cancelled_error(tmp_path: Path, reap: list[int]) -> None:
    pids = tmp_path / "pids.txt"
    ready = asyncio.Event()

    def progress(percent: float, text: str) -> None:
        ready.set()

    task = asyncio.create_task(
        run_program([PY, "-c", HANGING_TREE, str(pids)], cwd=tmp_path, env=None, timeout_s=60, on_progress=progress)
    )
    await asyncio.wait_for(ready.wait(), 10)
    child, grandchild = map(int, pids.read_text().split())
    reap += [child, grandchild]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert await wait_gone([child, grandchild])


@posix_only
@pytest.mark.asyncio
async def test_a_callback_that_raises_stops_the_program_and_propagates(tmp_path: Path, reap: list[int]) -> None:
    pids = tmp_path / "pids.txt"

    def progress(percent: float, text: str) -> None:
        raise RuntimeError("the window broke")

    with pytest.raises(RuntimeError, match="the window broke"):
        await run_program([PY, "-c", HANGING_TREE, str(pids)], cwd=tmp_path, env=None, timeout_s=60,
                          on_progress=progress)
    child, grandchild = map(int, pids.read_text().split())
    reap += [child, grandchild]
    assert await wait_gone([child, grandchild])


@posix_only
@pytest.mark.asyncio
async def test_a_grandchild_holding_the_pipe_does_not_hold_the_step(tmp_path: Path, reap: list[int]) -> None:
    pids = tmp_path / "pids.txt"
    code = r"""
import subprocess, sys
g = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # inherits stdout
with open(sys.argv[1], "w") as f:
    f.write(f"{g.pid}\n")
print("EXITCODE 3010")
print("done", flush=True)
sys.exit(3010 & 0xFF)
"""
    started = time.monotonic()
    result = await run(code, tmp_path, str(pids))
    reap.append(int(pids.read_text()))
    assert result.exit_code == 3010 and result.output_tail == "done"
    assert time.monotonic() - started < 5


@linux_only
@pytest.mark.asyncio
async def test_kill_process_group_stops_what_a_dead_runner_left(tmp_path: Path) -> None:
    # What a previous runner, killed mid-step, left behind: a marked session and its child.
    env = {**os.environ, MARKER_VARIABLE: uuid.uuid4().hex}
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); " \
           "print('ready', flush=True); time.sleep(60)"
    left = subprocess.Popen([PY, "-c", code], env=env, start_new_session=True, stdout=subprocess.PIPE, text=True)
    unmarked = subprocess.Popen([PY, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        assert left.stdout is not None and left.stdout.readline() == "ready\n"
        assert await kill_process_group(unmarked.pid, grace_s=0.5) == 0  # not ours: untouched
        assert unmarked.poll() is None
        assert await kill_process_group(left.pid, grace_s=0.5) == 2
        assert left.wait(5) == -signal.SIGTERM
        assert await kill_process_group(left.pid, grace_s=0.5) == 0
    finally:
        for proc in (left, unmarked):
            proc.kill()
            proc.wait()
        if left.stdout is not None:
            left.stdout.close()


def test_the_blocking_app_is_the_last_line_of_setups_output_that_names_it() -> None:
    from core import blocking_app, blocking_app_of, setup_block_error

    tail = ("Windows Setup: Compatibility scan phase\n"
            "an old line: Foo blocks the upgrade: Old App\n"
            "Windows Setup: the upgrade failed: an incompatible app blocks the upgrade: "
            "Northwind VPN 3.1 (0xC1900208)\n"
            "RESULT-like noise")
    assert blocking_app(tail) == "Northwind VPN 3.1"
    assert blocking_app("no such words") is None
    error = setup_block_error(0xC1900208, "Northwind VPN 3.1")
    assert error == "An incompatible app or driver is blocking the upgrade: Northwind VPN 3.1"
    assert blocking_app_of(0xC1900208, error) == "Northwind VPN 3.1"
    assert blocking_app_of(0xC1900208 - 2**32, error) == "Northwind VPN 3.1"  # the signed twin
    assert setup_block_error(0xC1900208, None) == "An incompatible app or driver is blocking the upgrade"
    assert blocking_app_of(0xC1900208, "An incompatible app or driver is blocking the upgrade") is None
    assert blocking_app_of(None, error) is None
