"""Restart now and snooze: POST /v1/runs/current/restart on a real agent process, the
postponement kept across an agent restart, and the countdown starting again after it."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from core import AgentError

from .helpers.content_server import ContentServer
from .test_agent import _status_is, agent_args, agent_process, cli, marks, raw, server, short_dir, wait_until, work

__all__ = ["server", "short_dir", "work"]  # the fixtures, shared with test_agent.py


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@pytest.mark.asyncio
async def test_snooze_is_kept_across_an_agent_restart_then_the_countdown_starts_again_and_restart_now_continues(
        server: ContentServer, tmp_path: Path, short_dir: Path, work: Path) -> None:
    data = tmp_path / "data"
    sock = short_dir / "a.sock"
    async with agent_process(*agent_args(server, data, sock)) as agent:
        async with agent.client() as client:
            # Nothing waits for a restart: a stable code.
            none = await raw(sock, "POST", "/v1/runs/current/restart", json={"now": True})
            assert (none.status_code, none.json()["code"]) == (409, "no_restart_pending")
            later = await cli("run", "DEPLATER", "--agent", str(sock), "--json")  # an hour's countdown
            assert later.rc == 5, later.stderr
            restart = (await client.current() or {})["restart"]
            assert restart["mode"] == "simulated" and restart["snoozed_until"] is None
            assert restart["snooze_minutes"] == [15, 60, 240]  # the default choices
            assert 3500 < epoch(restart["countdown_ends"]) - time.time() <= 3600
            # Bad requests name what was wrong.
            for body, says in (({"snooze_minutes": 7}, "snooze_minutes: expected one of 15, 60, 240"),
                               ({}, "one of the two"), ({"now": True, "snooze_minutes": 15}, "one of the two")):
                bad = await raw(sock, "POST", "/v1/runs/current/restart", json=body)
                assert (bad.status_code, bad.json()["code"]) == (400, "bad_request")
                assert says in bad.json()["message"]
            answer = await client.snooze_restart(15)
            assert answer["status"] == "snoozed"
            assert 14 * 60 < epoch(answer["snoozed_until"]) - time.time() <= 15 * 60
            restart = (await client.current() or {})["restart"]
            assert restart["snoozed_until"] == answer["snoozed_until"] and restart["countdown_ends"] is None
    assert marks(work) == []
    # A new agent keeps the postponement (it is saved with the run pointer).
    async with agent_process(*agent_args(server, data, sock)) as agent:
        async with agent.client() as client:
            restart = (await client.current() or {})["restart"]
            assert restart["snoozed_until"] == answer["snoozed_until"]
    # Time passes while no agent runs: the postponement ends a second after the next start.
    pointer_file = data / "agent" / "current.json"
    pointer = json.loads(pointer_file.read_text())
    pointer["restart_snoozed_until"] = time.time() + 1
    pointer_file.write_text(json.dumps(pointer))
    async with agent_process(*agent_args(server, data, sock)) as agent:
        async with agent.client() as client:
            assert (await client.current() or {})["restart"]["snoozed_until"] is not None

            async def counting_again() -> bool:
                r = (await client.current() or {})["restart"]
                return bool(r and r["snoozed_until"] is None and r["countdown_ends"])

            await wait_until(counting_again, 20)
            assert "restart_snoozed_until" not in json.loads(pointer_file.read_text())
            # Restart now: the simulated restart is over at once and the run continues.
            assert (await client.restart_now())["status"] == "restarting"
            await wait_until(lambda: _status_is(sock, "succeeded"))
            assert marks(work) == ["after-restart"]
            with pytest.raises(AgentError) as info:
                await client.snooze_restart(15)
            assert info.value.code == "no_restart_pending"
        # The admin's choice of delays, through the command line.
        changed = await cli("settings", "--agent", str(sock), "restart_snooze_minutes", "30, 5,5")
        assert (changed.rc, changed.stdout) == (0, "restart_snooze_minutes: 5,30\n"), changed.stderr
        bad = await cli("settings", "--agent", str(sock), "restart_snooze_minutes", "0")
        assert bad.rc == 2 and "restart_snooze_minutes: expected a list of whole minutes" in bad.stderr
        later = await cli("run", "DEPLATER", "--agent", str(sock), "--json")
        assert later.rc == 5, later.stderr
        async with agent.client() as client:
            assert (await client.current() or {})["restart"]["snooze_minutes"] == [5, 30]
            assert (await client.snooze_restart(5))["status"] == "snoozed"


@pytest.mark.parametrize("value, kept", [("15,60,240", [15, 60, 240]), ([240, 5, 5], [5, 240]), ("30", [30])])
def test_the_snooze_setting_is_a_list_of_whole_minutes(value: object, kept: list[int]) -> None:
    from core.agent.settings import parse_setting

    assert parse_setting("restart_snooze_minutes", value) == kept


@pytest.mark.parametrize("value", ["0", "15,x", [1.5], [True], 99999999, [], {"a": 1}])
def test_a_bad_snooze_setting_names_the_setting(value: object) -> None:
    from core.agent.settings import parse_setting
    from core.errors import SettingError

    with pytest.raises(SettingError, match="restart_snooze_minutes: expected a list of whole minutes"):
        parse_setting("restart_snooze_minutes", value)
