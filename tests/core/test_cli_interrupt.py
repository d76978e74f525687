"""Interrupting `software-center run`: Ctrl-C (SIGINT) mid-download and mid-step, and the
process killed (SIGKILL) while a step's program runs — the program outlives it, and `resume`
uses its result instead of running the step again. Real subprocesses, a throttled loopback
server that counts every byte it sends.

The engine runs in the command's own process here (`--standalone`), so the process that is
interrupted or killed is the one running the run. Through the agent, a killed command
changes nothing and the agent itself is what dies: tests/core/test_agent.py covers that.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.core.helpers.content_server import ContentServer
from tests.core.sites import deployment, run_tool, tool_files, write_site
from tests.core.sites.harness import cli, start, state_file

BIG = 3 * 1024 * 1024
RATE = 2_000_000  # bytes/s: the big file takes about 1.5 s


def big_bytes() -> bytes:
    block = hashlib.sha256(b"big").digest() * 2048
    return b"".join(i.to_bytes(4, "big") + block[4:] for i in range(BIG // len(block)))


def args(server: ContentServer, data: Path, deployment_id: str) -> list[str]:
    return ["run", deployment_id, "--site", server.url, "--data-dir", str(data), "--connection", "internet",
            "--json", "--yes", "--standalone"]


def resume(data: Path) -> list[str]:
    return ["resume", "--data-dir", str(data), "--json", "--standalone"]


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains `text` (zombies excluded)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{name}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if text.encode() in cmdline and state not in (b"Z", b"X"):
            found.append(int(name))
    return found


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def server(tmp_path: Path, work: Path) -> Iterator[ContentServer]:
    marks = str(work / "marks")
    root = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files(), "BIGPKG": {"big.bin": big_bytes(), "small.txt": b"s" * 1000}},
        task_sequences={
            "GET": [
                {"type": "download_package_content", "name": "Get Big", "packages": ["BIGPKG"]},
                run_tool("Use It", "--marker", marks, "use"),
            ],
            "STEP": [
                run_tool("Slow Step", "--slow-first", str(work / "slow"), "20", "--marker", marks, "slow"),
                run_tool("Next", "--marker", marks, "next"),
            ],
            "WORK": [
                run_tool("Work", "--wait-for", "%GoFile%", "--marker", marks, "work"),
                run_tool("Next", "--marker", marks, "next"),
            ],
            "HANG": [run_tool("Hang", "--spawn-hang", str(work / "pids"), timeout_s=3)],
            "FIRST": [
                run_tool("Before Anything", "--marker", marks, "first"),
                {"type": "download_package_content", "name": "Get Big", "packages": ["BIGPKG"]},
            ],
        },
        deployments=[deployment("DEPGET", "GET"), deployment("DEPSTEP", "STEP"), deployment("DEPWORK", "WORK"),
                     deployment("DEPHANG", "HANG"), deployment("DEPFIRST", "FIRST", download="all_before_start")],
    )
    with ContentServer(root, rate_bps=RATE, chunk_size=16384) as srv:
        yield srv


def marks(work: Path) -> list[str]:
    path = work / "marks"
    return path.read_text().splitlines() if path.exists() else []


# --- Ctrl-C ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_ctrl_c_mid_download_then_resume(server: ContentServer, tmp_path: Path, work: Path) -> None:
    data = tmp_path / "data"
    running = await start(*args(server, data, "DEPGET"))
    event = await running.until(lambda e: e["event"] == "download_progress" and e["bytes"] > 100_000)
    assert event is not None
    running.kill(2)
    result = await running.finish()
    assert result.rc == 130, result.stderr
    assert result.finished == {"event": "ts_finished", "status": "cancelled", "error": "cancelled by the user",
                               "error_code": 0x800704C7, "reason": "cancelled", "run_id": result.events[0]["run_id"]}
    assert "download_finished" not in result.names()
    saved = json.loads(state_file(data).read_text())
    assert saved["status"] == "cancelled" and saved["in_progress"] is None and saved["ip"] == 0
    part = data / "cache" / "BIGPKG.1" / "big.bin.part"
    kept = part.stat().st_size
    assert 0 < kept < BIG

    resumed = await cli(*resume(data))
    assert resumed.rc == 0, resumed.stderr
    assert [e["name"] for e in resumed.of("step_started")] == ["Get Big", "Use It"]
    assert [e["index"] for e in resumed.of("step_started")] == [1, 2]
    first_progress = resumed.of("download_progress")[0]
    assert first_progress["bytes"] >= kept  # the partial file counts from the start
    requests = server.requests_for("content/BIGPKG.1/big.bin")
    assert requests[-1].range == f"bytes={kept}-"
    sent = server.bytes_sent("content/BIGPKG.1/big.bin")
    assert sent <= 1.05 * BIG, sent
    assert marks(work) == ["use"]


@pytest.mark.asyncio
async def test_ctrl_c_mid_step_stops_the_program_then_resume(server: ContentServer, tmp_path: Path,
                                                             work: Path) -> None:
    data = tmp_path / "data"
    running = await start(*args(server, data, "DEPSTEP"))
    assert await running.until(lambda e: e["event"] == "step_progress") is not None
    running.kill(2)
    result = await running.finish()
    assert result.rc == 130 and result.finished is not None and result.finished["status"] == "cancelled"
    assert result.names()[-2:] == ["step_progress", "ts_finished"]  # no step_finished: it did not finish
    assert processes_mentioning(str(work)) == []  # the program and its host are gone
    assert marks(work) == []

    resumed = await cli(*resume(data))
    assert resumed.rc == 0
    assert [(e["index"], e["name"]) for e in resumed.of("step_started")] == [(1, "Slow Step"), (2, "Next")]
    assert marks(work) == ["slow", "next"]


# --- the process killed while a program runs -------------------------------------------------


async def kill_during_work(server: ContentServer, data: Path, go: Path) -> None:
    """Start DEPWORK, SIGKILL the CLI while "Work" waits for `go`: its program is orphaned."""
    running = await start(*args(server, data, "DEPWORK"), "--variable", f"GoFile={go}")
    assert await running.until(lambda e: e["event"] == "step_progress") is not None
    running.kill()
    result = await running.finish()
    assert result.rc == -9 and result.finished is None


async def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.mark.asyncio
async def test_sigkill_while_a_program_runs_never_runs_it_twice(server: ContentServer, tmp_path: Path,
                                                                work: Path) -> None:
    # Resumed while the orphaned program still runs: resume waits for it and uses its result.
    a, go_a = tmp_path / "a", work / "go-a"
    await kill_during_work(server, a, go_a)
    assert processes_mentioning(str(go_a))  # the orphan still runs
    resuming = asyncio.ensure_future(cli(*resume(a)))
    log = a / "logs" / "smsts.log"
    await wait_for(lambda: "still running; waiting for it" in log.read_text("utf-8"))
    go_a.touch()
    waited = await resuming
    assert waited.rc == 0, waited.stderr
    assert [(e["event"], e.get("name")) for e in waited.events if e["event"].startswith("step_")] == [
        ("step_started", "Work"), ("step_finished", "Work"), ("step_started", "Next"), ("step_finished", "Next")]
    assert waited.of("step_finished")[0]["status"] == "succeeded"
    assert marks(work) == ["work", "next"]
    assert "does not run again" in log.read_text("utf-8")

    # Resumed after the orphaned program finished by itself: its recorded result is used.
    (work / "marks").unlink()
    b, go_b = tmp_path / "b", work / "go-b"
    await kill_during_work(server, b, go_b)
    go_b.touch()
    await wait_for(lambda: marks(work) == ["work"] and not processes_mentioning(str(go_b)))
    assert list((b / "state" / "steps").glob("*.json"))  # its host recorded how it ended
    recorded = await cli(*resume(b))
    assert recorded.rc == 0
    assert recorded.of("step_finished")[0] == {"event": "step_finished", "index": 1, "name": "Work", "ip": 0,
                                               "status": "succeeded", "exit_code": 0, "error": None,
                                               "reason": None, "run_id": recorded.events[0]["run_id"]}
    assert marks(work) == ["work", "next"]
    assert not state_file(b).exists() and not (b / "state" / "steps").exists()


@pytest.mark.asyncio
async def test_orphaned_program_past_its_timeout_is_stopped_by_resume(server: ContentServer, tmp_path: Path,
                                                                      work: Path) -> None:
    data = tmp_path / "data"
    running = await start(*args(server, data, "DEPHANG"))
    assert await running.until(lambda e: e["event"] == "step_started") is not None
    while not (work / "pids").exists():
        await asyncio.sleep(0.05)
    started = time.monotonic()
    running.kill()
    await running.finish()
    child, grandchild = (int(p) for p in (work / "pids").read_text().split())
    assert processes_mentioning(str(work / "pids"))  # orphaned, still hanging
    await asyncio.sleep(max(0.0, 3.2 - (time.monotonic() - started)))
    resumed = await cli(*resume(data))
    assert resumed.rc == 4
    finished = resumed.of("step_finished")[-1]
    assert finished["status"] == "failed" and "did not finish within 3 s" in finished["error"]
    for pid in (child, grandchild):
        assert gone(pid), pid


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


@pytest.mark.asyncio
async def test_sigkill_during_all_before_start_download_then_resume(server: ContentServer, tmp_path: Path,
                                                                    work: Path) -> None:
    data = tmp_path / "data"
    running = await start(*args(server, data, "DEPFIRST"))
    assert await running.until(lambda e: e["event"] == "download_progress" and e["bytes"] > 100_000)
    running.kill()
    killed = await running.finish()
    assert "step_started" not in killed.names()
    resumed = await cli(*resume(data))
    assert resumed.rc == 0, resumed.stderr
    names = resumed.names()
    first_step = names.index("step_started")
    # Still every package before the first step, even after the crash.
    assert {e["package"] for e in resumed.events[:first_step] if e["event"] == "download_finished"} == {
        "TOOLS", "BIGPKG"}
    assert server.bytes_sent("content/BIGPKG.1/big.bin") <= 1.05 * BIG
    assert marks(work) == ["first"]


STUBBORN = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
    "print('PROGRESS 5 ignoring TERM', flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.mark.asyncio
async def test_ctrl_c_twice_still_stops_a_program_that_ignores_term(tmp_path: Path) -> None:
    """The second Ctrl-C must not cut the first one's clean-up short (TERM, grace, KILL):
    no copy of the step's program may survive the cancel, nor run twice after `resume`."""
    pidfile = tmp_path / "stubborn.pid"
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={"STB": [{"type": "run_command", "name": "Stubborn",
                                 "command": ["%PYTHON%", "-c", STUBBORN, str(pidfile)], "timeout_s": 120}]},
        deployments=[deployment("DEPSTB", "STB")],
    )
    data = tmp_path / "data"
    run = await start("run", "DEPSTB", "--site", str(site), "--data-dir", str(data), "--connection", "internet",
                      "--json", "--yes", "--standalone")
    assert await run.until(lambda e: e["event"] == "step_progress") is not None
    pid = int(pidfile.read_text())
    run.kill(signal.SIGINT)
    await asyncio.sleep(0.3)
    run.kill(signal.SIGINT)  # impatient: a second Ctrl-C during the grace period
    result = await run.finish()
    assert result.rc == 130
    assert result.events[-1]["event"] == "ts_finished" and result.events[-1]["status"] == "cancelled"
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not _alive(pid), "the cancelled step's program survived the cancel"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False
