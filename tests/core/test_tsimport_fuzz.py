"""Hostile task-sequence XML (hypothesis): random trees of sequences, groups, steps of every
class, conditions and variables with adversarial names and values, and random damage to
the real exports.

Whatever the input, the import either gives a task sequence that the client's own
`parse_catalog` accepts (with the packages it names), or refuses with a
TaskSequenceImportError in words. Nothing else ever escapes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.catalog import iter_steps, parse_catalog
from core.errors import TaskSequenceImportError
from core.tsimport import import_task_sequence

from .catalog_samples import CATALOG_URL, encode, example_catalog, package

EXPORTS = Path(__file__).resolve().parent / "tsexports"
CLASSES = [
    "SMS_TaskSequence_RunCommandLineAction", "SMS_TaskSequence_SetVariableAction", "SMS_TaskSequence_RebootAction",
    "SMS_TaskSequence_DownloadPackageContentAction", "SMS_TaskSequence_UpgradeOperatingSystemAction",
    "SMS_TaskSequence_PrestartCheckAction", "SMS_TaskSequence_InstallSoftwareAction",
    "SMS_TaskSequence_ApplyOperatingSystemAction", "BDD_Gather", "", "sms_tasksequence_runcommandlineaction",
]
PROPERTIES = [
    "CommandLine", "PackageID", "WorkingDirectory", "SuccessCodes", "OutputVariableName", "RunAsUser",
    "VariableName", "VariableValue", "IsMasked", "Message", "MessageTimeout", "Target", "DownloadPackages",
    "DestinationVariable", "DestinationLocationType", "ContinueDownloadOnError", "InstallPackageID",
    "InstallEditionIndex", "DynamicUpdateSettings", "IgnoreMessages", "OsProductKey", "StagedContent", "ScanOnly",
    "SetupTimeout", "PreserveSettings", "InstallPath", "CheckMemory", "Memory", "CheckFreeDiskSpace",
    "FreeDiskSpace", "CheckOSType", "ProgramName", "Timeout", "SupportedEnvironment",
]
VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "-1", "true", "false", "TRUE", "PS100012", "PS100012,PS100031", "ps1",
                     "99999999999999999999999", "0x10", "HD", "WinPE", "Custom", "Disable", "%PYTHON% -c pass",
                     '"unclosed', '""', "\\\\", "a b\tc", "Upgrade", "DataOnly", "x" * 80, "10.0.19041",
                     "20260101120000.000000+060", "2026-13-45", "00000101000000.000000-999", "٣", "Ⅻ"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
)
BOOLS = st.sampled_from(["true", "false", "True", "FALSE", ""])
NUMBERS = st.sampled_from(["0", "0 3010", "15", "0,1641", "", "4294967295"])
OPERATORS = st.sampled_from(["exists", "notExists", "equals", "NOTEQUALS", "greater", "greaterEqual", "less",
                             "lessEqual", "like", "contains", ""])
EXPRESSIONS = st.sampled_from([
    "SMS_TaskSequence_VariableConditionExpression", "SMS_TaskSequence_FileConditionExpression",
    "SMS_TaskSequence_FolderConditionExpression", "SMS_TaskSequence_WMIConditionExpression",
    "SMS_TaskSequence_RegistryConditionExpression", "",
])
REQUIRED = {
    "SMS_TaskSequence_RunCommandLineAction": ("CommandLine", "PackageID"),
    "SMS_TaskSequence_SetVariableAction": ("VariableName", "VariableValue"),
    "SMS_TaskSequence_RebootAction": ("Message", "MessageTimeout"),
    "SMS_TaskSequence_DownloadPackageContentAction": ("DownloadPackages", "DestinationVariable"),
    "SMS_TaskSequence_UpgradeOperatingSystemAction": ("InstallPackageID", "InstallEditionIndex", "SetupTimeout"),
    "SMS_TaskSequence_PrestartCheckAction": ("CheckMemory", "Memory", "CheckFreeDiskSpace", "FreeDiskSpace"),
    "SMS_TaskSequence_InstallSoftwareAction": ("PackageID", "ProgramName"),
}
GOOD = {
    "CommandLine": ['%PYTHON% -c "print(1)"', 'setup.exe /q "a b"', 'a\\"b c', "x"],
    "PackageID": ["PS100012", "PS100031", ""],
    "VariableName": ["OSDVar", "_SMSTSX", "A"],
    "VariableValue": ["", "v", "%A%"],
    "Message": ["Restarting", ""],
    "MessageTimeout": ["0", "60"],
    "DownloadPackages": ["PS100012", "PS100012,PS100031"],
    "DestinationVariable": ["DRIVERS", ""],
    "InstallPackageID": ["PS100012"],
    "InstallEditionIndex": ["1", "3"],
    "SetupTimeout": ["0", "240"],
    "CheckMemory": ["true", "false"],
    "Memory": ["2048"],
    "CheckFreeDiskSpace": ["true", "false"],
    "FreeDiskSpace": ["20480"],
    "ProgramName": ["1", "Install"],
}
COND_VARS = st.sampled_from(["Variable", "Operator", "Value", "Path", "Version", "VersionOperator", "DateTime",
                             "DateTimeOperator", "Query"])


def attr(name: str, value: str) -> str:
    return f" {name}={quoteattr(value)}"


@st.composite
def expression(draw: st.DrawFn) -> str:
    kind = draw(EXPRESSIONS)
    pairs = draw(st.lists(st.tuples(COND_VARS, st.one_of(VALUES, OPERATORS, OPERATORS)), min_size=1, max_size=5))
    body = "".join(f"<variable{attr('name', k)}>{escape(v)}</variable>" for k, v in pairs)
    return f"<expression{attr('type', kind)}>{body}</expression>"


conditions = st.recursive(
    expression(),
    lambda inner: st.tuples(st.sampled_from(["and", "or", "not", "AND", "xor"]), st.lists(inner, max_size=3)).map(
        lambda t: f"<operator{attr('type', t[0])}>{''.join(t[1])}</operator>"),
    max_leaves=8,
)


@st.composite
def step(draw: st.DrawFn) -> str:
    cls = draw(st.sampled_from(CLASSES))
    attrs = attr("name", draw(VALUES)) + (attr("type", cls) if cls else "")
    for name in ("disable", "continueOnError", "successCodeList", "timeout", "runIn", "startIn"):
        if draw(st.booleans()):
            likely = BOOLS if name in ("disable", "continueOnError") else NUMBERS if name in (
                "successCodeList", "timeout") else VALUES
            attrs += attr(name, draw(likely if draw(st.integers(0, 9)) else VALUES))
    pairs = draw(st.lists(st.tuples(st.sampled_from(PROPERTIES), VALUES, st.booleans()), max_size=6))
    if draw(st.integers(0, 3)):  # mostly the properties its class needs, with plausible values
        pairs = [(p, draw(st.sampled_from(GOOD[p])) if draw(st.integers(0, 5)) else draw(VALUES), h)
                 for p, h in ((p, draw(st.booleans())) for p in REQUIRED.get(cls, ()))] + pairs
    variables = "".join(
        f"<variable{attr('name', p)}{attr('property', p)}{attr('hidden', 'true') if h else ''}>{escape(v)}</variable>"
        for p, v, h in pairs)
    cond = f"<condition>{''.join(draw(st.lists(conditions, max_size=2)))}</condition>" if draw(st.booleans()) else ""
    action = f"<action>{escape(draw(VALUES))}</action>" if draw(st.booleans()) else ""
    return f"<step{attrs}>{cond}{action}<defaultVarList>{variables}</defaultVarList></step>"


trees = st.recursive(
    step(),
    lambda inner: st.tuples(VALUES, st.booleans(), st.lists(inner, max_size=4)).map(
        lambda t: f"<group{attr('name', t[0])}{attr('disable', 'true') if t[1] else ''}>{''.join(t[2])}</group>"),
    max_leaves=12,
)
global_vars = st.lists(st.tuples(VALUES, VALUES, st.booleans()), max_size=4).map(
    lambda vs: "<globalVarList>" + "".join(
        f"<variable{attr('name', n)}{attr('hidden', 'true') if h else ''}>{escape(v)}</variable>" for n, v, h in vs)
    + "</globalVarList>")
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(data: bytes, **kwargs: Any) -> None:
    """The import refuses in words, or gives what the client accepts."""
    try:
        result = import_task_sequence(data, **kwargs)
    except TaskSequenceImportError as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    doc = example_catalog()
    doc["task_sequences"] = {"PS100099": result.task_sequence}
    doc["deployments"][0]["task_sequence"] = "PS100099"
    try:
        ts = parse_catalog(encode(doc), CATALOG_URL).task_sequences["PS100099"]
    except Exception as exc:  # a package it names may be missing: add it and try again
        if "no package" not in str(exc):
            raise
        for pid in _packages(result.task_sequence["steps"]):
            doc["packages"].setdefault(pid, package("P", pid, {"a": "x"}))
        ts = parse_catalog(encode(doc), CATALOG_URL).task_sequences["PS100099"]
    assert sum(1 for _ in iter_steps(ts.steps)) == sum(result.counts.values())


def _packages(steps: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for s in steps:
        found.update(s.get("packages", []))
        if "package" in s:
            found.add(s["package"])
        found |= _packages(s.get("steps", []))
    return found


@SETTINGS
@given(st.lists(trees, min_size=1, max_size=4), global_vars, st.booleans())
def test_random_sequences_import_or_refuse_in_words(steps: list[str], variables: str, disable: bool) -> None:
    xml = f"<sequence{attr('name', 'Fuzz')}>{variables}{''.join(steps)}</sequence>"
    check(xml.encode("utf-8"), disable_unsupported=disable, programs={"PS100012:1": "x.exe /y"})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(EXPORTS.glob("*.xml"))), st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=3)),
                                                                  max_size=4), st.integers(0, 10**6))
def test_damaged_real_exports_import_or_refuse_in_words(path: Path, edits: list[tuple[int, bytes]], cut: int) -> None:
    data = bytearray(path.read_bytes())
    for at, new in edits:
        at %= len(data)
        data[at:at + len(new)] = new
    check(bytes(data[: max(cut, len(data) // 2)]), disable_unsupported=True)
