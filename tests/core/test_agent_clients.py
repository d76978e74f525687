"""The commands as clients of the agent they find: the order they look in, the user's
agent started on demand and shared by every command of a data folder, each command's own
site travelling with its requests, `--standalone`, a lost agent started again, the admin
group. Real agents, real commands, a real loopback server.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from core import AgentClient, default_socket_path, locate_agent
from tests.core import test_agent as base
from tests.core.helpers.content_server import ContentServer
from tests.core.sites import deployment, run_tool, tool_files, write_site
from tests.core.sites.harness import cli, start
from tests.core.test_agent import BIG, agent_args, agent_process, marks, run_as

# The agent tests' fixtures, registered here too: a site served on loopback, a work folder
# its steps mark, and a folder short enough for socket paths.
server, work, short_dir = base.server, base.work, base.short_dir


def test_the_agent_a_client_asks(tmp_path: Path) -> None:
    data = tmp_path / "data"
    system = tmp_path / "system.sock"
    user = default_socket_path(data, {})
    # Nothing named, no machine's agent: the user's agent for the data folder, which may be started.
    place = locate_agent(None, data, data_dir_given=False, environ={}, system_socket=system)
    assert (place.socket, place.startable, place.system) == (user, True, False)
    system.touch()
    place = locate_agent(None, data, data_dir_given=False, environ={}, system_socket=system)
    assert (place.socket, place.startable, place.system) == (system, False, True)
    # Naming a data folder means that folder's own agent, even beside the machine's.
    assert locate_agent(None, data, data_dir_given=True, environ={}, system_socket=system).socket == user
    env = {"SOFTWARE_CENTER_AGENT": str(tmp_path / "env.sock")}
    assert locate_agent(None, data, data_dir_given=True, environ=env, system_socket=system).socket \
        == tmp_path / "env.sock"
    explicit = locate_agent(tmp_path / "x.sock", data, data_dir_given=True, environ=env, system_socket=system)
    assert (explicit.socket, explicit.startable) == (tmp_path / "x.sock", False)
    # One socket per data folder; the per-user folder keeps the plain name.
    runtime = {"XDG_RUNTIME_DIR": str(tmp_path / "rt")}
    assert default_socket_path(data, runtime) != default_socket_path(tmp_path / "other", runtime)
    assert default_socket_path(data, runtime).parent == tmp_path / "rt" / "software-center"
    deep = tmp_path / ("d" * 120)
    assert len(os.fsencode(str(default_socket_path(deep, {})))) <= 107


@pytest.mark.asyncio
async def test_a_listing_row_is_list_json_plus_the_documented_extras(tmp_path: Path) -> None:
    from core import ROW_EXTRAS, SoftwareCenter

    site = write_site(tmp_path / "site", packages={"TOOLS": tool_files()},
                      task_sequences={"ONE": [run_tool("One")]}, deployments=[deployment("DEP1", "ONE")])
    center = SoftwareCenter(tmp_path / "data", site=str(site), connection="internet")
    try:
        await center.open()
        (item,) = center.listings()
    finally:
        await center.aclose()
    row = item.as_row()
    assert [k for k in row if k not in item.as_json()] == list(ROW_EXTRAS)
    assert {k: row[k] for k in item.as_json()} == item.as_json()


async def _agent_pid(data: Path) -> int:
    async with AgentClient(default_socket_path(data)) as agent:
        return int((await agent.status())["pid"])


@pytest.mark.asyncio
async def test_commands_share_the_users_agent_and_keep_their_own_site(server: ContentServer, tmp_path: Path,
                                                                      work: Path) -> None:
    other_site = write_site(tmp_path / "other-site", packages={"TOOLS": tool_files()},
                            task_sequences={"ONE": [run_tool("One")]}, deployments=[deployment("DEPOTHER", "ONE")])
    data = tmp_path / "data"
    d = ["--data-dir", str(data)]
    first = await cli("list", "--site", server.url, *d, "--connection", "internet", "--json")
    assert first.rc == 0, first.stderr
    assert [e["id"] for e in first.events][:2] == ["DEPQUICK", "DEPWAIT"]
    pid = await _agent_pid(data)
    # Another site through the same agent: this command's own; nothing is saved.
    other = await cli("list", "--site", str(other_site), *d, "--json")
    assert [e["id"] for e in other.events] == ["DEPOTHER"]
    assert await _agent_pid(data) == pid
    again = await cli("list", "--site", server.url, *d, "--connection", "internet", "--json")
    assert again.events == first.events
    # Each command reads the site as it is now, through the same agent: a deployment the
    # admin adds shows at once; a catalog that breaks is reported and the next good one reads.
    catalog = other_site / "catalog.json"
    good = catalog.read_text()
    extended = json.loads(good)
    extended["deployments"].append({**extended["deployments"][0], "id": "DEPNEW", "name": "New one"})
    catalog.write_text(json.dumps(extended))
    newer = await cli("list", "--site", str(other_site), *d, "--json")
    assert [e["id"] for e in newer.events] == ["DEPOTHER", "DEPNEW"]
    catalog.write_text("{ not json")
    broken = await cli("list", "--site", str(other_site), *d, "--json")
    assert broken.rc == 2 and "the site's catalog is invalid" in broken.stderr
    catalog.write_text(good)
    assert [e["id"] for e in (await cli("list", "--site", str(other_site), *d, "--json")).events] == ["DEPOTHER"]
    settings = await cli("settings", *d, "--json")
    assert settings.rc == 0 and settings.events[0]["site"] is None and settings.events[0]["connection"] == "auto"

    # A run through it; the run is the agent's (its starter is this user).
    ran = await cli("run", "DEPQUICK", "--site", server.url, *d, "--connection", "internet", "--json")
    assert ran.rc == 0 and ran.finished is not None and ran.finished["status"] == "succeeded", ran.stderr
    async with AgentClient(default_socket_path(data)) as agent:
        current = await agent.current()
        assert current is not None and current["started_by"] == os.getuid() and current["status"] == "succeeded"
    assert await _agent_pid(data) == pid and marks(work) == ["hello", "again"]

    # --standalone is refused while the agent serves the folder...
    alone = await cli("list", "--standalone", "--site", server.url, *d)
    assert alone.rc == 2 and f"an agent serves the data folder {data}" in alone.stderr

    # ... and an agent cannot start while a --standalone command uses one.
    lone = tmp_path / "lone"
    running = await start("run", "DEPWAIT", "--site", server.url, "--data-dir", str(lone), "--connection",
                          "internet", "--json", "--yes", "--standalone")
    assert await running.until(lambda e: e["event"] == "step_started")
    blocked = await cli("list", "--data-dir", str(lone))
    assert blocked.rc == 2
    assert blocked.stderr.startswith(f"software-center: cannot start the agent for {lone}: another agent, or a "
                                     "--standalone command, already uses the data folder"), blocked.stderr
    (work / "go").touch()
    finished = await running.finish()
    assert finished.rc == 0


@pytest.mark.asyncio
async def test_a_killed_users_agent_is_started_again_and_the_run_goes_on(server: ContentServer, tmp_path: Path,
                                                                          work: Path) -> None:
    data = tmp_path / "data"
    running = await start("run", "DEPGET", "--site", server.url, "--data-dir", str(data), "--connection",
                          "internet", "--json", "--yes")
    assert await running.until(lambda e: e["event"] == "download_progress" and e["bytes"] > BIG // 4)
    os.kill(await _agent_pid(data), signal.SIGKILL)
    result = await running.finish()
    assert result.rc == 0, result.stderr
    assert "lost the agent" in result.stderr
    assert result.finished is not None and result.finished["status"] == "succeeded"
    assert [e["event"] for e in result.events].count("ts_started") == 2  # started, then continued
    assert result.events[-1]["event"] == "ts_finished"
    async with AgentClient(default_socket_path(data)) as agent:  # every event once, none lost
        kept = [e async for e in agent.events(result.events[0]["run_id"])]
    assert [{k: v for k, v in e.items() if k != "seq"} for e in kept] == result.events
    assert marks(work) == ["use"]  # the step after the download ran once
    assert server.bytes_sent("content/BIGPKG.1/big.bin") <= 1.05 * BIG


@pytest.mark.asyncio
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to run clients as other users with setpriv")
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
async def test_profiles_and_the_admin_group(server: ContentServer, tmp_path: Path, short_dir: Path) -> None:
    short_dir.chmod(0o755)
    sock = short_dir / "a.sock"
    async with agent_process(*agent_args(server, tmp_path / "data", sock, "--socket-mode", "666")):
        # Another user lists the agent's own site, but may not bring a site of theirs.
        rc, out, err = await run_as(65534, "list", "--agent", str(sock), "--json")
        assert rc == 0, err
        rc, out, err = await run_as(65534, "list", "--agent", str(sock), "--site", server.url)
        assert rc == 2 and "this agent serves the site and trust settings its admin chose" in err
        # The admin group: its members change settings; others are told which group it is.
        root = await cli("settings", "admin_group", "nogroup", "--agent", str(sock))
        assert root.rc == 0 and "admin_group: nogroup" in root.stdout
        rc, out, err = await run_as(65534, "settings", "restart_countdown_s", "5", "--agent", str(sock))
        assert rc == 0 and "restart_countdown_s: 5.0" in out, err
        rc, out, err = await run_as(65533, "settings", "restart_countdown_s", "6", "--agent", str(sock))
        assert rc == 2 and "you must be root (or in the group nogroup)" in err
        await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_closing_a_remote_engine_stops_its_follower_and_leaves_the_run(server: ContentServer, tmp_path: Path,
                                                                             short_dir: Path, work: Path) -> None:
    """A window that closes mid-run closes its engine: the follow ends (cancelled, never an
    error from a closed client, even when the agent then goes away) and the run goes on."""
    from core import AgentPlace, RemoteEngine

    sock = short_dir / "a.sock"
    async with agent_process(*agent_args(server, tmp_path / "data", sock)) as agent:
        engine = RemoteEngine(AgentPlace(sock, False), tmp_path / "data")
        await engine.open()
        seen: list[str] = []
        following = asyncio.ensure_future(engine.run("DEPWAIT", lambda e: seen.append(e.event)))
        while "step_started" not in seen:
            await asyncio.sleep(0.02)
        await engine.aclose()
        with pytest.raises(asyncio.CancelledError):
            await following
        async with agent.client() as client:
            current = await client.current()
            assert current is not None and current["active"] is True  # the run goes on
        agent.kill()
        await asyncio.sleep(0.5)  # a follower still reconnecting would fail here, on the loop
    (work / "go").touch()
