"""The task-sequence engine through its API (SoftwareCenter + TaskSequenceRunner): whole runs
on the demo site and on purpose-built catalogs, events recorded in a list and their order
asserted; real loopback HTTP, real child processes, no mocks.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from core.center import SoftwareCenter
from core.demo import build_demo_site
from core.eligibility import LaunchMode
from core.engine import TaskSequenceRunner
from core.errors import ErrorCode, RunError
from core.events import (
    DownloadFailed,
    DownloadFinished,
    DownloadProgressed,
    DownloadStarted,
    Event,
    RestartPending,
    RunFinished,
    RunOutcome,
    RunRefused,
    RunResult,
    RunStarted,
    StepFinished,
    StepOutcome,
    StepProgressed,
    StepSkipped,
    StepStarted,
)
from core.runstate import RunStatus, load_history, load_state, state_dir
from tests.core.sites import PY, deployment, run_tool, setup_files, tool_files, write_site

SMALL = 1 / 256
FAST = {"DemoSetupSeconds": "0.3", "SMSTSDownloadRetryCount": "1", "SMSTSDownloadRetryDelay": "0"}


class Events:
    """An EventSink that keeps every event, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, cls: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, cls)]

    def index(self, predicate: Callable[[Event], bool]) -> int:
        return next(i for i, e in enumerate(self.events) if predicate(e))

    def step_span(self, name: str) -> tuple[int, int]:
        """Positions of a step's step_started and step_finished."""
        start = self.index(lambda e: isinstance(e, StepStarted) and e.name == name)
        end = self.index(lambda e: isinstance(e, StepFinished) and e.name == name)
        return start, end


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_site(tmp_path_factory.mktemp("demo") / "site", scale=SMALL)


@pytest_asyncio.fixture
async def run_api(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """`await run_api(site, "DEP", variables=...)` / `await run_api(None, resume=True)`."""
    centers: list[SoftwareCenter] = []

    async def go(site: Path | None, deployment_id: str = "", *, data: Path | None = None,
                 variables: dict[str, str] | None = None, connection: str = "internet",
                 launch_mode: LaunchMode = LaunchMode.SOFTWARE_CENTER, resume: bool = False,
                 sink: Events | None = None) -> tuple[RunResult, Events]:
        data = data or tmp_path / "data"
        events = sink or Events()
        if resume:
            state = load_state(data)
            assert state is not None
            center = SoftwareCenter(data, site=state.site, connection=state.connection_setting)  # type: ignore[arg-type]
            centers.append(center)
            await center.open((state_dir(data) / "catalog.json").read_bytes())
            result = await TaskSequenceRunner(center, events).resume()
        else:
            assert site is not None
            center = SoftwareCenter(data, site=str(site), connection=connection)  # type: ignore[arg-type]
            centers.append(center)
            await center.open()
            result = await TaskSequenceRunner(center, events).run(deployment_id, launch_mode, variables)
        await center.aclose()
        centers.remove(center)
        return result, events

    yield go
    for center in centers:
        await center.aclose()


def assert_counting(events: Events, first_index: int = 1) -> None:
    """Steps are counted as ConfigMgr counts them: the total is fixed for the run, and each
    step keeps its position in the run's list, so a skipped step is passed over (the index
    jumps) and never renumbers the steps after it."""
    started = events.of(StepStarted)
    indices = [s.index for s in started]
    assert indices and indices[0] == first_index
    assert indices == sorted(set(indices)), "positions only grow"
    for s in started:
        assert s.type != "group"
    totals = {e.total for e in events.events if isinstance(e, (StepStarted, StepSkipped))}
    totals |= {e.total_steps for e in events.of(RunStarted)}
    assert len(totals) == 1, f"the total never changes: {totals}"
    assert all(s.index <= s.total for s in started)
    for finished in events.of(StepFinished):
        start = next(s for s in started if s.index == finished.index)
        assert (start.name, start.ip) == (finished.name, finished.ip)
    run_ids = {e.run_id for e in events.events}
    assert len(run_ids) == 1 and None not in run_ids, "every event names the run"


# --- the demo site -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_demo_happy_path_downloads_on_demand_restarts_and_resumes(demo_site: Path, run_api: Any,
                                                                        tmp_path: Path) -> None:
    result, ev = await run_api(demo_site, "NWT20001", variables=FAST)
    assert result.status == "restart_pending" and result.exit_code == 5
    first = ev.events[0]
    assert isinstance(first, RunStarted) and not first.resumed and first.connection == "internet"
    assert first.total_steps == 8  # groups and the two disabled steps are not counted

    # On demand: each package's download lies inside the step that first needs it.
    for package, step in (("NWT00015", "Download Drivers"), ("NWT00012", "Upgrade Operating System")):
        start, end = ev.step_span(step)
        positions = [i for i, e in enumerate(ev.events)
                     if isinstance(e, (DownloadStarted, DownloadProgressed, DownloadFinished)) and e.package == package]
        assert positions and all(start < i < end for i in positions), (package, step)
        assert isinstance(ev.events[positions[0]], DownloadStarted)
        assert isinstance(ev.events[positions[-1]], DownloadFinished) and ev.events[positions[-1]].verified
    # The upgrade program reports its phases; progress only goes up.
    start, end = ev.step_span("Upgrade Operating System")
    progress = [e for e in ev.events[start:end] if isinstance(e, StepProgressed)]
    # Step 5 of 8: "Set Setup Duration" was skipped by its condition, and keeps its number.
    assert progress and all(p.index == 5 and p.ip == 6 for p in progress)
    assert [p.percent for p in progress] == sorted(p.percent for p in progress) and progress[-1].percent == 100
    assert any("SafeOS" in p.text for p in progress)
    assert [(s.name, s.why) for s in ev.of(StepSkipped)] == [
        ("Set Setup Duration", "condition"), ("Run Compatibility Scan", "disabled")]
    assert_counting(ev)
    assert [type(e) for e in ev.events[-3:]] == [StepFinished, RestartPending, RunFinished]
    assert ev.events[-2].after_step == "Restart Computer"
    assert load_state(tmp_path / "data") is not None

    result, ev2 = await run_api(None, resume=True)
    assert result.status == "succeeded" and result.exit_code == 0
    assert isinstance(ev2.events[0], RunStarted) and ev2.events[0].resumed
    assert [s.name for s in ev2.of(StepStarted)] == ["Install Company Portal"]
    start, end = ev2.step_span("Install Company Portal")
    assert start < ev2.index(lambda e: isinstance(e, DownloadStarted) and e.package == "NWT00018") < end
    # Company Portal succeeded, so "Collect Setup Logs" (only after a failure) is skipped.
    assert [(s.name, s.why) for s in ev2.of(StepSkipped)] == [
        ("Collect Setup Logs", "condition"), ("Remove Legacy VPN Client", "disabled")]
    assert_counting(ev2, first_index=7)  # "7 of 8" after the restart, as before it
    assert ev2.of(StepStarted)[-1].index == 7 and ev2.of(StepSkipped)[-1].total == 8
    assert ev2.events[-1] == RunFinished(RunOutcome.SUCCEEDED, None, None, run_id=ev.events[0].run_id)
    assert load_state(tmp_path / "data") is None
    history = load_history(tmp_path / "data")
    assert history[-1].status == "succeeded" and history[-1].bytes_transferred > 1_000_000


@pytest.mark.asyncio
async def test_all_before_start_downloads_everything_before_step_one(demo_site: Path, run_api: Any) -> None:
    result, ev = await run_api(demo_site, "NWT20005", variables=FAST)
    assert result.status == "restart_pending"
    first_step = ev.index(lambda e: isinstance(e, StepStarted))
    fetched = {e.package for e in ev.events[:first_step] if isinstance(e, DownloadFinished)}
    assert fetched == {"NWT00012", "NWT00015", "NWT00018"}
    # Later steps find their packages verified in the cache: nothing is transferred again.
    assert all(e.bytes_transferred == 0 for e in ev.events[first_step:] if isinstance(e, DownloadFinished))


@pytest.mark.asyncio
async def test_compatibility_block_fails_with_the_setup_code_in_words(demo_site: Path, run_api: Any) -> None:
    result, ev = await run_api(demo_site, "NWT20008", variables=FAST)
    assert result.status == "failed" and result.exit_code == 4
    assert result.error_code == 0xC1900208 == 3247440392
    assert "incompatible app or driver" in (result.error or "")
    finished = ev.of(StepFinished)[-1]
    assert finished.name == "Upgrade Operating System" and finished.status == "failed"
    assert finished.exit_code == 0xC1900208
    assert ev.events[-1] == RunFinished("failed", result.error, 0xC1900208, reason=ErrorCode.PROGRAM_FAILED,
                                         run_id=ev.events[0].run_id)
    assert result.reason is ErrorCode.PROGRAM_FAILED
    assert "Restart Computer" not in [s.name for s in ev.of(StepStarted)]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("deployment_id", "connection", "launch_mode", "reason"),
    [
        ("NWT20002", "internet", LaunchMode.SOFTWARE_CENTER, "intranet_only"),
        ("NWT20003", "internet", LaunchMode.SOFTWARE_CENTER, "direct_access_on_internet"),
        ("NWT20004", "internet", LaunchMode.SOFTWARE_CENTER, "content_not_on_internet"),
        ("NWT20001", "internet", LaunchMode.PXE, "unsupported_launch_mode"),
        ("NWT20009", "internet", LaunchMode.SOFTWARE_CENTER, "not_yet_available"),
        ("NWT20007", "intranet", LaunchMode.SOFTWARE_CENTER, "media_pxe_only"),
        ("NWT29999", "internet", LaunchMode.SOFTWARE_CENTER, "unknown_deployment"),
    ],
)
async def test_refusals_start_nothing(demo_site: Path, run_api: Any, tmp_path: Path, deployment_id: str,
                                      connection: str, launch_mode: LaunchMode, reason: str) -> None:
    result, ev = await run_api(demo_site, deployment_id, connection=connection, launch_mode=launch_mode)
    assert result.status == "refused" and result.exit_code == 3
    assert [type(e) for e in ev.events] == [RunRefused]
    assert ev.events[0].reason == reason and ev.events[0].deployment == deployment_id and ev.events[0].message
    assert load_state(tmp_path / "data") is None
    assert load_history(tmp_path / "data") == []
    assert not (tmp_path / "data" / "cache").exists() or not any((tmp_path / "data" / "cache").iterdir())


# --- step semantics on a purpose-built catalog ----------------------------------------------


def semantics_site(root: Path, work: Path) -> Path:
    long_text = "".join(f"{i:04d}" for i in range(750))  # 3000 characters
    steps: list[dict[str, Any]] = [
        {"type": "set_variable", "name": "Set Color", "variable": "Color", "value": "Blue"},
        run_tool("Equals", "--print", "eq", condition={"variable": "color", "op": "equals", "value": "BLUE"}),
        run_tool("Not Equals", condition={"variable": "Color", "op": "not_equals", "value": "blue"}),
        run_tool("Exists", condition={"variable": "Color", "op": "exists"}),
        run_tool("Not Exists", condition={"variable": "Color", "op": "not_exists"}),
        run_tool("All", condition={"all": [{"variable": "Color", "op": "exists"},
                                           {"variable": "Color", "op": "equals", "value": "Red"}]}),
        run_tool("Any", condition={"any": [{"variable": "Color", "op": "equals", "value": "Red"},
                                           {"variable": "Color", "op": "exists"}]}),
        run_tool("Not", condition={"not": {"variable": "Color", "op": "equals", "value": "Red"}}),
        run_tool("Disabled Step", enabled=False),
        {"type": "group", "name": "Disabled Group", "enabled": False, "steps": [run_tool("In Disabled Group")]},
        {"type": "group", "name": "Skipped Group", "condition": {"variable": "Color", "op": "not_exists"},
         "steps": [run_tool("Skipped A"), run_tool("Skipped B")]},
        {"type": "group", "name": "Group Continues", "continue_on_error": True, "steps": [
            {"type": "group", "name": "Inner Group", "steps": [
                run_tool("Fails In Group", "--exit", "5"),
                run_tool("Not Reached 1"),
            ]},
            run_tool("Not Reached 2"),
        ]},
        run_tool("After Failed Group", condition={"variable": "_SMSTSLastActionSucceeded", "op": "equals",
                                                  "value": "false"}),
        run_tool("Fails But Continues", "--exit", "7", continue_on_error=True),
        run_tool("Saw Exit Seven", condition={"variable": "_SMSTSLastActionRetCode", "op": "equals", "value": "7"}),
        run_tool("Skipped After Success", condition={"variable": "_SMSTSLastActionSucceeded", "op": "equals",
                                                     "value": "false"}),
        run_tool("Success Codes", "--exit", "42", success_codes=[0, 42]),
        {"type": "download_package_content", "name": "Download Two", "packages": ["PKGA", "PKGB"],
         "path_variable": "CONTENT"},
        run_tool("Expand", "--print", "%Color%|%NoSuchVar%|%_SMSTSPackageName%|%_SMSTSLaunchMode%|"
                 "%_SMSTSInWinPE%|%_SMSTSCurrentActionName%|%CONTENT01%|%CONTENT02%",
                 package=None, output_variable="Expanded"),
        run_tool("Long Output", "--print", "first line", "--print", long_text, output_variable="LongOut"),
        run_tool("Garbage Progress", "--garbage", "--sleep", "0.2", "--progress"),
        run_tool("Needs Restart", "--restart-once", str(work / "restarted"), "--marker", str(work / "marks"),
                 "restart-step"),
        run_tool("After Restart", "--marker", str(work / "marks"), "after-restart"),
        {"type": "restart", "name": "Restart For Inspection", "timeout_s": 0},
        run_tool("Last", "--marker", str(work / "marks"), "last"),
    ]
    return write_site(
        root,
        packages={"TOOLS": tool_files(), "PKGA": {"a.txt": b"A" * 100}, "PKGB": {"b/b.txt": b"B" * 200}},
        task_sequences={"SEM": steps},
        deployments=[deployment("DEPSEM", "SEM")],
    )


@pytest.mark.asyncio
async def test_conditions_groups_continue_on_error_variables_and_restarts(run_api: Any, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    site = semantics_site(tmp_path / "site", work)
    data = tmp_path / "data"
    result, ev = await run_api(site, "DEPSEM", variables={"SMSTSDownloadRetryDelay": "0"})
    assert result.status == "restart_pending"
    started = [s.name for s in ev.of(StepStarted)]
    assert started == [
        "Set Color", "Equals", "Exists", "Any", "Not", "Fails In Group", "After Failed Group",
        "Fails But Continues", "Saw Exit Seven", "Success Codes", "Download Two", "Expand", "Long Output",
        "Garbage Progress", "Needs Restart",
    ]
    assert [(s.name, s.why) for s in ev.of(StepSkipped)] == [
        ("Not Equals", "condition"), ("Not Exists", "condition"), ("All", "condition"),
        ("Disabled Step", "disabled"), ("Disabled Group", "disabled"), ("Skipped Group", "condition"),
        ("Skipped After Success", "condition"),
    ]
    status = {f.name: (f.status, f.exit_code) for f in ev.of(StepFinished)}
    assert status["Fails In Group"] == ("failed", 5)
    assert status["Fails But Continues"] == ("failed", 7)
    assert status["Success Codes"] == ("succeeded", 42)
    assert status["Needs Restart"] == ("succeeded", 3010)
    assert all(s == "succeeded" for n, (s, _) in status.items() if not n.startswith("Fails"))
    assert_counting(ev)
    # 26 steps counted at the start (the disabled ones are not); steps skipped by a condition
    # or abandoned with the failed group keep their numbers, and the total stays 26.
    assert ev.events[0].total_steps == 26
    garbage = ev.of(StepStarted)[started.index("Garbage Progress")].index
    assert [p.percent for p in ev.of(StepProgressed) if p.index == garbage] == [float(10 * n) for n in range(1, 11)]
    # The 3010 exit restarts right after its step, before "After Restart".
    assert [type(e).__name__ for e in ev.events[-3:]] == ["StepFinished", "RestartPending", "RunFinished"]
    assert ev.events[-2].after_step == "Needs Restart"

    state = load_state(data)
    assert state is not None and state.status is RunStatus.RESTART_PENDING
    values = state.variables["values"]
    cache = data / "cache"
    expanded = "|".join([
        "Blue", "%NoSuchVar%", "Sequence SEM", "SMS", "false", "Expand", str(cache / "PKGA.1"), str(cache / "PKGB.1"),
    ])
    assert values["Expanded"] == expanded
    assert values["CONTENT01"] == str(cache / "PKGA.1") and (cache / "PKGB.1" / "b" / "b.txt").is_file()
    assert values["LongOut"] == ("first line\n" + "".join(f"{i:04d}" for i in range(750)))[-1000:]
    assert len(values["LongOut"]) == 1000
    assert values["_SMSTSLastActionRetCode"] == "3010"

    # Resume: after the restart; then a restart step stops it again; then it finishes.
    result, ev2 = await run_api(None, resume=True)
    assert result.status == "restart_pending"
    assert [s.name for s in ev2.of(StepStarted)] == ["After Restart", "Restart For Inspection"]
    assert [s.index for s in ev2.of(StepStarted)] == [24, 25]
    result, ev3 = await run_api(None, resume=True)
    assert result.status == "succeeded"
    assert [s.name for s in ev3.of(StepStarted)] == ["Last"]
    assert ev3.of(StepStarted)[0].index == ev3.of(StepStarted)[0].total == 26
    assert (work / "marks").read_text().splitlines() == ["restart-step", "after-restart", "last"]


@pytest.mark.asyncio
async def test_a_failed_group_fails_the_sequence(run_api: Any, tmp_path: Path) -> None:
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={"FAIL": [
            run_tool("Before"),
            {"type": "group", "name": "Outer", "steps": [
                {"type": "group", "name": "Inner", "steps": [
                    run_tool("Breaks", "--print", "about to fail", "--exit", "0x80070005"),
                    run_tool("Never 1"),
                ]},
                run_tool("Never 2"),
            ]},
            run_tool("Never 3"),
            run_tool("Never 4", condition={"variable": "_SMSTSLastActionSucceeded", "op": "equals", "value": "false"}),
        ]},
        deployments=[deployment("DEPFAIL", "FAIL")],
    )
    result, ev = await run_api(site, "DEPFAIL")
    assert result.status == "failed" and result.exit_code == 4
    assert result.error_code == 0x80070005
    assert "0x80070005" in (result.error or "")
    assert [s.name for s in ev.of(StepStarted)] == ["Before", "Breaks"]
    assert ev.events[-1] == RunFinished("failed", result.error, 0x80070005, reason=ErrorCode.PROGRAM_FAILED,
                                         run_id=ev.events[0].run_id)
    assert load_state(tmp_path / "data") is None
    entry = load_history(tmp_path / "data")[-1]
    assert entry.status == "failed"
    # The history keeps the steps that ran, so Installation status can say which one failed.
    assert entry.total_steps == 6
    assert [(s["name"], s["status"]) for s in entry.steps][:2] == [("Before", "succeeded"), ("Breaks", "failed")]
    assert entry.steps[1]["exit_code"] == 0x80070005


@pytest.mark.asyncio
async def test_compat_scan_only_succeeds_with_setup_no_issues_code(run_api: Any, tmp_path: Path) -> None:
    setup_cmd = ["%PYTHON%", "setup.py", "/Auto", "Upgrade", "/Quiet", "/duration", "0.2"]
    site = write_site(
        tmp_path / "site",
        packages={"SETUP": setup_files()},
        task_sequences={"SCAN": [
            {"type": "upgrade_os", "name": "Compatibility Scan", "package": "SETUP", "command": setup_cmd,
             "compat_scan_only": True},
            {"type": "upgrade_os", "name": "Upgrade Without Room", "package": "SETUP",
             "command": [*setup_cmd, "/simulate-result", "0xC190020E"]},
        ]},
        deployments=[deployment("DEPSCAN", "SCAN")],
    )
    result, ev = await run_api(site, "DEPSCAN")
    scan, upgrade = ev.of(StepFinished)
    assert (scan.status, scan.exit_code) == ("succeeded", 0xC1900210)
    assert (upgrade.status, upgrade.exit_code) == ("failed", 0xC190020E)
    assert result.status == "failed" and result.error_code == 0xC190020E
    assert "not enough free disk space" in (result.error or "")
    progress = [e for e in ev.of(StepProgressed) if e.index == 1]
    assert progress[-1].percent == 100 and all("Compatibility scan" in p.text for p in progress[1:])


@pytest.mark.asyncio
async def test_timeout_kills_the_program_and_its_grandchild(run_api: Any, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={"HANG": [run_tool("Hangs", "--spawn-hang", str(pids), timeout_s=2)]},
        deployments=[deployment("DEPHANG", "HANG")],
    )
    began = time.monotonic()
    result, ev = await run_api(site, "DEPHANG")
    elapsed = time.monotonic() - began
    assert result.status == "failed"
    assert "did not finish within 2 s" in (result.error or "")
    finished = ev.of(StepFinished)[-1]
    assert finished.status == "failed" and finished.exit_code is None
    child, grandchild = (int(p) for p in pids.read_text().split())
    for pid in (child, grandchild):
        assert gone(pid), f"process {pid} survived the step's timeout"
    assert elapsed < 15


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


@pytest.mark.asyncio
async def test_program_that_cannot_start_fails_the_step_in_words(run_api: Any, tmp_path: Path) -> None:
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={"NOPE": [
            {"type": "run_command", "name": "Missing Program", "command": ["no-such-program-xyz", "/q"],
             "continue_on_error": True},
            {"type": "install_package", "name": "Missing Script", "package": "TOOLS",
             "command": ["./not-there.exe"]},
        ]},
        deployments=[deployment("DEPNOPE", "NOPE")],
    )
    result, ev = await run_api(site, "DEPNOPE")
    first, second = ev.of(StepFinished)
    assert first.status == "failed" and "no-such-program-xyz" in (first.error or "") and "PATH" in first.error
    assert second.status == "failed" and "not found" in (second.error or "")
    assert result.status == "failed"


@pytest.mark.asyncio
async def test_api_cancel_saves_state_and_resume_finishes(run_api: Any, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={"SLOW": [
            run_tool("Quick", "--marker", str(work / "marks"), "quick"),
            run_tool("Slow", "--slow-first", str(work / "flag"), "30", "--marker", str(work / "marks"), "slow"),
            run_tool("After", "--marker", str(work / "marks"), "after"),
        ]},
        deployments=[deployment("DEPSLOW", "SLOW")],
    )
    progressed = asyncio.Event()

    class Sink(Events):
        def __call__(self, event: Event) -> None:
            super().__call__(event)
            if isinstance(event, StepProgressed):
                progressed.set()

    events = Sink()
    task = asyncio.ensure_future(run_api(site, "DEPSLOW", sink=events))
    await asyncio.wait_for(progressed.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert events.events[-1] == RunFinished("cancelled", "cancelled by the user", 0x800704C7,
                                            reason=ErrorCode.CANCELLED, run_id=events.events[0].run_id)
    state = load_state(tmp_path / "data")
    assert state is not None and state.status is RunStatus.CANCELLED
    assert state.in_progress is None and state.executed == 1
    assert (work / "marks").read_text().splitlines() == ["quick"]

    result, ev = await run_api(None, resume=True)
    assert result.status == "succeeded"
    assert [(s.index, s.name) for s in ev.of(StepStarted)] == [(2, "Slow"), (3, "After")]
    assert (work / "marks").read_text().splitlines() == ["quick", "slow", "after"]


@pytest.mark.asyncio
async def test_a_cancelled_download_counts_the_bytes_it_really_received(run_api: Any, tmp_path: Path) -> None:
    """The history of a run cancelled mid-download says what it downloaded: the packages
    finished before it and the part of the one cut short (not only finished packages)."""
    from tests.core.helpers.content_server import ContentServer

    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files(), "IMAGE": {"image.bin": bytes(range(256)) * 4096}},  # 1 MiB
        task_sequences={"BIG": [run_tool("First"),
                                {"type": "download_package_content", "name": "Get Image", "packages": ["IMAGE"]}]},
        deployments=[deployment("DEPBIG", "BIG")],
    )
    halfway = asyncio.Event()

    class Sink(Events):
        def __call__(self, event: Event) -> None:
            super().__call__(event)
            if isinstance(event, DownloadProgressed) and event.package == "IMAGE" and event.bytes > 100_000:
                halfway.set()

    events = Sink()
    with ContentServer(site, rate_bps=400_000, chunk_size=8192) as server:
        task = asyncio.ensure_future(run_api(server.url, "DEPBIG", sink=events))
        await asyncio.wait_for(halfway.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        sent = server.bytes_sent()
    finished = sum(e.bytes_transferred for e in events.of(DownloadFinished))
    assert [e.package for e in events.of(DownloadFinished)] == ["TOOLS"]
    entry = load_history(tmp_path / "data")[-1]
    assert entry.status == "cancelled"
    assert entry.bytes_transferred > finished + 100_000  # the image's part counts
    assert entry.bytes_transferred <= sent  # never more than the server sent
    assert load_state(tmp_path / "data").bytes_transferred == entry.bytes_transferred


@pytest.mark.asyncio
async def test_preflight_fails_fast_before_any_step(run_api: Any, tmp_path: Path) -> None:
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files(), "HUGE": {"huge.bin": b"x"}},
        task_sequences={"BIG": [run_tool("First"), {"type": "download_package_content", "name": "Get Huge",
                                                    "packages": ["HUGE"]}]},
        deployments=[deployment("DEPBIG", "BIG")],
        declared={("HUGE", "huge.bin"): 1 << 50},
    )
    result, ev = await run_api(site, "DEPBIG")
    assert result.status == "failed" and result.error_code == 0x80070070
    assert "not enough free disk space" in (result.error or "")
    assert [type(e) for e in ev.events] == [RunStarted, RunFinished]
    assert load_state(tmp_path / "data") is None


@pytest.mark.asyncio
async def test_secret_values_never_reach_events(run_api: Any, tmp_path: Path) -> None:
    secret = "Hunter2-Sekr1t"
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={"SEC": [
            {"type": "set_variable", "name": "Set Password", "variable": "Password", "value": secret, "secret": True},
            run_tool("Uses Password", "--print", "pw=%Password%", "--print", "PROGRESS 50 using %Password%"),
            {"type": "run_command", "name": "Fails Naming It", "command": ["%Password%-program"],
             "continue_on_error": True},
        ]},
        deployments=[deployment("DEPSEC", "SEC")],
    )
    result, ev = await run_api(site, "DEPSEC")
    assert result.status == "succeeded"
    text = repr(ev.events)
    assert secret not in text
    assert any(isinstance(e, StepProgressed) and e.text == "using ********" for e in ev.events)
    failed = ev.of(StepFinished)[-1]
    assert failed.status == "failed" and "********-program" in (failed.error or "")


@pytest.mark.asyncio
async def test_second_run_is_refused_while_a_run_waits_for_resume(run_api: Any, tmp_path: Path) -> None:
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={"RST": [{"type": "restart", "name": "Restart Now", "timeout_s": 0}, run_tool("Then")]},
        deployments=[deployment("DEPR", "RST")],
    )
    result, _ = await run_api(site, "DEPR")
    assert result.status == "restart_pending"
    with pytest.raises(RunError, match="has not finished.*resume"):
        await run_api(site, "DEPR")
    result, _ = await run_api(None, resume=True)
    assert result.status == "succeeded"
    with pytest.raises(RunError, match="no task sequence run to resume"):
        center = SoftwareCenter(tmp_path / "data", site=str(site), connection="internet")
        try:
            await center.open()
            await TaskSequenceRunner(center, Events()).resume()
        finally:
            await center.aclose()


@pytest.mark.asyncio
async def test_resume_reports_a_run_that_finished_before_its_state_was_cleared(run_api: Any,
                                                                               tmp_path: Path) -> None:
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={"TSONE": [run_tool("Only")]},
        deployments=[deployment("DEPT", "TSONE")],
    )
    data = tmp_path / "data"
    saved: list[bytes] = []

    def keep(event: Event) -> None:  # the state as it is when the result is reported
        if isinstance(event, RunFinished):
            saved.append((state_dir(data) / "run.json").read_bytes())
            saved.append((state_dir(data) / "catalog.json").read_bytes())

    class Sink(Events):
        def __call__(self, event: Event) -> None:
            super().__call__(event)
            keep(event)

    result, _ = await run_api(site, "DEPT", sink=Sink())
    assert result.status == "succeeded"
    # A crash right after the result was saved: the state is still there.
    (state_dir(data) / "run.json").write_bytes(saved[0])
    (state_dir(data) / "catalog.json").write_bytes(saved[1])
    assert json.loads(saved[0])["status"] == "succeeded"
    result, ev = await run_api(None, resume=True)
    assert result.status == "succeeded"
    assert [type(e) for e in ev.events] == [RunStarted, RunFinished]
    assert not ev.of(StepStarted)
    assert load_state(data) is None
    # and a new run may start
    result, _ = await run_api(site, "DEPT")
    assert result.status == "succeeded"


def test_step_host_without_its_ticket_runs_nothing(tmp_path: Path) -> None:
    import subprocess

    from core.attempts import STEP_HOST

    attempt = tmp_path / "abc"
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').close()"
    proc = subprocess.run([PY, "-I", str(STEP_HOST), str(attempt), "--", PY, "-c", code], capture_output=True)
    assert proc.returncode == 125 and not marker.exists() and not (tmp_path / "abc.json").exists()
    (tmp_path / "abc.ticket").touch()
    proc = subprocess.run([PY, "-I", str(STEP_HOST), str(attempt), "--", PY, "-c", code + "; print('RESULT 3010')"],
                          capture_output=True)
    assert proc.returncode == 0 and marker.exists() and proc.stdout == b"RESULT 3010\n"
    record = json.loads((tmp_path / "abc.json").read_text())
    assert record["returncode"] == 0 and record["terminated"] is False and record["spawn_error"] is None
    assert int((tmp_path / "abc.lock").read_text()) > 1


@pytest.mark.asyncio
async def test_download_step_failures_and_readiness(run_api: Any, tmp_path: Path) -> None:
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files(), "GOOD": {"g.txt": b"good"}, "GONE": {"x.bin": b"missing on the server"},
                  "LATER": {"l.txt": b"later"}},
        task_sequences={"DLS": [
            {"type": "download_package_content", "name": "Keep Going", "packages": ["GONE", "GOOD"],
             "path_variable": "PKG", "continue_on_error": True},
            {"type": "download_package_content", "name": "Stop At First", "packages": ["GONE", "LATER"],
             "continue_download_on_error": False, "continue_on_error": True},
            {"type": "check_readiness", "name": "Impossible Readiness", "min_free_disk_mb": 1 << 40,
             "continue_on_error": True},
            {"type": "check_readiness", "name": "Readiness", "min_free_disk_mb": 1, "min_memory_mb": 1},
            run_tool("Uses Missing Content", package="GONE"),
        ]},
        deployments=[deployment("DEPDL", "DLS")],
    )
    (site / "content" / "GONE.1" / "x.bin").unlink()
    result, ev = await run_api(site, "DEPDL", variables={"SMSTSDownloadRetryCount": "0",
                                                         "SMSTSDownloadRetryDelay": "0"})
    steps = {f.name: f for f in ev.of(StepFinished)}
    keep = steps["Keep Going"]
    assert keep.status == "failed" and keep.exit_code == 0x80091007 and "GONE" in (keep.error or "")
    assert "LATER" not in [e.package for e in ev.of(DownloadStarted)]  # not fetched after the first failure
    assert [e.package for e in ev.of(DownloadFinished)] == ["GOOD"]
    assert [e.package for e in ev.of(DownloadFailed)] == ["GONE", "GONE", "GONE"]
    assert steps["Stop At First"].status == "failed"
    impossible = steps["Impossible Readiness"]
    assert impossible.status == "failed" and impossible.exit_code == 0x80070070
    assert "not enough free disk space" in (impossible.error or "")
    assert steps["Readiness"].status == "succeeded"
    # a program whose content cannot be fetched does not run; the sequence fails
    assert steps["Uses Missing Content"].status == "failed" and result.status == "failed"
    assert result.error_code == 0x80091007


@pytest.mark.asyncio
async def test_resume_continues_the_task_sequence_the_run_began_even_if_the_site_changed(
    run_api: Any, tmp_path: Path
) -> None:
    """The window resumes with the site's *current* catalog open; the run must still follow its own copy."""
    work = tmp_path / "work"
    work.mkdir()
    marks = str(work / "marks")
    steps = [
        {"type": "restart", "name": "Restart Now", "timeout_s": 0},
        run_tool("Original Step", "--marker", marks, "original"),
    ]
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={"RST": steps},
        deployments=[deployment("DEPR", "RST")],
    )
    result, _ = await run_api(site, "DEPR")
    assert result.status == "restart_pending"
    # The admin publishes a new version of the task sequence meanwhile.
    write_site(
        site,
        packages={"TOOLS": tool_files()},
        task_sequences={"RST": [steps[0], run_tool("Replacement Step", "--marker", marks, "replacement")]},
        deployments=[deployment("DEPR", "RST")],
    )
    center = SoftwareCenter(tmp_path / "data", site=str(site), connection="internet")
    try:
        await center.open()  # the current catalog, as the window has it
        assert any(s.name == "Replacement Step"
                   for s in center.catalog.task_sequences["RST"].steps)  # type: ignore[union-attr]
        events = Events()
        result = await TaskSequenceRunner(center, events).resume()
    finally:
        await center.aclose()
    assert result.status == "succeeded"
    assert [e.name for e in events.of(StepStarted)] == ["Original Step"]
    assert (work / "marks").read_text().splitlines() == ["original"]


@pytest.mark.asyncio
async def test_a_secret_that_is_part_of_a_status_word_masks_text_only(run_api: Any, tmp_path: Path) -> None:
    """A secret value "ed" appears in "succeeded": statuses, codes and the run's id are
    not text and are never masked; the program's words are."""
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={"SEC": [
            {"type": "set_variable", "name": "Set Short Secret", "variable": "Pin", "value": "ed", "secret": True},
            run_tool("Says It", "--print", "PROGRESS 50 needed"),
            {"type": "run_command", "name": "Fails", "command": ["no-such-program-ed"], "continue_on_error": True},
        ]},
        deployments=[deployment("DEPSEC", "SEC")],
    )
    result, ev = await run_api(site, "DEPSEC")
    assert result.status is RunOutcome.SUCCEEDED
    statuses = [f.status for f in ev.of(StepFinished)]
    assert statuses == [StepOutcome.SUCCEEDED, StepOutcome.SUCCEEDED, StepOutcome.FAILED]
    assert all(type(s) is StepOutcome for s in statuses)
    assert ev.of(StepFinished)[-1].reason is ErrorCode.PROGRAM_NOT_STARTED
    finished = ev.events[-1]
    assert isinstance(finished, RunFinished) and finished.status is RunOutcome.SUCCEEDED
    assert {e.run_id for e in ev.events} == {ev.events[0].run_id}
    texts = [e.text for e in ev.events if isinstance(e, StepProgressed)]
    assert texts and all("ed" not in t and "********" in t for t in texts)


@pytest.mark.asyncio
async def test_a_run_saved_with_a_shrunk_total_resumes_with_the_fixed_one(demo_site: Path, run_api: Any,
                                                                          tmp_path: Path) -> None:
    """Before the counter was fixed, the saved total shrank as steps were skipped (8 -> 7)."""
    result, _ = await run_api(demo_site, "NWT20001", variables=FAST)
    assert result.status is RunOutcome.RESTART_PENDING
    path = state_dir(tmp_path / "data") / "run.json"
    saved = json.loads(path.read_text())
    saved["total"] = 7
    path.write_text(json.dumps(saved))
    result, ev = await run_api(None, resume=True)
    assert result.status is RunOutcome.SUCCEEDED
    assert ev.events[0].total_steps == 8
    assert [(s.index, s.total) for s in ev.of(StepStarted)] == [(7, 8)]


@pytest.mark.asyncio
async def test_a_finished_run_whose_state_cannot_be_removed_is_reported_once(
    run_api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The result is saved and reported first; failing to remove the state afterwards (a
    folder turned read-only, which root cannot be shown here) must not report the run
    again as failed. Patched: the last resort, as no real fault removes only that right."""
    import core.engine

    site = write_site(tmp_path / "site", packages={"TOOLS": tool_files()},
                      task_sequences={"ONE": [run_tool("Only")]}, deployments=[deployment("DEPONE", "ONE")])

    def cannot(data_dir: Path) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(core.engine, "clear_state", cannot)
    result, ev = await run_api(site, "DEPONE")
    assert result.status is RunOutcome.SUCCEEDED
    assert [e.status for e in ev.of(RunFinished)] == [RunOutcome.SUCCEEDED]
