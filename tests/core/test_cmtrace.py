"""core.cmtrace: the exact CMTrace entry (docs/ENGINE.md, "The log"), bias sign, types,
components, escaping, rotation, secrets."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.cmtrace import (
    CMTraceHandler,
    component_for,
    format_entry,
    install_log,
    parse_cmtrace,
    redact,
    remove_log,
)

BOM = "\ufeff".encode()
ENTRY = re.compile(
    r'<!\[LOG\[(?P<message>.*?)\]LOG\]!><time="(?P<clock>\d{2}:\d{2}:\d{2}\.\d{3})(?P<bias>[+-]\d{3})" '
    r'date="(?P<date>\d{2}-\d{2}-\d{4})" component="(?P<component>[A-Za-z0-9]+)" context="" '
    r'type="(?P<type>[123])" thread="(?P<thread>\d+)" file="">'
)
ROTATED = re.compile(r"smsts-\d{8}-\d{6}(?:-\d+)?\.log")


def emit(handler: logging.Handler, msg: str, *args: object, name: str = "software_center.engine",
         level: int = logging.INFO, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, msg, args or None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    handler.handle(record)
    return record


def lines(path: Path) -> list[str]:
    data = path.read_bytes()
    assert data.startswith(BOM)
    text = data[len(BOM):].decode("utf-8")
    assert text.endswith("\r\n")
    out = text.split("\r\n")[:-1]
    assert all("\n" not in line and "\r" not in line for line in out)
    return out


@pytest.fixture
def handler(tmp_path: Path) -> Iterator[CMTraceHandler]:
    h = CMTraceHandler(tmp_path / "logs" / "smsts.log")
    yield h
    h.close()


@pytest.fixture
def timezone() -> Iterator[Callable[[str], None]]:
    """Set the process's time zone (POSIX TZ syntax) for one test."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX only")
    saved = os.environ.get("TZ")

    def use(tz: str) -> None:
        os.environ["TZ"] = tz
        time.tzset()

    yield use
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


# --- the entry ------------------------------------------------------------------------------


def test_one_record_is_exactly_one_cmtrace_line(handler: CMTraceHandler) -> None:
    record = emit(handler, "Start executing an action: %s", "Upgrade Operating System")
    [line] = lines(handler.path)
    m = ENTRY.fullmatch(line)
    assert m is not None, line
    assert m["message"] == "Start executing an action: Upgrade Operating System"
    assert m["component"] == "TSManager" and m["type"] == "1"
    local = time.localtime(record.created)
    assert m["clock"] == time.strftime("%H:%M:%S", local) + f".{int(record.created % 1 * 1000):03d}"
    assert m["date"] == time.strftime("%m-%d-%Y", local)
    assert int(m["bias"]) == -round(local.tm_gmtoff / 60)  # Windows bias: UTC = local + bias


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        # 1_700_000_000 is 2023-11-14 22:13:20.250 UTC. The bias is the Windows time-zone
        # bias, as ConfigMgr writes it: UTC = local time + bias (the opposite sign of ISO 8601).
        ("UTC0", 'time="22:13:20.250+000" date="11-14-2023"'),
        ("CET-1CEST,M3.5.0,M10.5.0/3", 'time="23:13:20.250-060" date="11-14-2023"'),
        ("PST8PDT,M3.2.0,M11.1.0", 'time="14:13:20.250+480" date="11-14-2023"'),
        ("IST-5:30", 'time="03:43:20.250-330" date="11-15-2023"'),
        ("NPT-5:45", 'time="03:58:20.250-345" date="11-15-2023"'),
        ("<-12>12", 'time="10:13:20.250+720" date="11-14-2023"'),
        ("<+14>-14", 'time="12:13:20.250-840" date="11-15-2023"'),
    ],
)
def test_bias_is_the_windows_time_zone_bias(timezone: Callable[[str], None], tz: str, expected: str) -> None:
    timezone(tz)
    assert expected in format_entry("x", created=1_700_000_000.25)


def test_bias_follows_daylight_saving(timezone: Callable[[str], None]) -> None:
    timezone("CET-1CEST,M3.5.0,M10.5.0/3")
    # 2023-07-10 14:40:00 UTC is 16:40 in Central European Summer Time (UTC+2).
    assert 'time="16:40:00.000-120" date="07-10-2023"' in format_entry("x", created=1_689_000_000)
    timezone("PST8PDT,M3.2.0,M11.1.0")
    assert 'time="07:40:00.000+420"' in format_entry("x", created=1_689_000_000)


CHILD_LOGS = """
import json, logging, sys, time
from pathlib import Path
from core.cmtrace import CMTraceHandler
handler = CMTraceHandler(Path(sys.argv[1]))
log = logging.getLogger("software_center.engine")
log.setLevel(logging.INFO)
log.addHandler(handler)
before = time.time()
log.info("logged in %s", sys.argv[2])
after = time.time()
handler.close()
print(json.dumps([before, after]))
"""


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Kolkata", "Pacific/Kiritimati", "Europe/London"])
def test_a_process_in_a_far_time_zone_writes_local_time_and_its_windows_bias(tmp_path: Path, zone: str) -> None:
    """A real process with TZ set: local time + bias (minutes) is the UTC instant it logged."""
    if not Path("/usr/share/zoneinfo", zone).exists():
        pytest.skip(f"no time zone database entry for {zone}")
    path = tmp_path / "smsts.log"
    out = subprocess.run(
        [sys.executable, "-c", CHILD_LOGS, str(path), zone],
        env={**os.environ, "TZ": zone}, capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    before, after = json.loads(out.stdout)
    [entry] = parse_cmtrace(path.read_text("utf-8"))
    assert entry["message"] == f"logged in {zone}"
    m = re.fullmatch(r"(\d{2}:\d{2}:\d{2}\.\d{3})([+-]\d{3})", entry["time"])
    assert m is not None, entry["time"]
    offset = ZoneInfo(zone).utcoffset(datetime.fromtimestamp(before, UTC))
    assert offset is not None
    bias = int(m[2])
    assert bias == -round(offset.total_seconds() / 60)  # e.g. +480 / +420 (DST) in Los Angeles, -330 in India
    local = datetime.strptime(f"{entry['date']} {m[1]}", "%m-%d-%Y %H:%M:%S.%f")
    logged = (local + timedelta(minutes=bias)).replace(tzinfo=UTC).timestamp()
    assert before - 0.001 <= logged <= after


@pytest.mark.parametrize(
    ("level", "cm_type"),
    [(logging.DEBUG, "1"), (logging.INFO, "1"), (logging.WARNING, "2"), (logging.ERROR, "3"), (logging.CRITICAL, "3")],
)
def test_level_maps_to_cmtrace_type(handler: CMTraceHandler, level: int, cm_type: str) -> None:
    emit(handler, "m", level=level)
    [entry] = parse_cmtrace(handler.path.read_text("utf-8"))
    assert entry["type"] == cm_type


@pytest.mark.parametrize(
    ("name", "component"),
    [
        ("software_center.content", "DownloadContent"),
        ("software_center.content.store", "DownloadContent"),
        ("software_center.http", "DownloadContent"),
        ("software_center.engine", "TSManager"),
        ("software_center.process", "TSManager"),
        ("software_center", "TSManager"),
        ("software_center.somethingnew", "TSManager"),
        ("httpx", "TSManager"),
    ],
)
def test_component_comes_from_the_logger_name(handler: CMTraceHandler, name: str, component: str) -> None:
    assert component_for(name) == component
    emit(handler, "m", name=name)
    assert parse_cmtrace(handler.path.read_text("utf-8"))[0]["component"] == component


def test_every_project_logger_writes_a_configmgr_style_component() -> None:
    """Each `software_center…` logger in the source maps to a letters-and-digits component."""
    root = Path(__file__).resolve().parents[2]
    names: set[str] = set()
    for folder in ("core", "cli", "ui"):
        for source in (root / folder).rglob("*.py"):
            names |= set(re.findall(r'getLogger\(\s*"(software_center[\w.]*)"', source.read_text("utf-8")))
    assert {"software_center.engine", "software_center.content", "software_center.process"} <= names
    for name in sorted(names):
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", component_for(name)), (name, component_for(name))


def test_component_extra_wins_and_cannot_break_the_entry(handler: CMTraceHandler) -> None:
    emit(handler, "a", name="software_center.content", component="TSEngine")
    emit(handler, "b", component='Bad" type="3<x>')
    emit(handler, "c", component="Demo_Site.v2 x-y")
    first, second, third = (ENTRY.fullmatch(line) for line in lines(handler.path))
    assert third is not None and third["component"] == "DemoSitev2xy"
    assert first is not None and first["component"] == "TSEngine"
    assert second is not None and second["component"] == "Badtype3x" and second["type"] == "1"


def test_markers_newlines_and_control_characters_cannot_break_the_format(handler: CMTraceHandler) -> None:
    emit(handler, "a ]LOG]!> b <![LOG[ c\nline2\r\nline3\rline4\x00end\tok")
    [line] = lines(handler.path)
    m = ENTRY.fullmatch(line)
    assert m is not None
    assert m["message"] == "a ]LOG]!&gt; b &lt;![LOG[ c | line2 | line3 | line4?end\tok"
    assert [e["message"] for e in parse_cmtrace(handler.path.read_text("utf-8"))] == [m["message"]]


def test_an_exception_is_logged_on_the_same_line(handler: CMTraceHandler) -> None:
    try:
        raise ValueError("bad catalog")
    except ValueError:
        record = logging.LogRecord("software_center.engine", logging.ERROR, __file__, 1, "Run failed", None,
                                   sys.exc_info())
    handler.handle(record)
    [line] = lines(handler.path)
    m = ENTRY.fullmatch(line)
    assert m is not None and m["type"] == "3"
    assert m["message"].startswith("Run failed | Traceback (most recent call last):")
    assert m["message"].endswith("ValueError: bad catalog")


def test_thread_is_the_os_thread_id(handler: CMTraceHandler) -> None:
    emit(handler, "main")
    ids: list[int] = []

    def work() -> None:
        ids.append(threading.get_native_id())
        emit(handler, "worker")

    t = threading.Thread(target=work)
    t.start()
    t.join()
    main, worker = parse_cmtrace(handler.path.read_text("utf-8"))
    assert main["thread"] == str(threading.get_native_id())
    assert worker["thread"] == str(ids[0]) != main["thread"]


def test_parse_cmtrace_round_trip(handler: CMTraceHandler) -> None:
    sent = [
        ("Descarga del paquete PS100012: 'Actualización' \"22H2\"", logging.INFO, "software_center.content"),
        ("Tabs\tstay", logging.WARNING, "software_center.engine"),
        ("Step failed: 0xC1900208", logging.ERROR, "software_center.engine"),
    ]
    for msg, level, name in sent:
        emit(handler, msg.replace("%", "%%"), name=name, level=level)
    entries = parse_cmtrace(handler.path.read_text("utf-8"))
    assert [(e["message"], e["type"], e["component"]) for e in entries] == [
        (sent[0][0], "1", "DownloadContent"), (sent[1][0], "2", "TSManager"), (sent[2][0], "3", "TSManager")
    ]
    for e in entries:
        assert re.fullmatch(r"\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{3}", e["time"])
        assert re.fullmatch(r"\d{2}-\d{2}-\d{4}", e["date"])
        assert e["context"] == "" and e["file"] == "" and e["thread"].isdigit()


def test_parse_cmtrace_reads_configmgr_lines_too() -> None:
    text = (
        '<![LOG[The action (Setup Windows and Configuration Manager) initiated a reboot request]LOG]!>'
        '<time="10:35:33.039-60" date="09-07-2022" component="TSManager" context="" type="1" thread="2000" '
        'file="engine.cxx:1022">\r\n'
        '<![LOG[Policy body:\r\n<Policy/>]LOG]!><time="10:35:34.555-60" date="09-07-2022" component="TSBootShell" '
        'context="" type="0" thread="632" file="tslogging.cpp:2009">\r\n'
    )
    first, second = parse_cmtrace(text)
    assert first["time"] == "10:35:33.039-60" and first["file"] == "engine.cxx:1022"
    assert second["message"] == "Policy body:\r\n<Policy/>" and second["component"] == "TSBootShell"


# --- secrets ---------------------------------------------------------------------------------


def test_secrets_never_reach_the_file(tmp_path: Path) -> None:
    handler = CMTraceHandler(tmp_path / "smsts.log", secrets={"P@ssw0rd", ""})
    try:
        emit(handler, "join domain with %s", "P@ssw0rd")
        handler.add_secret("tok-123")
        handler.add_secret("tok-123-long")
        handler.add_secret("")
        emit(handler, "tokens tok-123-long and tok-123, password P@ssw0rd")
        text = handler.path.read_text("utf-8")
    finally:
        handler.close()
    assert "P@ssw0rd" not in text and "tok-123" not in text
    first, second = parse_cmtrace(text)
    assert first["message"] == "join domain with ********"
    assert second["message"] == "tokens ******** and ********, password ********"


def test_redact_strips_url_query_strings_and_passwords() -> None:
    assert redact("GET https://cdn.example.com/content/PS100012.3/install.wim?sv=2022&sig=abc%2F= done", ()) == (
        "GET https://cdn.example.com/content/PS100012.3/install.wim done"
    )
    assert redact("from HTTP://dp01.corp/pkg/?token=x#frag, then", ()) == "from HTTP://dp01.corp/pkg/, then"
    assert redact("https://user:pw@host.example/a?b", ()) == "https://********@host.example/a"
    assert redact("plain https://host.example/a/b.cab stays", ()) == "plain https://host.example/a/b.cab stays"
    assert redact("ftp://host/?x=1 is not touched", ()) == "ftp://host/?x=1 is not touched"
    assert redact("secret s3cr3t in https://h/p?k=s3cr3t", {"s3cr3t"}) == "secret ******** in https://h/p"


def test_url_query_strings_are_stripped_in_the_log(handler: CMTraceHandler) -> None:
    emit(handler, "Downloading %s", "https://cmg.contoso.example/ccm_proxy/PS1/file.wim?sig=SECRET&se=2026")
    [entry] = parse_cmtrace(handler.path.read_text("utf-8"))
    assert entry["message"] == "Downloading https://cmg.contoso.example/ccm_proxy/PS1/file.wim"


# --- rotation and durability -------------------------------------------------------------------


def all_entries(folder: Path) -> list[str]:
    """Messages of every log file in `folder`, oldest rotated file first, current last."""
    def key(p: Path) -> tuple[str, int]:
        m = re.fullmatch(r"smsts-(\d{8}-\d{6})(?:-(\d+))?\.log", p.name)
        assert m is not None
        return m.group(1), int(m.group(2) or 0)

    files = sorted((p for p in folder.iterdir() if ROTATED.fullmatch(p.name)), key=key) + [folder / "smsts.log"]
    return [e["message"] for f in files for e in parse_cmtrace(f.read_text("utf-8"))]


def test_rotation_keeps_every_record(tmp_path: Path) -> None:
    handler = CMTraceHandler(tmp_path / "smsts.log", max_bytes=2000, backups=1000)
    try:
        for i in range(300):
            emit(handler, "record %03d", i)
    finally:
        handler.close()
    rotated = [p for p in tmp_path.iterdir() if p.name != "smsts.log"]
    assert len(rotated) >= 10 and all(ROTATED.fullmatch(p.name) for p in rotated)
    assert all(p.stat().st_size <= 2000 for p in tmp_path.iterdir())
    assert all_entries(tmp_path) == [f"record {i:03d}" for i in range(300)]
    for p in tmp_path.iterdir():
        assert all(ENTRY.fullmatch(line) for line in lines(p))


def test_rotation_keeps_only_the_newest_backups(tmp_path: Path) -> None:
    handler = CMTraceHandler(tmp_path / "smsts.log", max_bytes=1500, backups=2)
    try:
        for i in range(200):
            emit(handler, "record %03d", i)
    finally:
        handler.close()
    assert len([p for p in tmp_path.iterdir() if ROTATED.fullmatch(p.name)]) == 2
    kept = all_entries(tmp_path)
    assert kept == [f"record {i:03d}" for i in range(200 - len(kept), 200)]


def test_an_oversized_entry_still_gets_written_whole(tmp_path: Path) -> None:
    handler = CMTraceHandler(tmp_path / "smsts.log", max_bytes=300, backups=5)
    try:
        emit(handler, "small")
        emit(handler, "x" * 1000)
        emit(handler, "after")
    finally:
        handler.close()
    assert all_entries(tmp_path) == ["small", "x" * 1000, "after"]


def test_each_entry_is_on_disk_as_soon_as_it_is_logged(handler: CMTraceHandler) -> None:
    for i in range(3):
        emit(handler, "entry %d", i)
        assert len(parse_cmtrace(handler.path.read_text("utf-8"))) == i + 1  # no buffering to flush


def test_a_file_moved_away_by_someone_else_is_reopened(handler: CMTraceHandler) -> None:
    emit(handler, "before")
    handler.path.rename(handler.path.with_name("smsts-copy.log"))
    emit(handler, "after")
    assert [e["message"] for e in parse_cmtrace(handler.path.read_text("utf-8"))] == ["after"]


def test_many_threads_with_rotation_lose_nothing(tmp_path: Path) -> None:
    handler = CMTraceHandler(tmp_path / "smsts.log", max_bytes=4096, backups=10_000)

    def work(n: int) -> None:
        for i in range(150):
            emit(handler, "t%d-%03d", n, i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        handler.close()
    got = all_entries(tmp_path)
    assert sorted(got) == sorted(f"t{n}-{i:03d}" for n in range(6) for i in range(150))
    for n in range(6):  # each thread's records stay in order across the files
        assert [m for m in got if m.startswith(f"t{n}-")] == [f"t{n}-{i:03d}" for i in range(150)]


def test_a_failing_disk_is_reported_once_and_never_raises(
    handler: CMTraceHandler, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_write = os.write

    def full(fd: int, data: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    emit(handler, "lost 1")
    emit(handler, "lost 2")
    monkeypatch.setattr(os, "write", real_write)
    assert capsys.readouterr().err.count("--- Logging error ---") == 1
    emit(handler, "written")
    assert [e["message"] for e in parse_cmtrace(handler.path.read_text("utf-8"))] == ["written"]


# --- installing -------------------------------------------------------------------------------


def test_install_log_is_idempotent_and_receives_engine_records(tmp_path: Path) -> None:
    logger = logging.getLogger("software_center")
    saved_level = logger.level
    logger.setLevel(logging.WARNING)
    handler = install_log(tmp_path)
    try:
        assert install_log(tmp_path) is handler
        assert install_log(tmp_path / "." ) is handler
        assert handler.path == tmp_path / "logs" / "smsts.log"
        assert [h for h in logger.handlers if h is handler] == [handler]
        logging.getLogger("software_center.content").info("Downloaded %d files", 3)
        logging.getLogger("software_center.engine").debug("not at INFO")
    finally:
        remove_log(handler)
        logger.setLevel(saved_level)
    assert handler not in logger.handlers
    logging.getLogger("software_center.engine").warning("after removal")
    [entry] = parse_cmtrace(handler.path.read_text("utf-8"))
    assert entry["message"] == "Downloaded 3 files" and entry["component"] == "DownloadContent"
