"""`software-center run` and `resume` as a user runs them: a real subprocess, docs/CLI.md's JSON
events and exit codes, the human terminal view, the CMTrace log, refusals, the pre-flight,
secrets, locks and damaged state. Every run is checked for a traceback (harness.cli).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from core.demo import build_demo_site
from tests.core.sites import CMTRACE_LINE, deployment, run_tool, tool_files, write_site
from tests.core.sites.harness import EVENT_KEYS, CliResult, cli, cli_tty, plain, start, state_file

SMALL = 1 / 256
FAST = ["--variable", "DemoSetupSeconds=0.3"]


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_site(tmp_path_factory.mktemp("demo") / "site", scale=SMALL)


def run_args(site: Path | str, data: Path, deployment_id: str, *extra: str, json_out: bool = True) -> list[str]:
    args = ["run", deployment_id, "--site", str(site), "--data-dir", str(data), "--connection", "internet", "--yes"]
    return [*args, *(["--json"] if json_out else []), *extra]


def resume_args(data: Path, json_out: bool = True, standalone: bool = False) -> list[str]:
    return ["resume", "--data-dir", str(data), *(["--json"] if json_out else []),
            *(["--standalone"] if standalone else [])]


def assert_cli_md_events(result: CliResult) -> None:
    """Every event carries the keys docs/CLI.md requires, with the right kinds of values."""
    assert result.events, result.stderr
    for event in result.events:
        name = event["event"]
        assert name in EVENT_KEYS or name == "download_retrying", name
        missing = EVENT_KEYS.get(name, set()) - event.keys()
        assert not missing, (name, missing)
        if name in ("step_started", "step_finished", "step_progress"):
            assert isinstance(event["index"], int) and event["index"] >= 1
        if name.startswith("step_"):
            assert isinstance(event["ip"], int) and event["ip"] >= 0
        if name == "step_started":
            assert 1 <= event["index"] <= event["total"]
        if name == "step_skipped":
            assert event["why"] in ("condition", "disabled")
        if name == "step_finished":
            assert event["status"] in ("succeeded", "failed")
        if name == "download_started":
            assert "?" not in event["location"] and event["location"].startswith("http")
        if name == "download_finished":
            assert event["verified"] is True and isinstance(event["bytes_transferred"], int)
        if name == "ts_finished":
            assert event["status"] in ("succeeded", "failed", "cancelled", "restart_pending")
    assert result.events[-1]["event"] in ("ts_finished", "refused")
    if result.events[0]["event"] == "ts_started":  # every event of a run names it
        assert len({e["run_id"] for e in result.events}) == 1 and isinstance(result.events[0]["run_id"], str)


def without_run_id(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "run_id"}


def log_lines(data: Path) -> list[str]:
    raw = (data / "logs" / "smsts.log").read_bytes()
    assert raw.startswith("\ufeff".encode())
    text = raw[3:].decode("utf-8")
    assert text.endswith("\r\n")
    return text[:-2].split("\r\n")


# --- the happy path, its JSON events and its log ------------------------------------------


@pytest.mark.asyncio
async def test_run_and_resume_json_events_and_cmtrace_log(demo_site: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = await cli(*run_args(demo_site, data, "NWT20001", *FAST))
    assert first.rc == 5, first.stderr
    assert_cli_md_events(first)
    names = first.names()
    assert names[0] == "ts_started" and names[-2:] == ["restart_pending", "ts_finished"]
    assert first.events[0]["total_steps"] == 8 and first.events[0]["connection"] == "internet"
    assert without_run_id(first.finished) == {"event": "ts_finished", "status": "restart_pending", "error": None,
                                              "error_code": None, "reason": None}
    # on demand: a package's download events lie inside the step that needs it
    for package, step in (("NWT00015", "Download Drivers"), ("NWT00012", "Upgrade Operating System")):
        begin = next(i for i, e in enumerate(first.events) if e["event"] == "step_started" and e["name"] == step)
        end = next(i for i, e in enumerate(first.events) if e["event"] == "step_finished" and e["name"] == step)
        inside = [
            i for i, e in enumerate(first.events) if e["event"].startswith("download") and e["package"] == package
        ]
        assert inside and all(begin < i < end for i in inside)
    started = first.of("step_started")
    assert [e["index"] for e in started] == [1, 3, 4, 5, 6]  # step 2 was skipped by its condition
    assert [e["type"] for e in started] == ["check_readiness", "set_variable", "download_package_content",
                                            "upgrade_os", "restart"]
    assert {e["index"] for e in first.of("step_progress")} == {5}

    second = await cli(*resume_args(data))
    assert second.rc == 0, second.stderr
    assert_cli_md_events(second)
    assert second.events[0]["resumed"] is True
    assert [e["index"] for e in second.of("step_started")] == [7]  # "7 of 8", as before the restart
    assert second.of("step_skipped")[-1]["total"] == 8
    assert second.events[0]["run_id"] == first.events[0]["run_id"]
    assert without_run_id(second.finished) == {"event": "ts_finished", "status": "succeeded", "error": None,
                                               "error_code": None, "reason": None}
    assert not state_file(data).exists()

    # smsts.log reads like a ConfigMgr log
    lines = log_lines(data)
    entries = [CMTRACE_LINE.fullmatch(line) for line in lines]
    assert all(entries), [line for line, m in zip(lines, entries, strict=True) if not m][:3]
    messages = [m["message"] for m in entries if m]
    text = "\n".join(messages)
    for expected in (
        "Starting the task sequence 'Upgrade to Windows 11 Enterprise 24H2' (NWT00020) of deployment NWT20001",
        "Entering the group (Prepare for Upgrade). Instruction pointer: 0",
        # the phrases admins search ConfigMgr's smsts.log for
        "Start executing an instruction. Instruction name: Check Readiness. Instruction pointer: 1",
        "Leaving the group (Prepare for Upgrade)",
        "The action (Set Setup Duration) has been skipped because the condition is evaluated to be false",
        "The action (Run Compatibility Scan) has been skipped because it is disabled",
        "Downloading NWT00015.2",
        "Verified sources/install.wim",
        "SHA-256",
        "Process completed with exit code 0",
        "Successfully completed the action (Upgrade Operating System) with the exit win32 code 0",
        "The action (Restart Computer) initiated a reboot request",
        "Resuming the task sequence",
        "Entering the group (Post-Processing)",
        "Task sequence completed 0x00000000",
    ):
        assert expected in text, expected
    downloads = [m for m in entries if m and m["message"].startswith("Downloading NWT00012.3")]
    assert downloads and downloads[0]["component"] == "DownloadContent"
    assert "from http://127.0.0.1:" in downloads[0]["message"]
    assert all(m["type"] == "1" for m in entries if m)  # nothing went wrong


# --- failures and refusals ---------------------------------------------------------------


def expired_site(root: Path) -> Path:
    return write_site(
        root,
        packages={"TOOLS": tool_files()},
        task_sequences={"TSX": [run_tool("Only")]},
        deployments=[deployment("DEPOLD", "TSX", expires="2020-01-01T00:00:00Z"),
                     deployment("DEPHIGH", "TSX", high_impact=True)],
    )


@pytest.mark.asyncio
async def test_every_refusal_exits_3_and_leaves_nothing(demo_site: Path, tmp_path: Path) -> None:
    old_site = expired_site(tmp_path / "old-site")
    cases: list[tuple[str, list[str]]] = [
        ("intranet_only", run_args(demo_site, tmp_path / "d1", "NWT20002")),
        ("direct_access_on_internet", run_args(demo_site, tmp_path / "d2", "NWT20003")),
        ("content_not_on_internet", run_args(demo_site, tmp_path / "d3", "NWT20004")),
        ("unsupported_launch_mode", run_args(demo_site, tmp_path / "d4", "NWT20001", "--launch-mode", "media")),
        ("unsupported_launch_mode", run_args(demo_site, tmp_path / "d5", "NWT20001", "--launch-mode", "pxe")),
        ("not_yet_available", run_args(demo_site, tmp_path / "d6", "NWT20009")),
        ("expired", run_args(old_site, tmp_path / "d7", "DEPOLD")),
        ("media_pxe_only", run_args(demo_site, tmp_path / "d8", "NWT20007")),
        ("unknown_deployment", run_args(demo_site, tmp_path / "d9", "NWT29999")),
    ]
    results = await asyncio.gather(*(cli(*args) for _, args in cases))
    for (reason, args), result in zip(cases, results, strict=True):
        assert result.rc == 3, (reason, result.stderr)
        assert result.names() == ["refused"], reason
        event = result.events[0]
        assert event["reason"] == reason and event["deployment"] == args[1] and len(event["message"]) > 20
        data = Path(args[args.index("--data-dir") + 1])
        assert not state_file(data).exists(), reason
        assert not (data / "state" / "history.json").exists(), reason
        assert not (data / "cache").exists() or not any((data / "cache").iterdir()), reason


@pytest.mark.asyncio
async def test_failures_preflight_and_confirmation(demo_site: Path, tmp_path: Path) -> None:
    """Compatibility block (exit 4, code in words), pre-flight failures before any step, and a
    high-impact deployment without --yes and without a terminal (exit 2)."""
    cloud_only = write_site(
        tmp_path / "cloud-site",
        packages={"TOOLS": tool_files(), "BIG": {"big.bin": b"b" * 1000}, "GONE": {"gone.bin": b"g" * 10}},
        task_sequences={"TSC": [run_tool("First"), {"type": "download_package_content", "name": "Get",
                                                    "packages": ["BIG"]}],
                        "TSG": [{"type": "download_package_content", "name": "Get Gone", "packages": ["GONE"]}]},
        deployments=[deployment("DEPC", "TSC"), deployment("DEPG", "TSG")],
        declared={("BIG", "big.bin"): 1 << 50},
    )
    (cloud_only / "content" / "GONE.1" / "gone.bin").unlink()  # 404 on the only location
    no_cloud = tmp_path / "no-cloud"
    no_cloud.mkdir()
    (no_cloud / "options.json").write_text(json.dumps({"allow_cloud_content": False}))
    intranet = ["run", "DEPC", "--site", str(cloud_only), "--data-dir", str(no_cloud), "--connection", "intranet",
                "--json", "--yes"]
    runs = await asyncio.gather(
        cli(*run_args(demo_site, tmp_path / "blocked", "NWT20008", *FAST)),
        cli(*intranet),
        cli(*run_args(cloud_only, tmp_path / "full", "DEPC")),
        cli("run", "DEPHIGH", "--site", str(expired_site(tmp_path / "hi-site")), "--data-dir",
            str(tmp_path / "hi"), "--connection", "internet", "--json"),
        cli(*run_args(cloud_only, tmp_path / "gone", "DEPG", "--variable", "SMSTSDownloadRetryCount=0")),
    )
    blocked, no_location, no_room, unconfirmed, gone = runs

    assert blocked.rc == 4
    assert_cli_md_events(blocked)
    assert blocked.finished is not None
    assert blocked.finished["status"] == "failed" and blocked.finished["error_code"] == 3247440392
    assert "incompatible app or driver" in blocked.finished["error"]
    # Setup's output names the app that blocks it: the failure names it too (see core.blocking_app).
    assert blocked.finished["error"].endswith("is blocking the upgrade: Northwind Legacy VPN 3.1")
    failed_step = blocked.of("step_finished")[-1]
    assert failed_step["name"] == "Upgrade Operating System" and failed_step["exit_code"] == 3247440392

    for result, words in ((no_location, "no content location usable on the intranet"),
                          (no_room, "not enough free disk space")):
        assert result.rc == 4, result.stderr
        assert result.names() == ["ts_started", "ts_finished"]
        assert result.finished is not None and result.finished["status"] == "failed"
        assert words in result.finished["error"]
    assert not state_file(no_cloud).exists()

    assert gone.rc == 4
    assert_cli_md_events(gone)
    assert gone.names() == ["ts_started", "step_started", "download_started", "download_failed", "step_finished",
                            "ts_finished"]
    assert gone.of("download_failed")[0]["package"] == "GONE" and "404" in gone.of("download_failed")[0]["error"]
    assert gone.finished is not None and gone.finished["error_code"] == 0x80091007

    assert unconfirmed.rc == 2 and unconfirmed.events == []
    assert "--yes" in unconfirmed.stderr and "high-impact" in unconfirmed.stderr
    assert not state_file(tmp_path / "hi").exists()


# --- the human view ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_human_terminal_output_and_exit_codes(demo_site: Path, tmp_path: Path) -> None:
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={"HUM": [
            {"type": "group", "name": "Prepare", "steps": [
                run_tool("Say Hello", "--print", "hello", "--sleep", "0.2", "--progress"),
                run_tool("Disabled One", enabled=False),
            ]},
            {"type": "restart", "name": "Restart Now", "timeout_s": 0},
            run_tool("Fails Softly", "--exit", "3", continue_on_error=True),
        ]},
        deployments=[deployment("DEPHUM", "HUM")],
    )
    data = tmp_path / "data"
    run, blocked, refused = await asyncio.gather(
        cli(*run_args(site, data, "DEPHUM", json_out=False)),
        cli(*run_args(demo_site, tmp_path / "blocked", "NWT20008", *FAST, json_out=False)),
        cli(*run_args(demo_site, tmp_path / "refused", "NWT20002", json_out=False)),
    )
    assert run.rc == 5
    out = run.stdout
    for expected in ("Running: Deployment DEPHUM", "Step 1 of 3: Say Hello", "✓ Say Hello (exit code 0)",
                     "skipped Disabled One (disabled)", "Step 2 of 3: Restart Now",
                     "Restart pending after 'Restart Now'. Run `software-center resume` to continue."):
        assert expected in out, (expected, out)
    assert "{" not in out  # no JSON in the human view
    resumed = await cli(*resume_args(data, json_out=False))
    assert resumed.rc == 0
    assert "Resuming: Deployment DEPHUM" in resumed.stdout and "Step 3 of 3: Fails Softly" in resumed.stdout
    assert "✗ Fails Softly (exit code 3) — the program exited with code 3" in resumed.stdout
    assert resumed.stdout.rstrip().endswith("The task sequence completed successfully.")

    assert blocked.rc == 4
    assert blocked.stdout.rstrip().splitlines()[-1].startswith("The task sequence failed (0xC1900208): An incompatible")
    assert refused.rc == 3
    assert refused.stdout.startswith("Refused (intranet_only): ")


# --- secrets -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_secret_never_appears_outside_the_saved_state(tmp_path: Path) -> None:
    secret = "Sw0rdfish-4242"
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={"SEC": [
            {"type": "set_variable", "name": "Set Key", "variable": "ProductKey", "value": secret, "secret": True},
            {"type": "set_variable", "name": "Copy Key", "variable": "KeyCopy", "value": "copy:%ProductKey%"},
            run_tool("Print Key", "--print", "the key is %ProductKey%", "--print", "PROGRESS 40 using %ProductKey%",
                     "--sleep", "0.1", output_variable="Printed"),
            {"type": "run_command", "name": "Bad Program", "command": ["%ProductKey%.exe"],
             "continue_on_error": True},
            {"type": "restart", "name": "Restart", "timeout_s": 0},
            run_tool("After", "--print", "%KeyCopy%"),
        ]},
        deployments=[deployment("DEPSEC", "SEC")],
    )
    json_data, human_data = tmp_path / "json", tmp_path / "human"
    # In this process (--standalone): the run must stay at its restart, where the engine
    # saved the state this test reads (an agent would go on after a simulated restart).
    as_json, (tty_rc, on_terminal) = await asyncio.gather(
        cli(*run_args(site, json_data, "DEPSEC", "--standalone")),
        cli_tty(*run_args(site, human_data, "DEPSEC", "--standalone", json_out=False)),
    )
    assert as_json.rc == tty_rc == 5
    # the live terminal view (progress bars with the program's own texts) shows the mask
    assert "Step 3 of 6: Print Key" in plain(on_terminal) and "Restart pending" in plain(on_terminal)
    assert secret not in on_terminal
    as_human = CliResult(("run",), tty_rc, on_terminal, "")
    assert any(e["text"] == "using ********" for e in as_json.of("step_progress"))
    assert "********.exe" in as_json.of("step_finished")[3]["error"]
    for data, result in ((json_data, as_json), (human_data, as_human)):
        assert secret not in result.stdout and secret not in result.stderr
        assert secret not in (data / "logs" / "smsts.log").read_text("utf-8")
        assert secret not in (data / "state" / "history.json").read_text()
        run_json = state_file(data)
        # the state keeps the value (resume needs it), readable by its owner only
        assert secret in run_json.read_text()
        assert stat.S_IMODE(run_json.stat().st_mode) == 0o600
        for path in (data / "state").rglob("*"):
            # catalog.json is the site's own document, which holds the set_variable step
            if path.is_file() and path.name not in ("run.json", "catalog.json"):
                assert secret.encode() not in path.read_bytes(), path
    assert "Set variable ProductKey = ********" in (json_data / "logs" / "smsts.log").read_text("utf-8")

    resumed = await cli(*resume_args(json_data, standalone=True))
    assert resumed.rc == 0 and secret not in resumed.stdout + resumed.stderr
    assert secret not in (json_data / "logs" / "smsts.log").read_text("utf-8")


# --- locks, state, data folder -----------------------------------------------------------------


def slow_site(root: Path, work: Path) -> Path:
    return write_site(
        root,
        packages={"TOOLS": tool_files()},
        task_sequences={"SLOW": [run_tool("Slow", "--slow-first", str(work / "flag"), "20")],
                        "RST": [{"type": "restart", "name": "Restart", "timeout_s": 0}, run_tool("After")]},
        deployments=[deployment("DEPSLOW", "SLOW"), deployment("DEPRST", "RST")],
    )


@pytest.mark.asyncio
async def test_one_run_per_data_folder_and_damaged_state(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    site = slow_site(tmp_path / "site", work)
    data = tmp_path / "data"
    # The engine's own rules, in this process (--standalone); through the agent a second
    # run is refused as "under way" (tests/core/test_agent.py).
    standalone = "--standalone"
    running = await start(*run_args(site, data, "DEPSLOW", standalone))
    assert await running.until(lambda e: e["event"] == "step_progress") is not None
    second, resume_meanwhile = await asyncio.gather(
        cli(*run_args(site, data, "DEPSLOW", standalone)), cli(*resume_args(data, standalone=True)))
    for result in (second, resume_meanwhile):
        assert result.rc == 2 and result.events == []
        assert "another Software Center process is running a task sequence" in result.stderr
    running.kill(2)  # Ctrl-C: cancelled, resumable
    first = await running.finish()
    assert first.rc == 130 and first.finished is not None and first.finished["status"] == "cancelled"

    waiting, nothing = await asyncio.gather(cli(*run_args(site, data, "DEPRST", standalone)),
                                            cli(*resume_args(tmp_path / "empty", standalone=True)))
    assert waiting.rc == 2 and "has not finished; continue it with `software-center resume`" in waiting.stderr
    assert nothing.rc == 2 and "there is no task sequence run to resume" in nothing.stderr
    done = await cli(*resume_args(data, standalone=True))
    assert done.rc == 0 and [e["name"] for e in done.of("step_started")] == ["Slow"]

    pending = await cli(*run_args(site, data, "DEPRST", standalone))
    assert pending.rc == 5
    good = state_file(data).read_text()
    damaged = [b"\x00\xff garbage", b"[1, 2]", good.replace('"ip": 1', '"ip": "one"').encode(),
               good.replace('"ip": 1', '"ip": 99').encode()]
    copies = []
    for n, content in enumerate(damaged):
        copy = tmp_path / f"damaged{n}"
        shutil.copytree(data, copy)
        state_file(copy).write_bytes(content)
        copies.append(copy)
    results = await asyncio.gather(
        *(cli(*resume_args(copy, standalone=True)) for copy in copies),
        cli(*run_args(site, copies[0], "DEPRST", standalone)),  # a damaged state blocks a new run too, in words
        cli(*resume_args(data, standalone=True)),  # the good one resumes
    )
    for copy, resumed in zip(copies, results[: len(copies)], strict=True):
        assert resumed.rc == 2, (copy, resumed.stderr)
        assert resumed.stderr.startswith("software-center: the saved run state ")
        assert str(state_file(copy)) in resumed.stderr and "delete it to discard that run" in resumed.stderr
    again, finished = results[-2:]
    assert again.rc == 2 and again.events == [] and "delete it to discard that run" in again.stderr
    assert finished.rc == 0


def _can_unshare() -> bool:
    if not shutil.which("unshare") or not os.path.exists("/proc/self/ns/mnt"):
        return False
    import subprocess

    probe = subprocess.run(["unshare", "-Urm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.asyncio
async def test_data_folder_that_cannot_be_written(tmp_path: Path) -> None:
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={"TSW": [run_tool("Only")]},
        deployments=[deployment("DEPW", "TSW")],
    )
    # A file where the data folder, or its state folder, must be.
    file_data = tmp_path / "file-data"
    file_data.write_text("not a folder")
    state_is_file = tmp_path / "state-is-file"
    state_is_file.mkdir()
    (state_is_file / "state").write_text("not a folder")
    cases = [file_data, state_is_file]
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    if os.geteuid() != 0:
        readonly.chmod(0o500)
        cases.append(readonly)
    results = await asyncio.gather(*(cli(*run_args(site, d, "DEPW")) for d in cases))
    for data, result in zip(cases, results, strict=True):
        assert result.rc == 2, (data, result.stderr)
        last = result.stderr.strip().splitlines()[-1]
        assert result.events == [] and last.startswith("software-center: cannot ") and str(data) in last
    readonly.chmod(0o700)


@pytest.mark.asyncio
@pytest.mark.skipif(not _can_unshare(), reason="needs unprivileged user and mount namespaces (unshare -Urm)")
async def test_read_only_and_full_data_folder_in_a_mount_namespace(tmp_path: Path) -> None:
    """As root, permissions do not stop writes: a read-only bind mount and a tiny tmpfs do."""
    from tests.core.sites.harness import command

    work = tmp_path / "work"
    work.mkdir()
    filler = (
        "import os, sys\n"
        f"flag = {str(work / 'filled')!r}\n"
        "if not os.path.exists(flag):\n"
        "    open(flag, 'w').close()\n"
        "    with open(os.path.join(sys.argv[1], 'filler'), 'wb') as f:\n"
        "        try:\n"
        "            while True: f.write(b'x' * 65536); f.flush()\n"
        "        except OSError: pass\n"
    )
    site = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={
            "TSF": [
                {
                    "type": "run_command",
                    "name": "Fill The Disk",
                    "command": ["%PYTHON%", "-c", filler, "%_SMSTSMDataPath%"],
                },
                run_tool("Then", "--marker", str(work / "marks"), "then"),
            ]
        },
        deployments=[deployment("DEPF", "TSF")],
    )
    ro, full, out = tmp_path / "ro", tmp_path / "full", tmp_path / "out"
    ro.mkdir()
    full.mkdir()
    out.mkdir()

    def sc(*args: str) -> str:
        return " ".join(f"'{a}'" for a in command(*args))

    script = f"""
set -u
mount --bind {ro} {ro} && mount -o remount,bind,ro {ro} || exit 97
mount -t tmpfs -o size=1m tmpfs {full} || exit 98
{sc(*run_args(site, ro, "DEPF"))} > {out}/ro.out 2> {out}/ro.err; echo $? > {out}/ro.rc
{sc(*run_args(site, full, "DEPF"))} > {out}/full.out 2> {out}/full.err; echo $? > {out}/full.rc
rm -f {full}/filler
{sc(*resume_args(full))} > {out}/resume.out 2> {out}/resume.err; echo $? > {out}/resume.rc
"""
    proc = await asyncio.create_subprocess_exec("unshare", "-Urm", "sh", "-c", script)
    assert await asyncio.wait_for(proc.wait(), 90) == 0

    def result(name: str) -> tuple[int, str, list[dict[str, Any]]]:
        err = (out / f"{name}.err").read_text()
        stdout = (out / f"{name}.out").read_text()
        assert "Traceback" not in err + stdout, err
        return int((out / f"{name}.rc").read_text()), err, [json.loads(x) for x in stdout.splitlines()]

    rc, err, events = result("ro")
    assert rc == 2 and events == [] and "cannot use the data folder" in err and "Read-only file system" in err

    rc, err, events = result("full")
    assert rc == 4, err
    assert events[-1]["event"] == "ts_finished" and events[-1]["status"] == "failed"
    assert "is full" in events[-1]["error"] and "software-center resume" in events[-1]["error"]
    assert events[-1]["error_code"] == 0x80070070
    rc, err, events = result("resume")
    assert rc == 0, err
    assert events[-1]["status"] == "succeeded"
    assert (work / "marks").read_text() == "then\n"


@pytest.mark.asyncio
async def test_malformed_site_address_and_port_are_usage_errors(tmp_path: Path) -> None:
    """Exit 2 with one line (docs/CLI.md), never the last-resort exit 1."""
    bad_url = await cli("list", "--site", "http://[::1", "--data-dir", str(tmp_path / "d"), "--json")
    assert bad_url.rc == 2 and "not a valid URL" in bad_url.stderr
    bad_port = await cli("demo-site", "--port", "70000", "--data-dir", str(tmp_path / "d"))
    assert bad_port.rc == 2 and "--port" in bad_port.stderr


@pytest.mark.asyncio
async def test_a_relative_data_dir_runs_every_step(demo_site: Path, tmp_path: Path) -> None:
    """A relative --data-dir used to make every program step fail with "exited with code 1":
    its host was started in the package folder with a ticket path relative to elsewhere."""
    run = await cli("run", "NWT20001", "--site", str(demo_site), "--data-dir", "data", "--connection", "internet",
                    "--yes", "--json", *FAST, cwd=tmp_path)
    assert run.rc == 5, run.stderr
    assert all(e["status"] == "succeeded" for e in run.of("step_finished"))
    assert (tmp_path / "data" / "logs" / "smsts.log").is_file()
    resumed = await cli("resume", "--data-dir", "data", "--json", cwd=tmp_path)
    assert resumed.rc == 0 and resumed.finished["status"] == "succeeded", resumed.stderr
