"""The agent, for real: `software-center agent` as a subprocess on a Unix socket, the real
engine, a real site on a loopback HTTP server, and its clients (the typed `AgentClient`
and the command line's `run --agent`, `resume --agent`, `watch`).

Sockets live in a short temporary folder: a Unix socket path may have at most 107 bytes,
and pytest's tmp_path can be longer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import stat
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core import AgentClient, AgentError, default_socket_path
from core.agent.eventlog import is_run_id
from tests.core.helpers.content_server import ContentServer
from tests.core.sites import deployment, run_tool, tool_files, write_site
from tests.core.sites.harness import Running, cli, command, start

BIG = 3 * 1024 * 1024
RATE = 2_000_000  # bytes/s: the big file takes about 1.5 s


def big_bytes() -> bytes:
    block = hashlib.sha256(b"agent").digest() * 2048
    return b"".join(i.to_bytes(4, "big") + block[4:] for i in range(BIG // len(block)))


def env(extra: dict[str, str] | None = None) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("SOFTWARE_CENTER_") and k != "NOTIFY_SOCKET"}
    out["COLUMNS"] = "200"
    out.update(extra or {})
    return out


@pytest.fixture
def short_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sc-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


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
        packages={"TOOLS": tool_files(), "BIGPKG": {"big.bin": big_bytes()}},
        task_sequences={
            "QUICK": [run_tool("Hello", "--print", "hi", "--marker", marks, "hello"),
                      run_tool("Again", "--marker", marks, "again")],
            "WAIT": [run_tool("Wait", "--wait-for", str(work / "go"), "--marker", marks, "wait"),
                     run_tool("After", "--marker", marks, "after")],
            "GET": [{"type": "download_package_content", "name": "Get Big", "packages": ["BIGPKG"]},
                    run_tool("Use It", "--marker", marks, "use")],
            "REBOOT": [run_tool("Before", "--marker", marks, "before"),
                       {"type": "restart", "name": "Restart Computer", "timeout_s": 1},
                       run_tool("After Restart", "--marker", marks, "after-restart")],
            "LATER": [{"type": "restart", "name": "Restart Later", "timeout_s": 3600},
                      run_tool("After Restart", "--marker", marks, "after-restart")],
        },
        deployments=[deployment("DEPQUICK", "QUICK"), deployment("DEPWAIT", "WAIT"),
                     deployment("DEPGET", "GET"), deployment("DEPREBOOT", "REBOOT"),
                     deployment("DEPLATER", "LATER"),
                     deployment("DEPLAN", "QUICK", allow_internet=False)],
    )
    with ContentServer(root, rate_bps=RATE, chunk_size=16384) as srv:
        yield srv


def marks(work: Path) -> list[str]:
    path = work / "marks"
    return path.read_text().splitlines() if path.exists() else []


class AgentProcess:
    """A running `software-center agent`."""

    def __init__(self, proc: asyncio.subprocess.Process, socket_path: Path) -> None:
        self.proc = proc
        self.socket = socket_path

    def client(self) -> AgentClient:
        return AgentClient(self.socket)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, sig)

    async def wait(self, timeout: float = 30.0) -> tuple[int, str]:
        assert self.proc.stderr is not None
        err = await asyncio.wait_for(self.proc.stderr.read(), timeout)
        rc = await asyncio.wait_for(self.proc.wait(), timeout)
        text = err.decode("utf-8", "replace")
        assert "Traceback" not in text, text
        return rc, text

    async def ready(self, timeout: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.proc.returncode is not None:
                rc, err = await self.wait()
                raise AssertionError(f"the agent exited {rc}: {err}")
            try:
                async with self.client() as client:
                    await client.status()
                    return
            except AgentError:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def agent_process(*args: str, socket_path: Path | None = None, extra_env: dict[str, str] | None = None,
                        wait: bool = True) -> AsyncIterator[AgentProcess]:
    """`software-center agent ARGS` (ready to answer, unless `wait` is False); killed at the end.
    `socket_path`: where it listens, when ARGS has no --socket."""
    if socket_path is None:
        socket_path = Path(args[args.index("--socket") + 1])
    proc = await asyncio.create_subprocess_exec(
        *command("agent", *args), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, env=env(extra_env))
    agent = AgentProcess(proc, socket_path)
    try:
        if wait:
            await agent.ready()
        yield agent
    finally:
        agent.kill()
        await proc.wait()
    assert proc.stderr is not None
    left = (await proc.stderr.read()).decode("utf-8", "replace")
    assert "Traceback" not in left and "Error" not in left, left  # nothing it said went wrong


def agent_args(server: ContentServer, data: Path, sock: Path, *more: str) -> list[str]:
    return ["--site", server.url, "--data-dir", str(data), "--connection", "internet", "--socket", str(sock), *more]


async def raw(sock: Path, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=str(sock)), base_url="http://agent") as c:
        return await c.request(method, path, **kwargs)


async def wait_until(predicate: Any, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def without(events: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in keys} for e in events]


def shape(events: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """What must match between two runs of the same deployment: names and keys, not ids or rates."""
    return [(e["event"], *sorted(e)) for e in events if e["event"] != "download_progress"]


# --- the API and the command line through it ---------------------------------------------------


@pytest.mark.asyncio
async def test_api_lists_runs_and_streams_events_as_the_command_line_does(
        server: ContentServer, tmp_path: Path, short_dir: Path, work: Path) -> None:
    data = tmp_path / "data"
    runtime = short_dir / "rt"
    runtime.mkdir()
    # No --socket: $XDG_RUNTIME_DIR/software-center/agent-<hash of the data folder>.sock, mode 0600.
    args = ["--site", server.url, "--data-dir", str(data), "--connection", "internet"]
    sock = default_socket_path(data, {"XDG_RUNTIME_DIR": str(runtime)})
    assert sock.parent == runtime / "software-center" and sock.name.startswith("agent-")
    async with agent_process(*args, socket_path=sock, extra_env={"XDG_RUNTIME_DIR": str(runtime)}) as agent:
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        async with agent.client() as client:
            status = await client.status()
            assert status["data_dir"] == str(data) and status["connection"] == "internet"
            assert status["run"] is None and status["site_error"] is None
            assert await client.current() is None
            nothing = await cli("watch", "--agent", str(sock), "--json")
            assert (nothing.rc, nothing.stdout) == (2, "")
            assert nothing.stderr == "software-center: the agent has no run to watch\n"

            listed = await cli("list", "--site", server.url, "--data-dir", str(tmp_path / "other"),
                               "--connection", "internet", "--json")
            assert listed.rc == 0
            deployments = await client.deployments()
            assert [{k: d[k] for k in e if k != "event"} for d, e in zip(deployments, listed.events, strict=True)] \
                == without(listed.events, "event")

            # `run --agent --json` prints what `run --json` prints, with the same exit code.
            here = await cli("run", "DEPQUICK", "--site", server.url, "--data-dir", str(tmp_path / "here"),
                             "--connection", "internet", "--json")
            there = await cli("run", "DEPQUICK", "--agent", str(sock), "--json")
            assert (there.rc, here.rc) == (0, 0), there.stderr
            assert shape(there.events) == shape(here.events)
            run_id = there.events[0]["run_id"]
            assert all(e["run_id"] == run_id for e in there.events)
            assert marks(work) == ["hello", "again", "hello", "again"]

            # The stream: every event with a growing seq; `after` replays from there.
            events = [e async for e in client.events(run_id)]
            assert without(events, "seq") == there.events
            seqs = [e["seq"] for e in events]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
            later = [e async for e in client.events(run_id, after=seqs[2])]
            assert later == events[3:]

            current = await client.current()
            assert current is not None
            assert (current["run_id"], current["deployment"], current["status"], current["active"],
                    current["last_seq"]) == (run_id, "DEPQUICK", "succeeded", False, seqs[-1])
            assert current["started_by"] == os.getuid()

            # `watch` replays the last run and exits with its code.
            watched = await cli("watch", "--agent", str(sock), "--json")
            assert watched.rc == 0 and watched.events == there.events

            # Refusals and errors: stable codes, one sentence, never a traceback.
            refused = await cli("run", "DEPLAN", "--agent", str(sock), "--json")
            here_refused = await cli("run", "DEPLAN", "--site", server.url, "--data-dir", str(tmp_path / "here"),
                                     "--connection", "internet", "--json")
            assert (refused.rc, refused.events) == (3, here_refused.events)
            with pytest.raises(AgentError) as info:
                await client.start_run("NOPE")
            assert (info.value.code, info.value.status) == ("unknown_deployment", 409)
            with pytest.raises(AgentError) as info:
                await client.cancel()
            assert (info.value.code, info.value.status) == ("no_run", 409)
            with pytest.raises(AgentError) as info:
                await client.resume()
            assert info.value.code == "no_run"

    async with agent_process(*agent_args(server, data, short_dir / "a.sock")) as agent:
        sock = agent.socket
        bad = await raw(sock, "POST", "/v1/runs", content=b"[1]")
        assert (bad.status_code, bad.json()["code"]) == (400, "bad_request")
        bad = await raw(sock, "POST", "/v1/runs", json={"deployment": "DEPQUICK", "variables": {"A": 1}})
        assert bad.status_code == 400 and bad.json() == {"code": "bad_request",
                                                         "message": "variables.A: expected a name and a text value"}
        bad = await raw(sock, "POST", "/v1/runs", json={"deployment": "DEPQUICK", "launch_mode": "usb"})
        assert bad.json()["code"] == "bad_request" and "launch_mode" in bad.json()["message"]
        missing = await raw(sock, "GET", "/v1/nothing")
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
        missing = await raw(sock, "GET", f"/v1/runs/{uuid.uuid4().hex}/events")
        assert (missing.status_code, missing.json()["code"]) == (404, "no_run")
        bad = await raw(sock, "GET", f"/v1/runs/{run_id}/events", params={"after": "x"})
        assert (bad.status_code, bad.json()["code"]) == (400, "bad_request")
        # A new agent on the same folder still has the run's events, and numbers on after them.
        async with agent.client() as client:
            assert [e async for e in client.events(run_id)] == events
            second = await cli("run", "DEPQUICK", "--agent", str(sock), "--json", "--detach")
            assert second.rc == 0
            new_id = json.loads(second.stdout)["run_id"]
            replay = [e async for e in client.events(new_id)]
            assert replay[0]["seq"] > seqs[-1] and replay[-1]["event"] == "ts_finished"

        # A second agent for the same data folder is refused in one line.
        other = await cli("agent", *agent_args(server, data, short_dir / "b.sock"))
        assert other.rc == 2
        assert "another agent, or a --standalone command, already uses the data folder" in other.stderr
    long = short_dir / ("s" * 110)
    refused_path = await cli("agent", "--data-dir", str(tmp_path / "d2"), "--socket", str(long))
    assert refused_path.rc == 2 and "a Unix socket path may have at most 107" in refused_path.stderr
    idle = await cli("agent", "--data-dir", str(tmp_path / "d2"), "--socket", str(sock), "--exit-when-idle", "0")
    assert idle.rc == 2 and "--exit-when-idle must be a positive number" in idle.stderr


@pytest.mark.asyncio
async def test_one_run_at_a_time_clients_come_and_go_cancel_and_resume(
        server: ContentServer, tmp_path: Path, short_dir: Path, work: Path) -> None:
    data = tmp_path / "data"
    async with agent_process(*agent_args(server, data, short_dir / "a.sock")) as agent:
        sock = str(agent.socket)
        started = await cli("run", "DEPWAIT", "--agent", sock, "--detach")
        assert started.rc == 0, started.stderr
        run_id = started.stdout.strip()
        busy = await cli("run", "DEPQUICK", "--agent", sock, "--json")
        assert busy.rc == 2 and "is under way" in busy.stderr
        async with agent.client() as client:
            with pytest.raises(AgentError) as info:
                await client.start_run("DEPQUICK")
            assert info.value.code == "run_active" and info.value.extra["run_id"] == run_id
            status = await client.status()
            assert status["run"]["run_id"] == run_id and status["run"]["active"] is True

            # A client killed while it follows the run changes nothing.
            watcher = await start("watch", "--agent", sock, "--json")
            assert await watcher.until(lambda e: e["event"] == "step_started")
            watcher.kill()
            await watcher.finish()

            # Ctrl-C in `watch` asks the agent to cancel; the run stops, saved.
            watcher = await start("watch", "--agent", sock, "--json")
            assert await watcher.until(lambda e: e["event"] == "step_started")
            watcher.kill(signal.SIGINT)
            cancelled = await watcher.finish()
            assert cancelled.rc == 130, cancelled.stderr
            assert cancelled.finished is not None and cancelled.finished["status"] == "cancelled"
            current = await client.current()
            assert current is not None and (current["status"], current["active"]) == ("cancelled", False)
            assert (await client.status())["run"]["status"] == "cancelled"
            pending = await cli("run", "DEPQUICK", "--agent", sock)
            assert pending.rc == 2 and "has not finished" in pending.stderr

            # `resume --agent` continues it; the run finishes while nobody watches it.
            (work / "go").touch()
            resumed = await cli("resume", "--agent", sock, "--json")
            assert resumed.rc == 0, resumed.stderr
            assert resumed.events[0]["event"] == "ts_started" and resumed.finished is not None
            assert marks(work) == ["wait", "after"]

            # A late `watch` replays the whole run, cancel and resume included.
            watched = await cli("watch", "--agent", sock, "--json")
            assert watched.rc == 0
            assert [e["event"] for e in watched.events if e["event"] in ("ts_started", "ts_finished")] == [
                "ts_started", "ts_finished", "ts_started", "ts_finished"]
            assert [e["status"] for e in watched.of("ts_finished")] == ["cancelled", "succeeded"]

        # The human view through the agent, and `--detach` needs an agent: without --agent,
        # the user's agent for the data folder is started on demand and keeps the run going.
        shown = await cli("run", "DEPQUICK", "--agent", sock)
        assert shown.rc == 0 and "Hello" in shown.stdout
        x = ["--data-dir", str(tmp_path / "x")]
        detached = await cli("run", "DEPQUICK", "--site", server.url, *x, "--detach")
        assert detached.rc == 0 and is_run_id(detached.stdout.strip()), detached.stderr
        followed = await cli("watch", *x, "--json")
        assert followed.rc == 0 and {e["run_id"] for e in followed.events} == {detached.stdout.strip()}
        assert followed.names()[0] == "ts_started" and followed.finished is not None
        alone = await cli("run", "DEPQUICK", "--site", server.url, *x, "--detach", "--standalone")
        assert alone.rc == 2 and "--detach needs the agent" in alone.stderr

    gone = await cli("watch", "--agent", str(short_dir / "a.sock"))
    assert gone.rc == 2 and "no agent answers at" in gone.stderr


# --- discard -------------------------------------------------------------------------------------


def history(data: Path) -> dict[str, str]:
    return {e["run_id"]: e["status"] for e in json.loads((data / "state" / "history.json").read_text())}


@pytest.mark.asyncio
async def test_discard_forgets_a_cancelled_or_failed_run_but_not_one_under_way_or_waiting_for_a_restart(
        server: ContentServer, tmp_path: Path, short_dir: Path, work: Path) -> None:
    data = tmp_path / "data"
    sock = short_dir / "a.sock"
    async with agent_process(*agent_args(server, data, sock)) as agent:
        nothing = await cli("discard", "--agent", str(sock))
        assert (nothing.rc, nothing.stdout) == (2, "")
        assert nothing.stderr == "software-center: the agent has no cancelled or failed run to discard\n"
        async with agent.client() as client:
            run_id = await client.start_run("DEPGET")
            busy = await raw(sock, "POST", "/v1/runs/current/discard")
            assert (busy.status_code, busy.json()["code"]) == (409, "run_active")
            async for event in client.events(run_id):
                if event["event"] == "download_progress":
                    break
            await client.cancel()
            await wait_until(lambda: _status_is(sock, "cancelled"))
            with pytest.raises(AgentError) as info:
                await client.start_run("DEPQUICK")
            assert info.value.code == "run_pending"  # what blocked every new install

            done = await cli("discard", "--agent", str(sock), "--json")
            assert done.rc == 0, done.stderr
            assert done.events == [{"event": "discarded", "run_id": run_id}]
            assert not (data / "state" / "run.json").exists()
            assert history(data)[run_id] == "cancelled"
            assert (await client.status())["run"] is None
            assert list((data / "cache").glob("BIGPKG.1/*"))  # the cache stays
            again = await cli("discard", "--agent", str(sock))
            assert again.rc == 2 and again.stderr.count("\n") == 1

            # Another run may start now.
            quick = await cli("run", "DEPQUICK", "--agent", str(sock), "--json")
            assert quick.rc == 0, quick.stderr

            # A run waiting for its restart is not discarded: 409, a stable code, a sentence.
            rebooting = await cli("run", "DEPLATER", "--agent", str(sock), "--json")
            assert rebooting.rc == 5, rebooting.stderr
            waiting = await raw(sock, "POST", "/v1/runs/current/discard")
            assert waiting.status_code == 409 and waiting.json()["code"] == "restart_pending"
            assert "waits for a restart" in waiting.json()["message"]
            refused = await cli("discard", "--agent", str(sock))
            assert refused.rc == 2 and "waits for a restart" in refused.stderr
            reboot_id = rebooting.events[0]["run_id"]

    # A run the agent cannot continue (its saved catalog is damaged) failed: discard forgets it.
    state = json.loads((data / "state" / "run.json").read_text())
    state["status"] = "running"
    (data / "state" / "run.json").write_text(json.dumps(state))
    (data / "state" / "catalog.json").write_text("{")
    async with agent_process(*agent_args(server, data, sock)) as agent:
        async with agent.client() as client:
            assert (await client.status())["run"]["run_id"] == reboot_id
            answer = await client.discard()
            assert answer == {"run_id": reboot_id, "status": "discarded"}
            assert history(data)[reboot_id] == "failed"
            assert (await client.status())["run"] is None
            shown = await cli("run", "DEPQUICK", "--agent", str(sock))
            assert shown.rc == 0, shown.stderr


# --- restarts carried out by the agent -------------------------------------------------------------


@pytest.mark.asyncio
async def test_user_mode_restart_is_simulated_the_agent_continues_the_run_after_the_countdown(
        server: ContentServer, tmp_path: Path, short_dir: Path, work: Path) -> None:
    data = tmp_path / "data"
    sock = short_dir / "a.sock"
    async with agent_process(*agent_args(server, data, sock)) as agent:
        ran = await cli("run", "DEPREBOOT", "--agent", str(sock), "--json")
        assert ran.rc == 5, ran.stderr
        assert [e["countdown_s"] for e in ran.of("restart_pending")] == [1]
        assert marks(work) == ["before"]
        await wait_until(lambda: _status_is(sock, "succeeded"))
        watched = await cli("watch", "--agent", str(sock), "--json")
        assert watched.rc == 0, watched.stderr
        assert watched.events[: len(ran.events)] == ran.events
        assert [e["status"] for e in watched.of("ts_finished")] == ["restart_pending", "succeeded"]
        assert [e.get("resumed") for e in watched.of("ts_started")] == [False, True]
        assert marks(work) == ["before", "after-restart"]
        async with agent.client() as client:
            assert (await client.status())["run"] is None
            # The restart_countdown_s setting replaces the step's countdown (an hour here).
            await client.change_settings({"restart_countdown_s": "0.5"})
        later = await cli("run", "DEPLATER", "--agent", str(sock), "--json")
        assert later.rc == 5, later.stderr
        await wait_until(lambda: _status_is(sock, "succeeded"))
        assert marks(work) == ["before", "after-restart", "after-restart"]


def boot_env(boot_file: Path) -> dict[str, str]:
    return {"SOFTWARE_CENTER_BOOT_ID_FILE": str(boot_file)}


@pytest.mark.asyncio
async def test_reboot_command_then_a_new_boot_id_and_a_new_agent_finish_the_run(
        server: ContentServer, tmp_path: Path, short_dir: Path, work: Path) -> None:
    data = tmp_path / "data"
    sock = short_dir / "a.sock"
    boot = tmp_path / "boot_id"
    boot.write_text("11111111-aaaa\n")
    called = tmp_path / "rebooted"
    reboot = f"sh -c 'echo reboot >> {called}'"
    args = agent_args(server, data, sock, "--reboot-command", reboot)
    async with agent_process(*args, extra_env=boot_env(boot)) as agent:
        ran = await cli("run", "DEPREBOOT", "--agent", str(sock), "--json")
        assert ran.rc == 5, ran.stderr
        await wait_until(lambda: asyncio.sleep(0, called.exists()))
        async with agent.client() as client:
            run = (await client.status())["run"]
            assert run["status"] == "restart_pending" and run["restart"]["mode"] == "reboot"
            assert run["restart"]["failed"] is None
        await asyncio.sleep(1.5)  # the same boot: the run waits, the command is not run again
        assert called.read_text() == "reboot\n" and marks(work) == ["before"]
        agent.kill()  # the machine goes down
        await agent.wait()
    boot.write_text("22222222-bbbb\n")  # ... and comes back
    async with agent_process(*args, extra_env=boot_env(boot)):
        await wait_until(lambda: _status_is(sock, "succeeded"))
        watched = await cli("watch", "--agent", str(sock), "--json")
        assert watched.rc == 0 and [e["status"] for e in watched.of("ts_finished")] == [
            "restart_pending", "succeeded"]
    assert marks(work) == ["before", "after-restart"]
    assert called.read_text() == "reboot\n"


@pytest.mark.asyncio
async def test_a_failing_reboot_command_is_reported_and_tried_again(
        server: ContentServer, tmp_path: Path, short_dir: Path, work: Path) -> None:
    data = tmp_path / "data"
    sock = short_dir / "a.sock"
    boot = tmp_path / "boot_id"
    boot.write_text("11111111-aaaa\n")
    tries = tmp_path / "tries"
    reboot = f"sh -c 'echo try >> {tries}; echo reboot is inhibited >&2; exit 3'"
    args = agent_args(server, data, sock, "--reboot-command", reboot, "--restart-retry", "0.2")
    async with agent_process(*args, extra_env=boot_env(boot)) as agent:
        ran = await cli("run", "DEPREBOOT", "--agent", str(sock), "--json")
        assert ran.rc == 5, ran.stderr
        await wait_until(lambda: asyncio.sleep(0, tries.exists() and len(tries.read_text().split()) >= 2))
        async with agent.client() as client:
            run = (await client.status())["run"]
            assert run["status"] == "restart_pending" and run["active"] is False
            assert run["restart"]["failed"]["code"] == "reboot_command_failed"
            assert "exited with code 3: reboot is inhibited" in run["restart"]["failed"]["message"]
            events = [e async for e in client.events(ran.events[0]["run_id"])]
            failed = [e for e in events if e["event"] == "restart_failed"]
            assert failed and failed[0]["code"] == "reboot_command_failed"
            assert events.index(failed[0]) > [e["event"] for e in events].index("ts_finished")
        # Still restart-pending: not discarded; an explicit resume continues it now.
        refused = await cli("discard", "--agent", str(sock))
        assert refused.rc == 2 and "waits for a restart" in refused.stderr
        resumed = await cli("resume", "--agent", str(sock), "--json")
        assert resumed.rc == 0, resumed.stderr
        assert marks(work) == ["before", "after-restart"]
        count = len(tries.read_text().split())
        await asyncio.sleep(0.5)
        assert len(tries.read_text().split()) == count  # no more tries once it continued

    # A reboot command that cannot start at all.
    args = agent_args(server, tmp_path / "d2", sock, "--reboot-command", str(tmp_path / "no-such-reboot"),
                      "--restart-retry", "0.2")
    async with agent_process(*args, extra_env=boot_env(boot)) as agent:
        ran = await cli("run", "DEPREBOOT", "--agent", str(sock), "--json")
        assert ran.rc == 5, ran.stderr

        async def failed_to_start() -> bool:
            async with agent.client() as client:
                run = (await client.status())["run"]
            return bool(run and run["restart"] and run["restart"]["failed"]
                        and run["restart"]["failed"]["code"] == "reboot_command_not_started")

        await wait_until(failed_to_start)


# --- system mode and settings ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_system_mode_paths_and_settings_the_token_never_shown(
        server: ContentServer, tmp_path: Path, short_dir: Path, work: Path) -> None:
    short_dir.chmod(0o755)
    state, logs, runtime = tmp_path / "state", tmp_path / "logs", short_dir / "run"
    runtime.mkdir(mode=0o755)
    config = tmp_path / "etc" / "agent.json"
    systemd = {"STATE_DIRECTORY": str(state), "LOGS_DIRECTORY": str(logs), "RUNTIME_DIRECTORY": str(runtime)}
    sock = runtime / "agent.sock"
    secret = "tok-" + uuid.uuid4().hex
    args = ["--system", "--config", str(config), "--site", server.url, "--connection", "internet"]
    async with agent_process(*args, socket_path=sock, extra_env=systemd) as agent:
        assert stat.S_IMODE(sock.stat().st_mode) == 0o666
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        assert json.loads(config.read_text()) == {"site": server.url, "connection": "internet"}
        async with agent.client() as client:
            status = await client.status()
            assert (status["mode"], status["data_dir"], status["socket"]) == ("system", str(state), str(sock))

        shown = await cli("settings", "--agent", str(sock))
        assert shown.rc == 0, shown.stderr
        assert f"site: {server.url}" in shown.stdout and "token: not set" in shown.stdout
        changed = await cli("settings", "--agent", str(sock), "token", "-", stdin=f"{secret}\n".encode())
        assert (changed.rc, changed.stdout) == (0, "token: set\n"), changed.stderr
        as_json = await cli("settings", "--agent", str(sock), "--json")
        assert json.loads(as_json.stdout)["token"] == "set"
        assert json.loads(config.read_text())["token"] == secret and stat.S_IMODE(config.stat().st_mode) == 0o600
        answer = await raw(sock, "GET", "/v1/settings")
        assert answer.json()["token"] == "set"
        countdown = await cli("settings", "--agent", str(sock), "restart_countdown_s", "5")
        assert (countdown.rc, countdown.stdout) == (0, "restart_countdown_s: 5.0\n")
        bad = await cli("settings", "--agent", str(sock), "connection", "satellite")
        assert bad.rc == 2 and bad.stderr == "software-center: connection: expected auto, internet or intranet\n"
        unknown = await raw(sock, "POST", "/v1/settings", json={"colour": "red"})
        assert unknown.status_code == 400 and unknown.json()["message"].startswith("colour: not a setting")

        # The site is opened again with a changed setting; a run goes through with the token.
        intranet = await cli("settings", "--agent", str(sock), "connection", "intranet")
        assert intranet.rc == 0
        async with agent.client() as client:
            assert (await client.status())["connection_setting"] == "intranet"
            await client.change_settings({"connection": "internet"})
        ran = await cli("run", "DEPQUICK", "--agent", str(sock), "--json")
        assert ran.rc == 0, ran.stderr
        outputs = [shown, changed, as_json, countdown, bad, intranet, ran]

        if os.geteuid() == 0 and shutil.which("setpriv"):
            rc, out, err = await run_as(65534, "settings", "--agent", str(sock), "site", "http://elsewhere/")
            assert (rc, out) == (2, "") and err == "software-center: to change the agent's settings you must be root\n"
            rc, out, err = await run_as(65534, "settings", "--agent", str(sock), "token")
            assert (rc, out) == (0, "token: set\n"), err
            outputs.append(CliOut(out, err))
        agent.kill(signal.SIGTERM)
        _rc, agent_err = await agent.wait()
    log_text = (logs / "smsts.log").read_text(errors="replace")
    assert f"The agent serves {state} on {sock}" in log_text  # the system log is written there
    assert not (state / "logs" / "smsts.log").exists()
    for text in [log_text, agent_err, *(o.stdout + o.stderr for o in outputs)]:
        assert secret not in text


@pytest.mark.asyncio
async def test_socket_activation_serves_on_the_socket_systemd_passes(
        server: ContentServer, tmp_path: Path, short_dir: Path) -> None:
    sock = short_dir / "agent.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(sock))
        listener.listen()
        fd = listener.fileno()
        # As systemd does: the socket at fd 3, LISTEN_PID naming the agent's own pid.
        launcher = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.environ['LISTEN_PID'] = str(os.getpid()); "
                    "os.environ['LISTEN_FDS'] = '1'; os.execv(sys.argv[2], sys.argv[2:])")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", launcher, str(fd),
            *command("agent", "--system", "--config", str(tmp_path / "agent.json"),
                     "--site", server.url, "--connection", "internet"),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            pass_fds=(fd,), env=env({"STATE_DIRECTORY": str(tmp_path / "state"),
                                     "LOGS_DIRECTORY": str(tmp_path / "logs"),
                                     "RUNTIME_DIRECTORY": str(short_dir)}))
        agent = AgentProcess(proc, sock)
        try:
            await agent.ready()
            ran = await cli("run", "DEPQUICK", "--agent", str(sock), "--json")
            assert ran.rc == 0, ran.stderr
            agent.kill(signal.SIGTERM)
            rc, _err = await agent.wait()
            assert rc == 0 and sock.exists()  # the socket unit's socket stays
        finally:
            agent.kill()
            await proc.wait()


class CliOut:
    def __init__(self, stdout: str, stderr: str) -> None:
        self.stdout, self.stderr = stdout, stderr


# --- runs outlive the agent ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_sigkill_of_the_agent_mid_download_then_a_new_agent_finishes_the_run(
        server: ContentServer, tmp_path: Path, short_dir: Path, work: Path) -> None:
    data = tmp_path / "data"
    sock = short_dir / "a.sock"
    async with agent_process(*agent_args(server, data, sock)) as agent:
        async with agent.client() as client:
            run_id = await client.start_run("DEPGET")
            # A watcher that outlives the agent: it waits for the next one and goes on.
            across = await start("watch", "--agent", str(sock), "--json")
            assert await across.until(lambda e: e["event"] == "ts_started")
            seen = []
            async for event in client.events(run_id):
                seen.append(event)
                if event["event"] == "download_progress" and event["bytes"] > 300_000:
                    break
        agent.kill()
        await agent.wait()
    assert (data / "state" / "run.json").exists()
    part = data / "cache" / "BIGPKG.1" / "big.bin.part"
    kept = part.stat().st_size
    assert 0 < kept < BIG

    # No watch yet: the new agent continues the run by itself.
    async with agent_process(*agent_args(server, data, sock)) as agent:
        watched = await cli("watch", "--agent", str(sock), "--json")
        assert watched.rc == 0, watched.stderr
        names = watched.names()
        assert names[0] == "ts_started" and names.count("ts_started") == 2 and names.count("ts_finished") == 1
        assert watched.events[: len(seen)] == without(seen, "seq")  # the whole run, from its start
        assert watched.finished is not None and watched.finished["status"] == "succeeded"
        restarted = [e for e in watched.events if e["event"] == "ts_started"][1]
        assert restarted["resumed"] is True and restarted["run_id"] == run_id
        assert marks(work) == ["use"]
        followed = await across.finish()
        assert followed.rc == 0 and followed.events == watched.events  # nothing lost, nothing twice
        assert "lost the agent; waiting for it to come back" in followed.stderr
        assert server.requests_for("content/BIGPKG.1/big.bin")[-1].range == f"bytes={kept}-"
        assert server.bytes_sent("content/BIGPKG.1/big.bin") <= 1.05 * BIG
        async with agent.client() as client:
            events = [e async for e in client.events(run_id)]
            seqs = [e["seq"] for e in events]
            assert seqs == sorted(set(seqs))  # still growing across the restart

        # A finished run is not run again by the next agent.
        agent.kill(signal.SIGTERM)
        rc, _err = await agent.wait()
        assert rc == 0 and not sock.exists()
    async with agent_process(*agent_args(server, data, sock)) as agent:
        async with agent.client() as client:
            current = await client.current()
            assert current is not None and (current["status"], current["active"]) == ("succeeded", False)
    assert marks(work) == ["use"]


@pytest.mark.asyncio
async def test_sigterm_of_the_agent_mid_step_leaves_the_run_to_the_next_agent(
        server: ContentServer, tmp_path: Path, short_dir: Path, work: Path) -> None:
    """A service stop is not a cancel: the step's program outlives the agent, and the next
    agent waits for it instead of running it again."""
    data = tmp_path / "data"
    sock = short_dir / "a.sock"
    async with agent_process(*agent_args(server, data, sock)) as agent:
        async with agent.client() as client:
            run_id = await client.start_run("DEPWAIT")
            async for event in client.events(run_id):
                if event["event"] == "step_progress":  # the program is waiting for its file
                    break
        agent.kill(signal.SIGTERM)
        rc, _err = await agent.wait()
        assert rc == 0
    assert json.loads((data / "state" / "run.json").read_text())["status"] == "running"
    async with agent_process(*agent_args(server, data, sock)) as agent:
        watcher = await start("watch", "--agent", str(sock), "--json")
        assert await watcher.until(lambda e: e["event"] == "ts_started" and e.get("resumed"))
        (work / "go").touch()
        watched = await watcher.finish()
        assert watched.rc == 0, watched.stderr
        # The whole run: "Wait" started before the stop, and again (waited for) after it.
        assert [e["name"] for e in watched.of("step_started")] == ["Wait", "Wait", "After"]
        assert [e["name"] for e in watched.of("step_finished")] == ["Wait", "After"]
    assert marks(work) == ["wait", "after"]


# --- tiers -----------------------------------------------------------------------------------------


def as_user(uid: int, *args: str) -> list[str]:
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *command(*args)]


async def run_as(uid: int, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(*as_user(uid, *args), stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                env=env())
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert b"Traceback" not in err, err
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.asyncio
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to run clients as other users with setpriv")
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
async def test_tiers_by_the_callers_uid(server: ContentServer, tmp_path: Path, short_dir: Path, work: Path) -> None:
    short_dir.chmod(0o755)
    data = tmp_path / "data"
    sock = short_dir / "a.sock"
    async with agent_process(*agent_args(server, data, sock, "--socket-mode", "666")) as agent:
        assert stat.S_IMODE(sock.stat().st_mode) == 0o666
        # Any user may start a run (user tier) and read.
        rc, out, err = await run_as(65534, "run", "DEPWAIT", "--agent", str(sock), "--detach")
        assert rc == 0, err
        run_id = out.strip()
        async with agent.client() as client:
            current = await client.current()
            assert current is not None and current["started_by"] == 65534 and current["run_id"] == run_id

            # Another user may watch it, but not cancel it: Ctrl-C is refused in one sentence.
            proc = await asyncio.create_subprocess_exec(
                *as_user(65533, "watch", "--agent", str(sock), "--json"), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env())
            other = Running(proc, ("watch",))
            assert await other.until(lambda e: e["event"] == "step_started")
            other.kill(signal.SIGINT)
            refused = await other.finish()
            assert refused.rc == 2
            assert "to cancel this run you must be the user who started it (uid 65534) or root" in refused.stderr
            assert (await client.current() or {}).get("active") is True
            forbidden = await raw(sock, "POST", "/v1/runs/current/cancel")  # root: admin tier, allowed
            assert forbidden.status_code == 202

        # ... and by root. The starter may resume it; the other user may not.
        await wait_until(lambda: _status_is(sock, "cancelled"))
        rc, _out, err = await run_as(65533, "resume", "--agent", str(sock))
        assert rc == 2 and "to resume this run you must be the user who started it" in err
        rc, _out, err = await run_as(65533, "discard", "--agent", str(sock))
        assert rc == 2 and "to discard this run you must be the user who started it (uid 65534)" in err
        (work / "go").touch()
        rc, out, err = await run_as(65534, "resume", "--agent", str(sock), "--json")
        assert rc == 0, err
        assert [json.loads(line)["event"] for line in out.splitlines()][-1] == "ts_finished"


async def _status_is(sock: Path, status: str) -> bool:
    async with AgentClient(sock) as client:
        current = await client.current()
    return current is not None and current["status"] == status and not current["active"]


# --- systemd readiness and idleness ------------------------------------------------------------


@pytest.mark.asyncio
async def test_ready_notification_and_exit_when_idle(server: ContentServer, tmp_path: Path,
                                                     short_dir: Path) -> None:
    name = f"sc-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)  # an abstract name: NOTIFY_SOCKET says "@name"
        listener.setblocking(False)
        loop = asyncio.get_running_loop()
        args = agent_args(server, tmp_path / "data", short_dir / "a.sock", "--exit-when-idle", "1")
        async with agent_process(*args, extra_env={"NOTIFY_SOCKET": "@" + name}, wait=False) as agent:
            message = await asyncio.wait_for(loop.sock_recv(listener, 100), 30)
            assert message == b"READY=1"
            async with agent.client() as client:  # ready means it answers
                assert (await client.status())["run"] is None
            rc, _err = await agent.wait()
            assert rc == 0
        assert not (short_dir / "a.sock").exists()
