"""Following a run through the agent when the client comes late: `run` ends at the run's
first finish (a restart: exit 5) even when the agent already continued the run past the
restart and the replay holds the continuation too; `watch` goes on into it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from cli.remote import _follow  # noqa: PLC2701 - the function `run` follows a run with
from core import AgentClient
from tests.core import test_agent as base
from tests.core.helpers.content_server import ContentServer
from tests.core.sites.harness import cli
from tests.core.test_agent import agent_args, agent_process, marks, wait_until

server, work, short_dir = base.server, base.work, base.short_dir


@pytest.mark.asyncio
async def test_a_late_follower_stops_at_the_restart_and_watch_follows_the_continuation(
        server: ContentServer, tmp_path: Path, short_dir: Path, work: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    data, sock = tmp_path / "data", short_dir / "a.sock"
    async with agent_process(*agent_args(server, data, sock)) as agent:
        async with AgentClient(agent.socket) as client:
            run_id = await client.start_run("DEPREBOOT")

            async def over() -> bool:  # restarted (a 1 s simulated restart) and finished
                current = await client.current()
                return current is not None and current["status"] == "succeeded"

            await wait_until(over, timeout=60)
            assert marks(work) == ["before", "after-restart"]
            capsys.readouterr()
            code = await _follow(client, run_id, argparse.Namespace(json=True))
            shown = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
            assert code == 5, shown
            finishes = [e for e in shown if e["event"] == "ts_finished"]
            assert [e["status"] for e in finishes] == ["restart_pending"] and shown[-1] == finishes[0]
        watched = await cli("watch", "--json", "--agent", str(sock))
        assert watched.rc == 0, watched.stderr
        assert [e["status"] for e in watched.events if e["event"] == "ts_finished"] == [
            "restart_pending", "succeeded"]
