"""The event bridge: engine events to step rows, coalesced repaints, changed roles only.

The events are the engine's own, in the order the engine emits them for the demo site's
NWT20001 (recorded from a real run); the catalog is the real demo catalog. No loop runs
the engine here: the bridge is fed directly, which is what the engine does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
from PySide6.QtCore import QModelIndex, Qt

from core.catalog import Catalog, parse_catalog
from core.demo import build_demo_site
from core.errors import ErrorCode
from core.events import (
    DownloadFinished,
    DownloadProgressed,
    DownloadRetrying,
    DownloadStarted,
    Event,
    RestartPending,
    RunFinished,
    RunOutcome,
    RunStarted,
    StepFinished,
    StepOutcome,
    StepProgressed,
    StepSkipped,
    StepStarted,
)
from core.events import SkipReason as SkipWhy
from ui.bridge import EventBridge
from ui.step_model import Roles, SkipReason, StepModel, StepState

TS = "NWT00020"
NAME = "Upgrade to Windows 11 Enterprise 24H2"
WIM = 1_055_496
RUN = "0f3c9a4e2b7d4c1e8a6f5b3d2c1e0a9f"


@dataclass
class FakeCenter:
    """What the bridge reads of a SoftwareCenter: the open catalog and the data folder."""

    catalog: Catalog
    data_dir: Path


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    site = build_demo_site(tmp_path_factory.mktemp("bridge-site") / "demo-site", scale=1 / 256)
    return parse_catalog((site / "catalog.json").read_bytes(), "http://127.0.0.1:9/catalog.json")


@pytest.fixture
def bridge(qtbot, catalog: Catalog, tmp_path: Path) -> EventBridge:  # noqa: ANN001 - pytest-qt fixture
    model = StepModel()
    b = EventBridge(FakeCenter(catalog, tmp_path), model)
    b.setParent(model)  # keep the model alive as long as the bridge
    return b


def model_of(b: EventBridge) -> StepModel:
    m = b.parent()
    assert isinstance(m, StepModel)
    return m


def first_half() -> list[Event]:
    """NWT20001 up to the download of the OS image, as the engine emits it."""
    return [
        RunStarted("NWT20001", TS, NAME, 8, "internet", run_id=RUN),
        StepStarted(1, 8, "Check Readiness", "check_readiness", ip=1, run_id=RUN),
        StepFinished(1, "Check Readiness", StepOutcome.SUCCEEDED, 0, ip=1, run_id=RUN),
        StepSkipped("Set Setup Duration", SkipWhy.CONDITION, 8, ip=2, run_id=RUN),
        StepStarted(3, 8, "Set Download Retry Count", "set_variable", ip=3, run_id=RUN),
        StepFinished(3, "Set Download Retry Count", StepOutcome.SUCCEEDED, 0, ip=3, run_id=RUN),
        StepSkipped("Run Compatibility Scan", SkipWhy.DISABLED, 8, ip=4, run_id=RUN),
        StepStarted(4, 8, "Download Drivers", "download_package_content", ip=5, run_id=RUN),
        DownloadStarted("NWT00015", 132_320, 0, "http://x/content/NWT00015.2/", run_id=RUN),
        DownloadProgressed("NWT00015", 132_320, 132_320, 5e6, 0.0, run_id=RUN),
        DownloadFinished("NWT00015", 132_320, run_id=RUN),
        StepFinished(4, "Download Drivers", StepOutcome.SUCCEEDED, 0, ip=5, run_id=RUN),
        StepStarted(5, 8, "Upgrade Operating System", "upgrade_os", ip=6, run_id=RUN),
        DownloadStarted("NWT00012", WIM, 0, "http://x/content/NWT00012.3/", run_id=RUN),
    ]


def states(b: EventBridge) -> dict[str, StepState]:
    m = model_of(b)
    return {m.data(m.index(i)): m.data(m.index(i), Roles.STATE) for i in range(m.rowCount())}


def row_of(b: EventBridge, name: str) -> int:
    m = model_of(b)
    return next(i for i in range(m.rowCount()) if m.data(m.index(i)) == name)


def test_every_step_is_listed_with_its_state_as_the_run_goes(bridge: EventBridge) -> None:
    for e in first_half():
        bridge.sink(e)
    bridge.flush()
    s = states(bridge)
    assert list(s) == [
        "Prepare for Upgrade", "Check Readiness", "Set Setup Duration", "Set Download Retry Count",
        "Run Compatibility Scan", "Download Drivers", "Upgrade Operating System", "Restart Computer",
        "Post-Processing", "Install Company Portal", "Collect Setup Logs", "Remove Legacy VPN Client",
    ]
    assert s["Prepare for Upgrade"] is StepState.SUCCEEDED  # a group follows its steps
    assert s["Check Readiness"] is StepState.SUCCEEDED
    assert s["Set Setup Duration"] is StepState.SKIPPED
    assert s["Run Compatibility Scan"] is StepState.SKIPPED
    assert s["Download Drivers"] is StepState.SUCCEEDED
    assert s["Upgrade Operating System"] is StepState.DOWNLOADING
    assert s["Restart Computer"] is StepState.PENDING
    m = model_of(bridge)
    assert m.data(m.index(row_of(bridge, "Run Compatibility Scan")), Roles.SKIP_REASON) is SkipReason.DISABLED
    assert m.data(m.index(row_of(bridge, "Set Setup Duration")), Roles.SKIP_REASON) is SkipReason.CONDITION
    # A disabled step is known up front: it is drawn dimmed before the engine reaches it.
    assert m.data(m.index(row_of(bridge, "Remove Legacy VPN Client")), Roles.ENABLED) is False
    assert m.data(m.index(row_of(bridge, "Remove Legacy VPN Client")), Roles.STATUS_TEXT) == "Disabled"
    h = bridge.header
    # The counter is ConfigMgr's: the total is fixed, a skipped step keeps its number (2 is passed over).
    assert (h.number, h.total, h.current, h.status) == (5, 8, "Upgrade Operating System", "running")
    assert 4 / 8 * 100 <= h.percent < 5 / 8 * 100


def test_a_burst_of_a_thousand_download_events_is_one_repaint_of_one_row_and_its_changed_roles(
    bridge: EventBridge, qtbot  # noqa: ANN001
) -> None:
    for e in first_half():
        bridge.sink(e)
    bridge.flush()
    m = model_of(bridge)
    row = row_of(bridge, "Upgrade Operating System")
    changed: list[tuple[int, int, list[int]]] = []
    m.dataChanged.connect(lambda tl, br, roles: changed.append((tl.row(), br.row(), list(roles))))
    resets: list[int] = []
    m.modelReset.connect(lambda: resets.append(1))
    flushes_before = bridge.flush_count

    with qtbot.waitSignal(bridge.flushed, timeout=2000):
        for n in range(1, 1001):
            bridge.sink(DownloadProgressed("NWT00012", n * WIM // 1000, WIM, 2e6 + n, (1000 - n) / 100))

    assert bridge.flush_count == flushes_before + 1
    assert resets == []
    assert len(changed) == 1
    top, bottom, roles = changed[0]
    assert top == bottom == row
    assert int(Roles.DOWNLOAD) in roles and int(Roles.DETAIL_TEXT) in roles
    for unchanged in (Qt.ItemDataRole.DisplayRole, Roles.STATE, Roles.DEPTH, Roles.NUMBER, Roles.ENABLED):
        assert int(unchanged) not in roles
    dl = m.data(m.index(row), Roles.DOWNLOAD)
    assert (dl.bytes, dl.total_bytes, dl.rate_bps, dl.eta_s) == (WIM, WIM, 2e6 + 1000, 0.0)
    assert m.data(m.index(row), Roles.FRACTION) == 1.0
    assert "Windows 11 Enterprise 24H2 upgrade media" in m.data(m.index(row), Roles.DETAIL_TEXT)

    # Nothing changed: no repaint at all.
    changed.clear()
    bridge.sink(DownloadProgressed("NWT00012", WIM, WIM, 2e6 + 1000, 0.0))
    bridge.flush()
    assert changed == []


def test_repaints_stay_under_thirty_a_second_while_events_stream(bridge: EventBridge, qtbot) -> None:  # noqa: ANN001
    import time

    for e in first_half():
        bridge.sink(e)
    bridge.flush()
    before = bridge.flush_count
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < 0.5:
        n += 1
        bridge.sink(DownloadProgressed("NWT00012", min(WIM, n * 1000), WIM, 1e6, 1.0))
        qtbot.wait(1)  # let the flush timer fire between events
    elapsed = time.monotonic() - started
    flushes = bridge.flush_count - before
    assert n > 100
    assert 1 <= flushes <= elapsed * 30 + 2


def test_progress_text_retries_and_the_rest_of_the_run(bridge: EventBridge) -> None:
    for e in first_half():
        bridge.sink(e)
    m = model_of(bridge)
    row = row_of(bridge, "Upgrade Operating System")
    bridge.sink(DownloadProgressed("NWT00012", 100_000, WIM, 1e6, 1.0))
    bridge.sink(DownloadRetrying("NWT00012", "sources/install.wim", "http://x/", 2, 1.0, "connection reset"))
    bridge.flush()
    assert m.data(m.index(row), Roles.DOWNLOAD).status == "retrying"
    assert "trying again" in m.data(m.index(row), Roles.DETAIL_TEXT)
    bridge.sink(DownloadProgressed("NWT00012", 90_000, WIM, 1e6, 1.0))  # never backwards on screen
    bridge.sink(DownloadFinished("NWT00012", WIM))
    bridge.sink(StepProgressed(5, 52.0, "SafeOS: applying the Windows image", ip=6))
    bridge.flush()
    assert m.data(m.index(row), Roles.STATE) is StepState.RUNNING
    assert m.data(m.index(row), Roles.PERCENT) == 52.0
    assert m.data(m.index(row), Roles.DETAIL_TEXT) == "SafeOS: applying the Windows image"
    assert m.data(m.index(row), Roles.FRACTION) == pytest.approx(0.52)
    assert bridge.header.percent == pytest.approx(100 * (4 + 0.5 + 0.26) / 8)
    for e in (
        StepFinished(5, "Upgrade Operating System", StepOutcome.SUCCEEDED, 0, ip=6),
        StepStarted(6, 8, "Restart Computer", "restart", ip=7),
        StepFinished(6, "Restart Computer", StepOutcome.SUCCEEDED, 0, ip=7),
        RestartPending("Restart Computer", 15, "Windows 11 is almost ready."),
        RunFinished(RunOutcome.RESTART_PENDING, None, None),
    ):
        bridge.sink(e)
    assert states(bridge)["Restart Computer"] is StepState.SUCCEEDED  # flushed at once
    assert bridge.header.status == "restart_pending"


def test_a_failed_step_and_the_steps_it_leaves_unrun(bridge: EventBridge) -> None:
    for e in first_half():
        bridge.sink(e)
    bridge.sink(DownloadFinished("NWT00012", WIM))
    bridge.sink(StepFinished(5, "Upgrade Operating System", StepOutcome.FAILED, 0xC1900208, "An incompatible app",
                             ip=6, reason=ErrorCode.PROGRAM_FAILED))
    finished: list[RunFinished] = []
    bridge.runFinished.connect(finished.append)
    bridge.sink(RunFinished(RunOutcome.FAILED, "An incompatible app", 0xC1900208, reason=ErrorCode.PROGRAM_FAILED))
    s = states(bridge)
    assert s["Upgrade Operating System"] is StepState.FAILED
    assert s["Restart Computer"] is StepState.SKIPPED
    assert s["Post-Processing"] is StepState.SKIPPED
    m = model_of(bridge)
    r = row_of(bridge, "Upgrade Operating System")
    assert m.data(m.index(r), Roles.EXIT_CODE) == 0xC1900208
    assert m.data(m.index(r), Roles.STATUS_TEXT) == "Failed (0xC1900208)"
    assert m.data(m.index(row_of(bridge, "Restart Computer")), Roles.STATUS_TEXT) == "Not run"
    assert bridge.header.failed_step == "Upgrade Operating System"
    assert [f.status for f in finished] == ["failed"]


def test_a_cancelled_step_goes_back_to_pending(bridge: EventBridge) -> None:
    for e in first_half():
        bridge.sink(e)
    bridge.sink(DownloadProgressed("NWT00012", 300_000, WIM, 1e6, 1.0))
    bridge.sink(RunFinished(RunOutcome.CANCELLED, "cancelled by the user", 0x800704C7, reason=ErrorCode.CANCELLED))
    s = states(bridge)
    assert s["Upgrade Operating System"] is StepState.PENDING
    assert s["Restart Computer"] is StepState.PENDING
    assert bridge.header.status == "cancelled"


def test_the_step_model_passes_the_model_tester(bridge: EventBridge, qtmodeltester) -> None:  # noqa: ANN001
    m = model_of(bridge)
    qtmodeltester.check(m, force_py=True)
    for e in first_half():
        bridge.sink(e)
    bridge.flush()
    qtmodeltester.check(m, force_py=True)
    for n in range(5):
        bridge.sink(DownloadProgressed("NWT00012", n * 1000, WIM, 1e6, 1.0))
        bridge.flush()
    qtmodeltester.check(m, force_py=True)
    assert m.rowCount(m.index(0)) == 0
    assert m.data(QModelIndex()) is None
    assert m.data(m.index(0), Qt.ItemDataRole.ToolTipRole).startswith("Prepare for Upgrade")
    assert "Check Readiness" in m.data(m.index(1), Qt.ItemDataRole.AccessibleTextRole)


def test_rows_are_found_by_instruction_pointer_not_by_name(catalog: Catalog, tmp_path: Path, qtbot) -> None:  # noqa: ANN001
    """Two steps share a name; the first is passed over silently (its group failed and
    continues on error). The engine's `ip` names the row; a name search took the wrong one."""
    raw = msgspec.json.decode(msgspec.json.encode(catalog.task_sequences[TS]))
    group = raw["steps"][0]
    group["continue_on_error"] = True
    group["steps"][2]["name"] = "Download Drivers"  # ip 3, like the step at ip 5
    ts = msgspec.convert(raw, type(catalog.task_sequences[TS]))
    changed = dataclasses.replace(catalog, task_sequences={**catalog.task_sequences, TS: ts})
    model = StepModel()
    b = EventBridge(FakeCenter(changed, tmp_path), model)
    b.setParent(model)
    for e in (
        RunStarted("NWT20001", TS, NAME, 8, "internet", run_id=RUN),
        StepStarted(1, 8, "Check Readiness", "check_readiness", ip=1, run_id=RUN),
        StepFinished(1, "Check Readiness", StepOutcome.FAILED, 0x80070070, "not enough disk", ip=1,
                     reason=ErrorCode.DISK_FULL, run_id=RUN),
        StepStarted(4, 8, "Download Drivers", "download_package_content", ip=5, run_id=RUN),
    ):
        b.sink(e)
    b.flush()
    assert [model.data(model.index(i), Roles.STATE) for i in range(6)] == [
        StepState.FAILED, StepState.FAILED, StepState.SKIPPED, StepState.SKIPPED, StepState.SKIPPED,
        StepState.RUNNING,
    ]
    assert model.data(model.index(3), Roles.SKIP_REASON) is SkipReason.NOT_RUN
    assert model.data(model.index(5), Roles.NUMBER) == 4
    assert b.current_row == 5


def test_a_resume_in_the_same_window_keeps_what_the_window_saw(bridge: EventBridge, tmp_path: Path) -> None:
    """Cancel then Resume: the rows come from the events this window received, not from the
    saved run state (there is none in this folder; the engine's own is elsewhere)."""
    for e in first_half():
        bridge.sink(e)
    bridge.sink(RunFinished(RunOutcome.CANCELLED, "cancelled by the user", 0x800704C7, reason=ErrorCode.CANCELLED,
                            run_id=RUN))
    assert not (tmp_path / "state" / "run.json").exists()
    bridge.sink(RunStarted("NWT20001", TS, NAME, 8, "internet", resumed=True, run_id=RUN))
    s = states(bridge)
    assert s["Check Readiness"] is StepState.SUCCEEDED
    assert s["Download Drivers"] is StepState.SUCCEEDED
    assert s["Set Setup Duration"] is StepState.SKIPPED
    assert s["Upgrade Operating System"] is StepState.PENDING
    m = model_of(bridge)
    assert "downloaded and verified" in m.data(m.index(row_of(bridge, "Download Drivers")), Roles.DETAIL_TEXT)
    assert (bridge.header.number, bridge.header.total, bridge.header.resumed) == (5, 8, True)


def test_a_finished_run_shows_its_last_step_of_the_fixed_total(bridge: EventBridge) -> None:
    for e in first_half():
        bridge.sink(e)
    for e in (
        DownloadFinished("NWT00012", WIM),
        StepFinished(5, "Upgrade Operating System", StepOutcome.SUCCEEDED, 0, ip=6),
        StepStarted(6, 8, "Restart Computer", "restart", ip=7),
        StepFinished(6, "Restart Computer", StepOutcome.SUCCEEDED, 0, ip=7),
        StepStarted(7, 8, "Install Company Portal", "install_package", ip=9),
        StepFinished(7, "Install Company Portal", StepOutcome.SUCCEEDED, 0, ip=9),
        StepSkipped("Collect Setup Logs", SkipWhy.CONDITION, 8, ip=10),
        StepSkipped("Remove Legacy VPN Client", SkipWhy.DISABLED, 8, ip=11),
        RunFinished(RunOutcome.SUCCEEDED, None, None),
    ):
        bridge.sink(e)
    h = bridge.header
    assert (h.number, h.total, h.status, h.percent) == (8, 8, "succeeded", 100.0)


def test_a_failed_step_is_worded_from_its_code(bridge: EventBridge) -> None:
    for e in first_half():
        bridge.sink(e)
    bridge.sink(StepFinished(5, "Upgrade Operating System", StepOutcome.FAILED, None,
                             "the program ran past its limit (reworded any day)", ip=6,
                             reason=ErrorCode.PROGRAM_TIMEOUT))
    bridge.flush()
    m = model_of(bridge)
    i = m.index(row_of(bridge, "Upgrade Operating System"))
    assert i.data(Roles.REASON) == ErrorCode.PROGRAM_TIMEOUT  # a str through Qt
    tip = i.data(Qt.ItemDataRole.ToolTipRole)
    assert "A step took longer than your IT department allows and was stopped." in tip
    assert tip.endswith("the program ran past its limit (reworded any day)")  # the engine's detail, last


def test_content_fetched_before_step_one_lands_on_the_step_that_runs_and_a_cancel_leaves_it_pending(
    bridge: EventBridge,
) -> None:
    """all_before_start: the OS image is fetched before any step. The disabled compatibility
    scan needs it too, but will never run: the download shows on the upgrade step."""
    bridge.sink(RunStarted("NWT20001", TS, NAME, 8, "internet", run_id=RUN))
    bridge.sink(DownloadStarted("NWT00012", WIM, 0, "http://x/content/NWT00012.3/", run_id=RUN))
    bridge.sink(DownloadProgressed("NWT00012", 300_000, WIM, 1e6, 1.0, run_id=RUN))
    bridge.flush()
    assert states(bridge)["Run Compatibility Scan"] is StepState.PENDING
    assert states(bridge)["Upgrade Operating System"] is StepState.DOWNLOADING
    bridge.sink(RunFinished(RunOutcome.CANCELLED, "cancelled by the user", 0x800704C7, reason=ErrorCode.CANCELLED,
                            run_id=RUN))
    assert states(bridge)["Upgrade Operating System"] is StepState.PENDING
    m = model_of(bridge)
    assert m.data(m.index(row_of(bridge, "Upgrade Operating System")), Roles.DOWNLOAD).bytes == 300_000
