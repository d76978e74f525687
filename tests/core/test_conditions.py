"""Step conditions as ConfigMgr evaluates them, and their strict validation in the catalog.

Variable conditions with every operator (numbers compared as numbers, anything else as
text ignoring case; `like` as WQL's LIKE), and/or/not nested, file conditions (exists,
version, date) and folder conditions (exists, date) on real files; the catalog refuses a
malformed one by its dotted path, and an `unsupported` condition or step anywhere but on a
disabled step.
"""

from __future__ import annotations

import os
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.catalog import RunCommandStep, UnsupportedStep, parse_catalog
from core.errors import CatalogError
from core.fileinfo import file_version, modified_utc
from core.variables import Variables, compare, evaluate_condition, like

from .catalog_samples import CATALOG_URL, encode, example_catalog, step

TS = "task_sequences.PS100020"


def versioned_file(path: Path, version: tuple[int, int, int, int], *, padding: int = 4096) -> Path:
    """A file holding a Windows version resource (VS_VERSION_INFO + VS_FIXEDFILEINFO)."""
    a, b, c, d = version
    fixed = struct.pack("<IIII", 0xFEEF04BD, 0x00010000, (a << 16) | b, (c << 16) | d)
    body = b"MZ" + bytes(padding) + "VS_VERSION_INFO".encode("utf-16-le") + b"\0\0" + fixed + bytes(64)
    path.write_bytes(body)
    return path


def stamp(path: Path, when: str) -> None:
    t = datetime.fromisoformat(when).timestamp()
    os.utime(path, (t, t))


# --- variable conditions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        # Integers compare as numbers: 10 > 9 (as text "10" < "9").
        ("greater", "10", "9", True),
        ("less", "10", "9", False),
        ("less_equal", "-1", "0", True),
        ("equals", "007", "7", True),
        ("greater", " 2048 ", "1024", True),
        ("greater", "+5", "-12", True),
        # Only integers: anything else is text ("10" < "10.0", "9.5" > "10").
        ("equals", "10", "10.0", False),
        ("less", "10", "10.0", True),
        ("greater", "9.5", "10", True),
        ("not_equals", "7", "7.5", True),
        ("equals", "٣", "3", False),  # digits of other scripts are text, not the number 3
        # Anything else compares as text, ignoring case.
        ("equals", "TRUE", "true", True),
        ("greater", "b", "A", True),
        ("less", "Windows 10", "windows 11", True),
        ("greater", "10.0.19045", "10.0.9", False),  # not a number: compared as text
        ("greater", "10", "9a", False),  # one side is not a number: text ("1" < "9")
        ("not_equals", "abc", "ABC", False),
    ],
)
def test_comparisons_are_numeric_for_integers_else_caseless_text(op: str, left: str, right: str,
                                                                 expected: bool) -> None:
    assert compare(op, left, right) is expected
    v = Variables({"X": left})
    assert evaluate_condition({"variable": "X", "op": op, "value": right}, v) is expected


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        ("Windows 10 Enterprise", "Windows 10%", True),
        ("windows 10 enterprise", "WINDOWS%ENTERPRISE", True),
        ("Windows 11", "Windows 1_", True),
        ("Windows 110", "Windows 1_", False),
        ("HP EliteBook", "[HD]% EliteBook", True),
        ("Dell Latitude", "[^D]%", False),
        ("Model C", "Model [a-c]", True),
        ("Model d", "Model [a-c]", False),
        ("a.b", "a.b", True),
        ("axb", "a.b", False),  # "." is itself, not a wildcard
        ("100%", "100[%]", True),
        ("x[y", "x[y", True),  # an unclosed "[" is itself
        ("", "%", True),
        ("line1\nline2", "line1%", True),
    ],
)
def test_like_is_wql_like_ignoring_case(text: str, pattern: str, expected: bool) -> None:
    assert like(text, pattern) is expected


def test_a_comparison_with_a_missing_variable_is_false_and_not_equals_true() -> None:
    v = Variables()
    for op in ("equals", "greater", "greater_equal", "less", "less_equal", "like"):
        assert not evaluate_condition({"variable": "Missing", "op": op, "value": "1"}, v)
    assert evaluate_condition({"variable": "Missing", "op": "not_equals", "value": "1"}, v)


def test_nested_and_or_not() -> None:
    v = Variables({"Model": "HP ProBook 445", "Memory": "8192", "Phase": "STATERESTORE"})
    cond = {"all": [
        {"any": [{"variable": "Model", "op": "like", "value": "HP%"},
                 {"variable": "Model", "op": "like", "value": "Dell%"}]},
        {"not": {"any": [{"variable": "Memory", "op": "less", "value": "4096"},
                         {"variable": "Phase", "op": "equals", "value": "preinstall"}]}},
    ]}
    assert evaluate_condition(cond, v)
    v.set("Memory", "2048")
    assert not evaluate_condition(cond, v)


# --- file and folder conditions --------------------------------------------------------


def test_file_version_is_read_from_the_version_resource_on_any_os(tmp_path: Path) -> None:
    exe = versioned_file(tmp_path / "setup.exe", (10, 0, 19041, 3636))
    assert file_version(exe) == (10, 0, 19041, 3636)
    (tmp_path / "plain.txt").write_text("no version here")
    (tmp_path / "empty").write_bytes(b"")
    assert file_version(tmp_path / "plain.txt") is None
    assert file_version(tmp_path / "empty") is None
    assert file_version(tmp_path / "missing.exe") is None
    assert file_version(tmp_path) is None


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("equals", "10.0.19041.3636", True),
        ("equals", "10.0.19041", False),  # 10.0.19041.0
        ("greater", "10.0.19041", True),
        ("greater_equal", "10.0.19041.3636", True),
        ("less", "10.0.22000", True),
        ("less_equal", "9", False),
        ("not_equals", "10", True),
        ("greater", "10.0.9999", True),  # by number, not as text
    ],
)
def test_file_version_conditions(tmp_path: Path, op: str, value: str, expected: bool) -> None:
    versioned_file(tmp_path / "setup.exe", (10, 0, 19041, 3636))
    v = Variables({"Folder": str(tmp_path)})
    cond = {"file": "%Folder%/setup.exe", "version": {"op": op, "value": value}}
    assert evaluate_condition(cond, v) is expected


def test_file_and_folder_exist_and_dates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "marker.txt"
    f.write_text("x")
    stamp(f, "2026-03-01T12:00:00+00:00")
    stamp(tmp_path, "2026-03-01T12:00:00+00:00")
    assert modified_utc(f) == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    v = Variables({"Dir": str(tmp_path)})
    assert evaluate_condition({"file": "%Dir%/marker.txt"}, v)
    assert evaluate_condition({"file": "%Dir%\\marker.txt"}, v)  # a Windows path of an imported sequence
    assert not evaluate_condition({"file": "%Dir%/missing.txt"}, v)
    assert not evaluate_condition({"file": "%Dir%"}, v)  # a folder is not a file
    assert evaluate_condition({"folder": "%Dir%"}, v)
    assert not evaluate_condition({"folder": "%Dir%/marker.txt"}, v)  # nor a file a folder
    # The environment fills in what the task-sequence variables do not (ConfigMgr's rule).
    monkeypatch.setenv("SC_TEST_ROOT", str(tmp_path))
    assert evaluate_condition({"file": "%SC_TEST_ROOT%/marker.txt"}, Variables())
    # Dates compare in UTC, to the second, whatever the offset they are written with.
    for op, when, expected in [
        ("equals", "2026-03-01T13:00:00+01:00", True),
        ("greater", "2026-03-01T11:59:59Z", True),
        ("less", "2026-03-01T12:00:00Z", False),
        ("less_equal", "2026-03-01T12:00:00Z", True),
        ("not_equals", "2026-03-01T12:00:01Z", True),
        ("greater_equal", "2026-03-02T00:00:00Z", False),
    ]:
        date = {"op": op, "value": when}
        assert evaluate_condition({"file": "%Dir%/marker.txt", "date": date}, v) is expected, (op, when)
        assert evaluate_condition({"folder": "%Dir%", "date": date}, v) is expected, (op, when)
    # A date condition on a missing file is false, as is a version on a file without one.
    long_ago = {"op": "not_equals", "value": "2000-01-01T00:00:00Z"}
    assert not evaluate_condition({"file": "%Dir%/nope", "date": long_ago}, v)
    assert not evaluate_condition({"file": "%Dir%/marker.txt", "version": {"op": "not_equals", "value": "1"}}, v)


# --- the catalog -----------------------------------------------------------------------


def catalog_with(steps: list[dict[str, Any]], **ts_fields: Any) -> dict[str, Any]:
    doc = example_catalog()
    doc["task_sequences"]["PS100020"]["steps"] = steps
    doc["task_sequences"]["PS100020"].update(ts_fields)
    return doc


def refused(doc: dict[str, Any], path: str, *words: str) -> CatalogError:
    with pytest.raises(CatalogError) as err:
        parse_catalog(encode(doc), CATALOG_URL)
    assert err.value.path == path, str(err.value)
    for w in words:
        assert w in err.value.problem, err.value.problem
    return err.value


GOOD = [
    {"variable": "X", "op": "greater", "value": "1"},
    {"variable": "X", "op": "greater_equal", "value": "1"},
    {"variable": "X", "op": "less", "value": "1"},
    {"variable": "X", "op": "less_equal", "value": "1"},
    {"variable": "X", "op": "like", "value": "a%"},
    {"file": "%WINDIR%\\notepad.exe"},
    {"file": "C:\\setup.exe", "version": {"op": "greater_equal", "value": "10.0.19041"}},
    {"file": "C:\\setup.exe", "date": {"op": "less", "value": "2026-01-01T00:00:00Z"}},
    {"folder": "C:\\Temp", "date": {"op": "equals", "value": "2026-01-01T01:00:00+01:00"}},
    {"any": [{"file": "a"}, {"not": {"folder": "b"}}]},
]


@pytest.mark.parametrize("cond", GOOD)
def test_new_condition_shapes_are_accepted(cond: dict[str, Any]) -> None:
    cat = parse_catalog(encode(catalog_with([step("run_command", condition=cond)])), CATALOG_URL)
    assert cat.task_sequences["PS100020"].steps[0].condition == cond


C = f"{TS}.steps[0].condition"


@pytest.mark.parametrize(
    ("cond", "path", "words"),
    [
        ({"variable": "X", "op": "greater"}, f"{C}.value", "required field is missing"),
        ({"variable": "X", "op": "like"}, f"{C}.value", "required field is missing"),
        ({"variable": "X", "op": "greaterEqual", "value": "1"}, f"{C}.op", "greater_equal"),
        ({"file": ""}, f"{C}.file", "non-empty string"),
        ({"file": 3}, f"{C}.file", "non-empty string"),
        ({"file": "a", "op": "exists"}, f"{C}.op", "unexpected field in a file condition"),
        ({"folder": "a", "version": {"op": "equals", "value": "1"}}, f"{C}.version",
         "unexpected field in a folder condition"),
        ({"file": "a", "version": "10.0"}, f"{C}.version", "op and value"),
        ({"file": "a", "version": {"op": "like", "value": "1"}}, f"{C}.version.op", "expected one of equals"),
        ({"file": "a", "version": {"op": "equals"}}, f"{C}.version.value", "required field is missing"),
        ({"file": "a", "version": {"op": "equals", "value": "10.x"}}, f"{C}.version.value", "1 to 4 numbers"),
        ({"file": "a", "version": {"op": "equals", "value": "1.2.3.4.5"}}, f"{C}.version.value", "1 to 4"),
        ({"file": "a", "version": {"op": "equals", "value": "1", "x": 1}}, f"{C}.version.x", "unknown field"),
        ({"file": "a", "date": {"op": "equals", "value": "2026-01-01"}}, f"{C}.date.value", "RFC 3339"),
        ({"file": "a", "date": {"op": "equals", "value": "2026-01-01T00:00:00"}}, f"{C}.date.value",
         "time zone"),
        ({"file": "a", "date": {"op": "equals", "value": 5}}, f"{C}.date.value", "expected a string"),
        ({"all": [{"folder": "a"}, {"unsupported": "SMS_TaskSequence_WMIConditionExpression"}]},
         f"{C}.all[1].unsupported", "only a disabled step"),
        ({"unsupported": ""}, f"{C}.unsupported", "non-empty string"),
        ({"unsupported": "X", "detail": 1}, f"{C}.detail", "expected a string"),
        ({"unsupported": "X", "variable": "Y"}, f"{C}.variable", "unexpected field in an unsupported"),
    ],
)
def test_bad_conditions_are_refused_by_path(cond: dict[str, Any], path: str, words: str) -> None:
    refused(catalog_with([step("run_command", condition=cond)]), path, words)


def test_unsupported_steps_and_conditions_only_on_disabled_steps() -> None:
    wmi = {"unsupported": "SMS_TaskSequence_WMIConditionExpression", "detail": "SELECT * FROM Win32_BIOS"}
    kept = {"type": "unsupported", "name": "Apply OS", "enabled": False,
            "class": "SMS_TaskSequence_ApplyOperatingSystemAction", "reason": "not supported here",
            "condition": {"all": [wmi, {"variable": "X", "op": "exists"}]}}
    disabled_run = step("run_command", enabled=False, condition={"not": wmi})
    cat = parse_catalog(encode(catalog_with([kept, disabled_run])), CATALOG_URL)
    first, second = cat.task_sequences["PS100020"].steps
    assert isinstance(first, UnsupportedStep) and first.source_class.endswith("ApplyOperatingSystemAction")
    assert isinstance(second, RunCommandStep) and not second.enabled
    refused(catalog_with([{**kept, "enabled": True}]), f"{TS}.steps[0].enabled", "must be false")
    refused(catalog_with([{k: v for k, v in kept.items() if k != "enabled"}]), f"{TS}.steps[0].enabled",
            "required field is missing")
    refused(catalog_with([{k: v for k, v in kept.items() if k != "class"}]), f"{TS}.steps[0].class",
            "required field is missing")
    refused(catalog_with([step("run_command", condition=wmi)]), f"{TS}.steps[0].condition.unsupported",
            "disabled step")


def test_sequence_variables_and_working_directory() -> None:
    doc = catalog_with([step("run_command", working_directory="sub\\dir")],
                       variables=[{"name": "OSDTarget", "value": "x"},
                                  {"name": "Secret_1", "value": "s", "secret": True}])
    ts = parse_catalog(encode(doc), CATALOG_URL).task_sequences["PS100020"]
    assert [(v.name, v.value, v.secret) for v in ts.variables] == [("OSDTarget", "x", False), ("Secret_1", "s", True)]
    run = ts.steps[0]
    assert isinstance(run, RunCommandStep) and run.working_directory == "sub\\dir"
    refused(catalog_with([step("run_command")], variables=[{"name": "A", "value": "1"}, {"name": "a", "value": "2"}]),
            f"{TS}.variables[1].name", "given twice")
    refused(catalog_with([step("run_command")], variables=[{"name": "has space", "value": "1"}]),
            f"{TS}.variables[0].name", "expected a variable name")
    refused(catalog_with([step("run_command")], variables=[{"name": "A"}]),
            f"{TS}.variables[0].value", "required field is missing")
    refused(catalog_with([step("run_command", working_directory="")]),
            f"{TS}.steps[0].working_directory")
