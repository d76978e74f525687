"""Required deployments at their deadline. The rules with an injected clock (the pure
`plan` and the agent's `DeadlineKeeper`), then in real time through a real agent and a
real loopback server: a countdown of the notice period, the run started by itself at the
deadline, never again once it succeeded, and a laptop that was off at the deadline given
its full notice once the agent is up again."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core import AgentClient, Listing, Refusal, Verdict, parse_catalog
from core.agent.deadlines import DeadlineKeeper, DeadlineMemory, plan
from tests.core.helpers.content_server import ContentServer
from tests.core.sites import deployment, run_tool, tool_files, write_site
from tests.core.test_agent import agent_args, agent_process, short_dir, wait_until
from tests.core.test_schedule import FakeClock

short_dir = short_dir  # a fixture shared with the agent's tests

T0 = 1_900_000_000.0  # the fake clock's start
NOTICE = 900.0  # 15 minutes


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def listing(tmp_path: Path, deadline: float | None, refusal: Refusal | None = None, dep_id: str = "REQ1",
            **fields: Any) -> Listing:
    root = write_site(tmp_path / f"site-{dep_id}-{deadline}", packages={"TOOLS": tool_files()},
                      task_sequences={"SEQ": [run_tool("Hello", "--print", "hi")]},
                      deployments=[deployment(dep_id, "SEQ", **{"purpose": "required", **fields},
                                              deadline=iso(deadline) if deadline else None)])
    catalog = parse_catalog((root / "catalog.json").read_bytes(), "http://x/catalog.json")
    dep = catalog.deployments[0]
    return Listing(dep, Verdict(dep.id, refusal, "refused" if refusal else None), 0, 0)


def states(listings: list[Listing], memory: DeadlineMemory, now: float, notice: float = NOTICE) -> list[Any]:
    return [(d.state, d.starts_at) for d in plan(listings, memory, now, notice)]


def test_scheduled_then_a_countdown_of_the_notice_then_due_at_the_deadline(tmp_path: Path) -> None:
    deadline = T0 + 3600
    item = [listing(tmp_path, deadline)]
    memory = DeadlineMemory()
    assert states(item, memory, T0) == [("scheduled", None)]
    assert states(item, memory, deadline - NOTICE + 1) == [("countdown", deadline)]
    assert states(item, memory, deadline - 1) == [("countdown", deadline)]
    assert states(item, memory, deadline) == [("due", deadline)]
    # an available deployment, or a required one without a deadline, is not scheduled
    assert plan([listing(tmp_path, None)], memory, deadline, NOTICE) == []
    assert plan([listing(tmp_path, deadline, dep_id="AVL1", purpose="available")], memory, deadline, NOTICE) == []


def test_a_laptop_that_was_off_at_the_deadline_gets_its_full_notice_and_an_agent_restart_does_not_reset_it(
        tmp_path: Path) -> None:
    deadline = T0
    item = [listing(tmp_path, deadline)]
    memory = DeadlineMemory()
    up = T0 + 3 * 86400  # first seen three days after the deadline
    assert states(item, memory, up) == [("countdown", up + NOTICE)]
    memory.save(tmp_path / "schedule.json")
    again = DeadlineMemory.load(tmp_path / "schedule.json")  # the agent restarted meanwhile
    assert states(item, again, up + 600) == [("countdown", up + NOTICE)]
    assert states(item, again, up + NOTICE) == [("due", up + NOTICE)]
    # with no notice period it is due at once
    assert states(item, DeadlineMemory(), up, notice=0) == [("due", up)]


def test_refused_on_this_connection_it_waits_succeeded_never_again_new_deadline_starts_over(tmp_path: Path) -> None:
    deadline = T0 + 600
    memory = DeadlineMemory()
    lan = [listing(tmp_path, deadline, Refusal.INTRANET_ONLY)]
    due = plan(lan, memory, deadline + 5, NOTICE)
    assert [(d.state, d.reason) for d in due] == [("waiting", "intranet_only")]
    assert states(lan, memory, T0 - 3600) == []  # not yet in its notice: nothing to say
    assert states([listing(tmp_path, deadline, Refusal.EXPIRED)], memory, deadline + 5) == []
    memory.started[DeadlineMemory.key("REQ1", deadline)] = deadline
    assert states([listing(tmp_path, deadline)], memory, deadline + 5) == [("started", deadline)]
    later = deadline + 86400  # the admin moved the deadline, published at short notice: a full one
    assert states([listing(tmp_path, later)], memory, later - 60) == [("countdown", later - 60 + NOTICE)]
    memory.succeeded["REQ1"] = deadline + 100
    assert states([listing(tmp_path, later)], memory, later + 5) == [("done", None)]


@pytest.mark.asyncio
async def test_the_keeper_starts_the_soonest_due_once_not_during_a_run_and_waits_when_it_cannot(
        tmp_path: Path) -> None:
    clock = FakeClock(T0)
    items = [listing(tmp_path, T0 + 60, dep_id="LATER"), listing(tmp_path, T0 + 30, dep_id="SOONER")]
    started: list[str] = []
    busy = [True]
    refuse = [True]

    async def start(dep_id: str) -> str:
        if refuse[0]:
            raise RuntimeError("another run is saved: resume or discard it")
        started.append(dep_id)
        return "run"

    keeper = DeadlineKeeper(tmp_path / "agent" / "schedule.json", lambda now: items, lambda: busy[0], start,
                            lambda: 10.0, clock)
    await keeper.check()
    assert [e["state"] for e in keeper.schedule] == ["scheduled", "scheduled"]
    clock.t = T0 + 25
    await keeper.check()
    assert [(e["deployment"], e["state"], e["seconds_left"]) for e in keeper.schedule] == [
        ("SOONER", "countdown", 5.0), ("LATER", "scheduled", None)]
    clock.t = T0 + 61
    await keeper.check()
    assert started == []  # a run is under way
    busy[0] = False
    await keeper.check()
    assert started == [] and keeper.schedule[0]["state"] == "waiting"
    assert "another run is saved" in keeper.schedule[0]["message"]
    refuse[0] = False
    await keeper.check()
    await keeper.check()
    assert started == ["SOONER", "LATER"]  # each once, soonest deadline first
    for _ in range(3):
        await keeper.check()
    assert started == ["SOONER", "LATER"]
    saved = json.loads((tmp_path / "agent" / "schedule.json").read_text())
    assert set(saved["started"]) == {f"SOONER@{iso(T0 + 30)}", f"LATER@{iso(T0 + 60)}"}


# --- in real time, through a real agent ------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "site"


def publish(site: Path, marks: Path, deadline: datetime) -> None:
    write_site(site, packages={"TOOLS": tool_files()},
               task_sequences={"SEQ": [run_tool("Upgrade", "--marker", str(marks), "upgraded")]},
               deployments=[deployment("REQUPG", "SEQ", purpose="required",
                                       deadline=deadline.isoformat().replace("+00:00", "Z"))])


@pytest.fixture
def server(site: Path, tmp_path: Path) -> Iterator[ContentServer]:
    publish(site, tmp_path / "marks", datetime.now(UTC) + timedelta(days=30))
    with ContentServer(site) as srv:
        yield srv


async def schedule_of(client: AgentClient) -> dict[str, Any]:
    entries = (await client.status())["schedule"]
    return entries[0] if entries else {}


@pytest.mark.asyncio
async def test_a_required_deployment_counts_down_and_starts_by_itself_at_its_deadline_then_never_again(
        server: ContentServer, site: Path, tmp_path: Path, short_dir: Path) -> None:
    data, sock, marks = tmp_path / "data", short_dir / "a.sock", tmp_path / "marks"
    async with agent_process(*agent_args(server, data, sock, "--precache-delay", "0")) as agent:
        async with AgentClient(agent.socket) as client:
            await client.change_settings({"notice_minutes": "0.05", "poll_minutes": "0.02"})  # 3 s, 1.2 s
            deadline = datetime.now(UTC) + timedelta(seconds=4)
            publish(site, marks, deadline)  # the admin sets a deadline 4 s ahead

            async def counting() -> bool:
                return (await schedule_of(client)).get("state") == "countdown"

            await wait_until(counting, timeout=20)
            entry = await schedule_of(client)
            assert 0 < entry["seconds_left"] <= 4.1 and entry["deadline"].startswith(deadline.strftime("%Y-%m-%dT%H"))
            assert not marks.exists()

            async def finished() -> bool:
                current = await client.current()
                return current is not None and current["status"] == "succeeded"

            await wait_until(finished, timeout=30)
            assert time.time() >= deadline.timestamp() - 0.5  # not before the deadline
            assert marks.read_text().splitlines() == ["upgraded"]

            async def done() -> bool:
                return (await schedule_of(client)).get("state") == "done"

            await wait_until(done, timeout=20)
            await asyncio.sleep(2)
            assert marks.read_text().splitlines() == ["upgraded"]  # it never runs again


@pytest.mark.asyncio
async def test_an_agent_that_was_stopped_across_the_deadline_gives_the_full_notice_then_starts_it(
        server: ContentServer, site: Path, tmp_path: Path, short_dir: Path) -> None:
    data, sock, marks = tmp_path / "data", short_dir / "a.sock", tmp_path / "marks"
    async with agent_process(*agent_args(server, data, sock)) as agent:
        async with AgentClient(agent.socket) as client:
            await client.change_settings({"notice_minutes": "0.1"})
    publish(site, marks, datetime.now(UTC) - timedelta(hours=2))  # passed while the agent was off
    up = time.time()
    async with agent_process(*agent_args(server, data, sock)) as agent:
        async with AgentClient(agent.socket) as client:
            entry = await schedule_of(client)
            if entry.get("state") != "countdown":  # the first look may come a moment after start
                await wait_until(lambda: _state_is(client, "countdown"), timeout=10)
                entry = await schedule_of(client)
            assert entry["seconds_left"] > 3  # a countdown of the 6 s notice, not an instant start
            assert not marks.exists()
            await wait_until(lambda: _state_is(client, "started", "done"), timeout=30)
            assert time.time() - up >= 5.5

            async def upgraded() -> bool:
                return marks.exists()

            await wait_until(upgraded, timeout=30)


async def _state_is(client: AgentClient, *wanted: str) -> bool:
    return (await schedule_of(client)).get("state") in wanted


@pytest.mark.asyncio
async def test_one_that_may_not_run_on_this_connection_waits_says_why_and_starts_when_it_may(
        server: ContentServer, site: Path, tmp_path: Path, short_dir: Path) -> None:
    data, sock, marks = tmp_path / "data", short_dir / "a.sock", tmp_path / "marks"
    write_site(site, packages={"TOOLS": tool_files()},
               task_sequences={"SEQ": [run_tool("Upgrade", "--marker", str(marks), "upgraded")]},
               deployments=[deployment("REQLAN", "SEQ", purpose="required", allow_internet=False,
                                       deadline=iso(time.time() - 60))])
    async with agent_process(*agent_args(server, data, sock)) as agent:  # on the internet
        async with AgentClient(agent.socket) as client:
            await client.change_settings({"notice_minutes": "0"})
            await wait_until(lambda: _state_is(client, "waiting"), timeout=20)
            entry = await schedule_of(client)
            assert entry["reason"] == "intranet_only" and "corporate network" in entry["message"]
            await asyncio.sleep(1)
            assert not marks.exists()
            await client.change_settings({"connection": "intranet"})  # back in the office

            async def upgraded() -> bool:
                return marks.exists()

            await wait_until(upgraded, timeout=30)
