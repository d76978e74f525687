"""SIGKILL torture: `software-center run` on a small demo site, killed at a few dozen moments
(after chosen JSON events — every kind, over the whole run — and at random times mid-download
and mid-step), then `resume`d, killed again (sometimes right as the resume starts), until it
finishes. Whatever the moment: the run succeeds, every step's program completes exactly once
(each appends a marker line only when it completes), no step is reported succeeded twice,
verified packages are never fetched again, and every file is fetched once: a retry resumes
with Range where the kept part ends. The only bytes sent twice are those in flight at the
instant of a kill (~0-5 % of the content in total here; more on a busy machine, where the
client reads later, which is why the 5 % bound allows for it).

Two chains run side by side (each with its own data folder and server) and share out the
kill points. The random moments come from a seeded generator; the seed is in the test id.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.demo import build_demo_site
from tests.core.helpers.content_server import ContentServer
from tests.core.sites import deployment, run_tool, tool_files, write_site
from tests.core.sites.harness import CliResult, start, state_file

SCALE = 1 / 64  # install.wim 4 MiB, the driver cab 512 KiB
RATE = 2_000_000  # bytes/s: the image takes ~2 s, long enough to be killed in the middle
SEED = 20260529
PACKAGES = {"NWT00012": "NWT00012.3", "NWT00015": "NWT00015.2", "NWT00018": "NWT00018.1"}
MARKERS = ["prepare", "upgrade", "portal", "app", "finish"]

Event = dict[str, Any]


@dataclass
class Context:
    """What a chain knows while it reads one process's events."""

    step: str | None = None  # the step that started last


@dataclass
class Target:
    """Kill the process after the first event that matches, `delay` seconds later."""

    label: str
    match: Callable[[Event, Context], bool]
    delay: float = 0.0


def on(event: str, step: str | None = None, **fields: Any) -> Callable[[Event, Context], bool]:
    def match(e: Event, ctx: Context) -> bool:
        if e["event"] != event or (step is not None and ctx.step != step):
            return False
        for key, value in fields.items():
            if key == "min_percent":
                if e["percent"] < value:
                    return False
            elif key == "min_bytes":
                if e["bytes"] < value:
                    return False
            elif e.get(key) != value:
                return False
        return True

    return match


def targets(rng: random.Random) -> list[Target]:
    """Kill points in the order they occur in an uninterrupted run."""
    wim = int(256 * 1024 * 1024 * SCALE)
    up = "Upgrade Operating System"
    portal = "Install Company Portal"
    return [
        Target("ts_started", on("ts_started", resumed=False)),
        Target("check finished", on("step_finished", name="Check Readiness")),
        Target("skip", on("step_skipped", name="Set Setup Duration")),
        Target("prepare started", on("step_started", name="Prepare")),
        Target("tools download", on("download_started", package="TOOLS")),
        Target("prepare progress", on("step_progress", step="Prepare", min_percent=30)),
        Target("prepare finished", on("step_finished", name="Prepare")),
        Target("drivers started", on("step_started", name="Download Drivers")),
        Target("cab mid-download", on("download_started", package="NWT00015"), rng.uniform(0.02, 0.15)),
        Target("drivers finished", on("step_finished", name="Download Drivers")),
        Target("upgrade started", on("step_started", name=up)),
        Target("image at random", on("download_started", package="NWT00012"), rng.uniform(0.3, 1.0)),
        Target("image 60 %", on("download_progress", package="NWT00012", min_bytes=int(wim * 0.6))),
        Target("image verified", on("download_finished", package="NWT00012")),
        Target("setup 5 %", on("step_progress", step=up, min_percent=5)),
        Target("setup at random", on("step_progress", step=up, min_percent=30), rng.uniform(0.0, 0.4)),
        Target("setup 99 %", on("step_progress", step=up, min_percent=99)),
        Target("upgrade finished", on("step_finished", name=up)),
        Target("restart pending", on("restart_pending")),
        Target("portal started", on("step_started", name=portal)),
        Target("portal content", on("download_finished", package="NWT00018")),
        Target("portal 50 %", on("step_progress", step=portal, min_percent=50), rng.uniform(0.0, 0.2)),
        Target("portal finished", on("step_finished", name=portal)),
        Target("3010 finished", on("step_finished", name="App Needs Restart")),
        Target("finish progress", on("step_progress", step="Finish"), rng.uniform(0.0, 0.2)),
        Target("finish finished", on("step_finished", name="Finish")),
    ]


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_site(tmp_path_factory.mktemp("demo") / "site", scale=SCALE)


def torture_site(root: Path, demo: Path, work: Path) -> tuple[Path, dict[str, dict[str, bytes]]]:
    """The demo's packages and programs in a task sequence whose every program leaves a marker."""
    packages: dict[str, dict[str, bytes]] = {"TOOLS": tool_files()}
    for pid, folder in PACKAGES.items():
        base = demo / "content" / folder
        packages[pid] = {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*"))
                         if p.is_file()}
    marks = str(work / "marks")
    wrap = ["%PYTHON%", "%TOOLSDIR01%/tool.py", "--marker", marks]
    steps: list[dict[str, Any]] = [
        {"type": "group", "name": "Prepare for Upgrade", "steps": [
            {"type": "check_readiness", "name": "Check Readiness", "min_free_disk_mb": 16, "min_memory_mb": 16},
            {"type": "set_variable", "name": "Set Setup Duration", "variable": "DemoSetupSeconds", "value": "60",
             "condition": {"variable": "DemoSetupSeconds", "op": "not_exists"}},
            run_tool("Prepare", "--sleep", "0.3", "--progress", "--marker", marks, "prepare"),
        ]},
        {"type": "download_package_content", "name": "Download Drivers", "packages": ["NWT00015"],
         "path_variable": "DRIVERS"},
        {"type": "download_package_content", "name": "Locate Tools", "packages": ["TOOLS"],
         "path_variable": "TOOLSDIR"},
        {"type": "upgrade_os", "name": "Upgrade Operating System", "package": "NWT00012",
         "command": [*wrap, "upgrade", "--run", "%PYTHON%", "setup.py", "/Auto", "Upgrade", "/Quiet", "/NoReboot",
                     "/InstallDrivers", "%DRIVERS01%", "/duration", "%DemoSetupSeconds%"]},
        {"type": "restart", "name": "Restart Computer", "timeout_s": 0},
        {"type": "group", "name": "Post-Processing", "steps": [
            {"type": "install_package", "name": "Install Company Portal", "package": "NWT00018",
             "command": [*wrap, "portal", "--run", "%PYTHON%", "install.py", "/duration", "0.4"]},
            run_tool("App Needs Restart", "--restart-once", str(work / "app-restarted"), "--marker", marks, "app"),
            run_tool("Finish", "--sleep", "0.2", "--progress", "--marker", marks, "finish"),
        ]},
    ]
    write_site(root, packages=packages, task_sequences={"TORTURE": steps},
               deployments=[deployment("DEPTORTURE", "TORTURE")])
    return root, packages


@dataclass
class Chain:
    name: str
    data: Path
    work: Path
    server: ContentServer
    targets: list[Target]
    rng: random.Random
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)  # the site's packages
    results: list[CliResult] = field(default_factory=list)
    kills: list[str] = field(default_factory=list)
    verified_at: dict[str, int] = field(default_factory=dict)  # package -> requests seen when it was verified
    parts: list[int] = field(default_factory=list)  # sizes of install.wim.part left by kills

    def story(self) -> str:
        """What happened, process by process (for a failure message)."""
        lines = [self.name]
        for result, why in zip(self.results, [*self.kills, "", "", ""], strict=False):
            events = [
                e["event"] + (f":{e.get('name') or e.get('package') or ''}" if e["event"] != "step_progress" else "")
                for e in result.events
                if e["event"] not in ("download_progress",)
            ]
            compact = [x for i, x in enumerate(events) if i == 0 or x != events[i - 1]]
            lines.append(f"{result.args[0]} rc={result.rc} killed={why!r}: {' '.join(compact)}")
        marks = self.work / "marks"
        lines.append("marks: " + (marks.read_text().replace(chr(10), " ") if marks.exists() else ""))
        return "\n".join(lines)

    def args(self) -> list[str]:
        if state_file(self.data).exists():
            return ["resume", "--data-dir", str(self.data), "--json", "--standalone"]
        # --standalone: the killed process is the one running the engine (see the module's doc)
        return ["run", "DEPTORTURE", "--site", self.server.url, "--data-dir", str(self.data), "--connection",
                "internet", "--json", "--yes", "--standalone", "--variable", "DemoSetupSeconds=0.8",
                "--variable", "SMSTSDownloadRetryDelay=0"]

    async def run(self) -> None:
        pending = list(self.targets)
        surprise = False  # kill the next process at a random moment right after it starts
        for _ in range(100):
            proc = await start(*self.args())
            ctx = Context()
            killed: str | None = None
            first = True
            while killed is None:
                event = await proc.next_event()
                if event is None:
                    break
                if event["event"] == "step_started":
                    ctx.step = event["name"]
                if event["event"] == "download_finished":
                    self.verified_at.setdefault(event["package"], len(self.server.requests))
                if surprise and first:
                    await asyncio.sleep(self.rng.uniform(0.0, 0.3))
                    killed = "surprise after start"
                    break
                first = False
                hit = next((i for i, t in enumerate(pending) if t.match(event, ctx)), None)
                if hit is not None:
                    target = pending[hit]
                    del pending[: hit + 1]  # the ones before it are behind us now
                    if target.delay:
                        await asyncio.sleep(target.delay)
                    killed = target.label
            if killed is not None:
                proc.kill()
            result = await proc.finish()
            self.results.append(result)
            if result.finished is not None and result.finished["status"] == "succeeded":
                return  # (a kill that came after the end changes nothing)
            if killed is not None and result.rc == -9:
                self.kills.append(killed)
                part = self.data / "cache" / PACKAGES["NWT00012"] / "sources" / "install.wim.part"
                if part.exists() and part.stat().st_size:
                    self.parts.append(part.stat().st_size)
                surprise = self.rng.random() < 0.15
                continue
            surprise = False
            assert result.rc == 5, (self.name, result.args, result.rc, result.stderr)
        raise AssertionError(f"{self.name}: did not finish")


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.parametrize("seed", [SEED])
async def test_sigkill_at_any_moment_then_resume(demo_site: Path, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    all_targets = targets(rng)
    chains: list[Chain] = []
    servers = []
    content_size = 0
    try:
        for n in range(2):
            work = tmp_path / f"work{n}"
            work.mkdir()
            site, files = torture_site(tmp_path / f"site{n}", demo_site, work)
            content_size = sum(len(data) for package in files.values() for data in package.values())
            server = ContentServer(site, rate_bps=RATE, chunk_size=16384).start()
            servers.append(server)
            chains.append(Chain(f"chain{n}", tmp_path / f"data{n}", work, server, all_targets[n::2],
                                random.Random(seed + n), files))
        await asyncio.gather(*(chain.run() for chain in chains))
    finally:
        for server in servers:
            server.stop()

    total_kills = sum(len(c.kills) for c in chains)
    print({c.name: c.kills for c in chains})
    assert total_kills >= 20, [c.kills for c in chains]
    for chain in chains:
        # every program completed exactly once, in order
        assert (chain.work / "marks").read_text().splitlines() == MARKERS, chain.story()
        # no step was ever reported succeeded twice (a report may be lost: the state is saved
        # before the event is written, so a kill in between never repeats a step)
        succeeded = Counter(e["name"] for r in chain.results for e in r.of("step_finished")
                            if e["status"] == "succeeded")
        assert max(succeeded.values()) == 1, succeeded
        assert not any(e["status"] == "failed" for r in chain.results for e in r.of("step_finished"))
        # a step keeps its number across kills and resumes, and the total never changes: the
        # last step is "10 of 10" whatever was skipped or interrupted on the way
        numbers = {(e["name"], e["index"]) for r in chain.results for e in r.of("step_started")}
        assert len({name for name, _ in numbers}) == len(numbers), numbers
        assert {e["total"] for r in chain.results for e in r.of("step_started")} == {10}
        last = [e for r in chain.results for e in r.of("step_started")][-1]
        assert last["name"] == "Finish" and last["index"] == last["total"] == 10
        assert not state_file(chain.data).exists()
        # verified packages are kept: nothing of a package is requested after it was verified
        for pid, seen in chain.verified_at.items():
            folder = f"content/{pid}.1/"
            later = [r for r in chain.server.requests[seen:] if r.path.startswith(folder)]
            assert later == [], (pid, later)
        # partial files are resumed where they stopped
        ranges = {r.range for r in chain.server.requests_for("content/NWT00012.1/sources/install.wim")}
        for size in chain.parts:
            assert f"bytes={size}-" in ranges, (size, ranges)
        # Every file is fetched once: a later request for it resumes (Range) where the kept part
        # ends, never before where the previous request started. What a kill costs is only what
        # was in flight at that instant (sent by the server, not yet on disk).
        in_flight = 0
        wasteful = 0
        sizes = {f"content/{pid}.1/{path}": len(data) for pid, files in chain.files.items()
                 for path, data in files.items()}
        for path, size in sizes.items():
            requests = chain.server.requests_for(path)
            assert requests, path
            starts = [int(r.range[len("bytes="):-1]) if r.range else 0 for r in requests]
            for (begin, request), following in zip(zip(starts, requests, strict=True), starts[1:], strict=False):
                assert begin <= following <= begin + request.sent, (path, starts)
                in_flight += begin + request.sent - following
                wasteful += begin + request.sent > following
            assert starts[-1] + requests[-1].sent == size, (path, starts, [r.sent for r in requests])
        assert wasteful <= len(chain.kills)
        sent = sum(r.sent for r in chain.server.requests if r.path.startswith("content/"))
        assert sent == content_size + in_flight
        print(f"{chain.name}: {len(chain.kills)} kills, {sent / content_size:.3f} x the content sent "
              f"({in_flight} bytes in flight at kills)")
        # ~1.05 in a quiet run; in-flight bytes grow with how late the client reads on a busy machine
        assert sent <= 1.05 * content_size + wasteful * RATE * 0.25, (chain.name, sent, content_size)
