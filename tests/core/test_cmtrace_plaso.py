"""The smsts.log of a real run, read by a third-party CMTrace grammar, in far time zones.

The reader is plaso's `sccm` text parser plugin (log2timeline/plaso, Apache-2.0, the
forensic timeline tool's grammar for ConfigMgr client logs), driven the way plaso itself
drives it: its `text` parser on the file, found through dfVFS, events collected by its
in-memory storage writer. It sees each entry's message, component, local date and time,
and the bias number as written.

plaso hands the bias to dfDateTime as an ISO 8601 offset (`+480` becomes `+08:00`), the
opposite of what ConfigMgr means by it, so its own normalised timestamp is wrong for real
ConfigMgr logs outside UTC. The test takes the fields plaso parsed and applies the Windows
rule itself: UTC = local time + bias.
"""

from __future__ import annotations

import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

with warnings.catch_warnings():
    # plaso's other text plugins use pyparsing argument names that pyparsing 3.3 deprecates;
    # that is plaso's business, and not one of this project's warnings-are-errors.
    warnings.simplefilter("ignore", DeprecationWarning)
    from dfvfs.lib import definitions as dfvfs_definitions
    from dfvfs.path import factory as dfvfs_path_spec_factory
    from dfvfs.resolver import resolver as dfvfs_resolver
    from plaso.parsers import mediator as plaso_mediator
    from plaso.parsers import text_parser as plaso_text_parser
    from plaso.storage.fake import writer as plaso_fake_writer

from core.cmtrace import parse_cmtrace
from core.demo import build_demo_site
from tests.core.sites.harness import cli

FAST = ["--variable", "DemoSetupSeconds=0.3"]


def plaso_read(path: Path) -> tuple[list[Any], list[str]]:
    """(event data, extraction warnings) of plaso's text parser with only its sccm plugin."""
    writer = plaso_fake_writer.FakeStorageWriter()
    writer.Open()
    try:
        mediator = plaso_mediator.ParserMediator()
        mediator.SetStorageWriter(writer)
        spec = dfvfs_path_spec_factory.Factory.NewPathSpec(dfvfs_definitions.TYPE_INDICATOR_OS, location=str(path))
        entry = dfvfs_resolver.Resolver.OpenFileEntry(spec)
        mediator.SetFileEntry(entry)
        parser = plaso_text_parser.TextLogParser()
        parser.EnablePlugins({"sccm"})
        parser.Parse(mediator, entry.GetFileObject())
        events = list(writer.GetAttributeContainers("event_data"))
        warnings = [w.message for w in writer.GetAttributeContainers("extraction_warning")]
    finally:
        writer.Close()
    return events, warnings


def test_plaso_reads_a_configmgr_line_as_we_read_it(tmp_path: Path) -> None:
    """The reference reading, on a line in the form ConfigMgr writes (PST, bias +480)."""
    path = tmp_path / "smsts.log"
    path.write_bytes(
        "\ufeff".encode()
        + b'<![LOG[Start executing an instruction. Instruction name: Check Readiness. Instruction pointer: 1]LOG]!>'
        b'<time="14:13:20.250+480" date="11-14-2023" component="TSManager" context="" type="1" thread="4242" '
        b'file="">\r\n'
    )
    [event], warnings = plaso_read(path)
    assert warnings == []
    assert event.component == "TSManager"
    assert event.text == "Start executing an instruction. Instruction name: Check Readiness. Instruction pointer: 1"
    assert event.written_time.CopyToDateTimeString() == "2023-11-14 14:13:20.250"
    assert event.written_time.time_zone_offset == 480
    assert windows_utc(event) == datetime(2023, 11, 14, 22, 13, 20, 250_000, tzinfo=UTC)


def windows_utc(event: Any) -> datetime:
    """The UTC instant of a plaso-parsed entry: its local time plus the Windows bias written."""
    local = datetime.strptime(event.written_time.CopyToDateTimeString(), "%Y-%m-%d %H:%M:%S.%f")
    return (local + timedelta(minutes=event.written_time.time_zone_offset)).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_site(tmp_path_factory.mktemp("demo") / "site", scale=1 / 256)


@pytest.mark.asyncio
@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Kolkata"])
async def test_the_log_of_a_real_run_parses_with_plaso_at_the_right_utc_time(
    demo_site: Path, tmp_path: Path, zone: str
) -> None:
    if not Path("/usr/share/zoneinfo", zone).exists():
        pytest.skip(f"no time zone database entry for {zone}")
    data = tmp_path / "data"
    common = ["--data-dir", str(data), "--json"]
    before = time.time()
    first = await cli("run", "NWT20001", "--site", str(demo_site), "--connection", "internet", "--yes",
                      *common, *FAST, env={"TZ": zone})
    assert first.rc == 5, first.stderr  # the demo task sequence stops for a restart
    second = await cli("resume", *common, env={"TZ": zone})
    assert second.rc == 0, second.stderr
    after = time.time()

    log = data / "logs" / "smsts.log"
    ours = parse_cmtrace(log.read_text("utf-8"))
    events, warnings = plaso_read(log)
    assert warnings == []
    assert len(ours) > 20 and len(events) == len(ours) == log.read_bytes().count(b"\r\n")

    expected_bias = {-round(offset.total_seconds() / 60) for offset in (
        ZoneInfo(zone).utcoffset(datetime.fromtimestamp(t, UTC)) for t in (before, after)) if offset is not None}
    seen: list[datetime] = []
    for event, entry in zip(events, ours, strict=True):
        assert event.text == entry["message"]
        assert event.component == entry["component"]  # plaso takes letters and digits only
        assert event.written_time.time_zone_offset in expected_bias, entry["time"]
        month, day, year = entry["date"].split("-")
        assert event.written_time.CopyToDateTimeString() == f"{year}-{month}-{day} {entry['time'][:12]}"
        utc = windows_utc(event)
        assert before - 0.001 <= utc.timestamp() <= after, (entry, utc)
        seen.append(utc)
    assert {e.component for e in events} >= {"TSManager", "DownloadContent"}
    assert seen[0] <= seen[-1]
