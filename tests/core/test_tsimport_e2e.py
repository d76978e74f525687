"""End to end: a ConfigMgr task sequence exercising every condition operator and nesting is
imported (`site import-ts`), built into a site (`site build`), served on loopback and run
through the CLI (`run --json`); the steps that ran, from the JSON events, are the ones
ConfigMgr would run.

All real: the installed command, a real HTTP server on 127.0.0.1, real files for the file
and folder conditions, real programs for the steps.
"""

from __future__ import annotations

import json
import os
import struct
from datetime import datetime
from pathlib import Path

import pytest

from tests.core.helpers.content_server import ContentServer
from tests.core.helpers.publish import run_cli, write_source
from tests.core.sites.harness import cli


def v(name: str, value: str, prop: str | None = None, hidden: bool = False) -> str:
    h = ' hidden="true"' if hidden else ""
    return f'<variable name="{name}" property="{prop or name}"{h}>{value}</variable>'


def var(variable: str, op: str, value: str | None = None) -> str:
    value_xml = f'<variable name="Value">{value}</variable>' if value is not None else ""
    return (f'<expression type="SMS_TaskSequence_VariableConditionExpression"><variable name="Operator">{op}'
            f'</variable>{value_xml}<variable name="Variable">{variable}</variable></expression>')


def file_cond(path: str, *, version: tuple[str, str] | None = None, date: tuple[str, str] | None = None,
              folder: bool = False) -> str:
    kind = "Folder" if folder else "File"
    parts = f'<variable name="Path">{path}</variable>'
    if version:
        parts += (f'<variable name="VersionOperator">{version[0]}</variable>'
                  f'<variable name="Version">{version[1]}</variable>')
    if date:
        parts += (f'<variable name="DateTimeOperator">{date[0]}</variable>'
                  f'<variable name="DateTime">{date[1]}</variable>')
    return f'<expression type="SMS_TaskSequence_{kind}ConditionExpression">{parts}</expression>'


def op(kind: str, *children: str) -> str:
    return f'<operator type="{kind}">{"".join(children)}</operator>'


def run(name: str, condition: str | None = None, command: str = "%PYTHON% -c pass", extra: str = "",
        attrs: str = "") -> str:
    cond = f"<condition>{condition}</condition>" if condition is not None else ""
    line = command.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return (f'<step type="SMS_TaskSequence_RunCommandLineAction" name="{name}"{attrs}>{cond}'
            f'<action>smsswd.exe /run: {line}</action><defaultVarList>{v("CommandLine", line)}{extra}'
            "</defaultVarList></step>")


# (step XML, whether ConfigMgr runs it) in order; the variables are the sequence's own below.
STEPS: list[tuple[str, bool]] = [
    (run("exists", var("Num", "exists")), True),
    (run("notExists", var("Missing", "notExists")), True),
    (run("notExists of a set one", var("Num", "NOTEXISTS")), False),
    (run("equals as numbers", var("Num", "equals", "010")), True),
    (run("only integers are numbers", var("Num", "equals", "10.0")), False),
    (run("equals ignores case", var("Text", "Equals", "WINDOWS 10 ENTERPRISE")), True),
    (run("notEquals", var("Flag", "notEquals", "TRUE")), False),
    (run("greater as numbers", var("Num", "greater", "9")), True),  # as text, "10" < "9"
    (run("greaterEqual", var("Num", "greaterEqual", "10")), True),
    (run("less", var("Num", "less", "9")), False),
    (run("lessEqual", var("Num", "LessEqual", "10")), True),
    (run("less as text", var("Text", "less", "windows 11")), True),
    (run("like wildcards", var("Text", "like", "windows 1_ %")), True),
    (run("like set", var("Text", "like", "[xyz]%")), False),
    (run("equals a missing variable", var("Missing", "equals", "")), False),
    (run("and", op("and", var("Num", "exists"), var("Flag", "equals", "false"))), False),
    (run("or", op("or", var("Missing", "exists"), var("Flag", "equals", "true"))), True),
    (run("not (none of)", op("not", var("Missing", "exists"), var("Num", "less", "5"))), True),
    (run("nested", op("or", op("and", var("Num", "greater", "5"), op("not", var("Text", "like", "%Home%"))),
                      var("Missing", "exists"))), True),
    (run("top level is and", var("Num", "exists") + var("Missing", "exists")), False),
    (run("empty condition", ""), True),
    (run("file exists", file_cond("%MARKERS%/marker.txt")), True),
    (run("file missing", file_cond("%MARKERS%/missing.txt")), False),
    (run("file version", file_cond("%MARKERS%/app.exe", version=("greaterEqual", "10.0.19041"))), True),
    (run("file version less", file_cond("%MARKERS%/app.exe", version=("less", "10"))), False),
    (run("file date", file_cond("%MARKERS%/marker.txt", date=("less", "20300101000000.000000+000"))), True),
    (run("file date equals", file_cond("%MARKERS%/marker.txt", date=("equals", "20260301130000.000000+060"))),
     True),
    (run("folder and date", file_cond("%MARKERS%", date=("greater", "20000101000000.000000+000"), folder=True)),
     True),
    (run("folder missing", file_cond("%MARKERS%/nope", folder=True)), False),
    ('<group name="Skipped group"><condition>' + var("Num", "less", "0") + "</condition>"
     + run("inside a skipped group") + "</group>", False),
    ('<group name="Disabled group" disable="true">' + run("inside a disabled group") + "</group>", False),
    ('<step type="SMS_TaskSequence_SetVariableAction" name="Set Phase"><defaultVarList>'
     + v("VariableName", "Phase") + v("VariableValue", "two") + "</defaultVarList></step>", True),
    (run("after set", var("Phase", "equals", "TWO")), True),
    (run("Fail on purpose", command='%PYTHON% -c "import sys; sys.exit(5)"', attrs=' continueOnError="true"'),
     True),
    (run("on failure", var("_SMSTSLastActionSucceeded", "equals", "false")), True),
    (run("last code", var("_SMSTSLastActionRetCode", "greater", "4")), False),  # "on failure" returned 0
    ('<step type="SMS_TaskSequence_ApplyOperatingSystemAction" name="Apply OS"/>', False),
    (run("WMI condition", '<expression type="SMS_TaskSequence_WMIConditionExpression">'
         '<variable name="Query">SELECT * FROM Win32_Battery</variable></expression>'), False),
    (run("In the package", command='%PYTHON% -c "import os; print(os.path.basename(os.getcwd()))"',
         extra=v("PackageID", "TST00001") + v("WorkingDirectory", "sub")
         + v("SMSTSRunCommandLineOutputVariableName", "WHERE", "OutputVariableName")), True),
    (run("output variable", var("WHERE", "like", "sub%")), True),
    (run("secret is set", var("Password", "equals", "s3cr3t-value")), True),
    (run("secret is passed", command='%PYTHON% -c "import sys; sys.exit(sys.argv[1] != \'s3cr3t-value\')" '
                                     "%Password%"), True),
]

SEQUENCE = (
    '<?xml version="1.0"?>\n<sequence version="3.10" name="Every operator">'
    "<globalVarList>" + v("Num", "10") + v("Text", "Windows 10 Enterprise") + v("Flag", "true")
    + v("Password", "s3cr3t-value", hidden=True) + "</globalVarList>"
    + "".join(xml for xml, _ in STEPS) + "</sequence>"
)


def expected_runs() -> list[str]:
    names = []
    for xml, runs in STEPS:
        if runs:
            names.append(xml.split('name="', 1)[1].split('"', 1)[0])
    return names


def versioned_file(path: Path, version: tuple[int, int, int, int]) -> None:
    a, b, c, d = version
    fixed = struct.pack("<IIII", 0xFEEF04BD, 0x00010000, (a << 16) | b, (c << 16) | d)
    path.write_bytes(b"MZ" + bytes(1024) + "VS_VERSION_INFO".encode("utf-16-le") + b"\0\0" + fixed + bytes(32))


@pytest.mark.asyncio
async def test_an_imported_sequence_runs_the_steps_configmgr_would_run(tmp_path: Path) -> None:
    (tmp_path / "ts.xml").write_text(SEQUENCE, encoding="utf-8")
    strict = run_cli("site", "import-ts", str(tmp_path / "ts.xml"))
    assert strict.rc == 2 and "Apply OS: SMS_TaskSequence_ApplyOperatingSystemAction is not supported" in strict.stderr
    assert "WMI condition: its condition tests what cannot be evaluated here: a WMI query" in strict.stderr
    imported = run_cli("site", "import-ts", str(tmp_path / "ts.xml"), "--unsupported", "disable")
    assert imported.rc == 0, imported.stderr
    ts = json.loads(imported.stdout)

    # The source: one package with a folder the working directory names, the imported sequence.
    source = write_source(tmp_path / "src", files={"TST00001": {"sub/readme.txt": b"x"}})
    spec = json.loads(source.read_text())
    spec["task_sequences"]["TST00100"] = ts
    source.write_text(json.dumps(spec))
    built = run_cli("site", "build", str(source), str(tmp_path / "site"))
    assert built.rc == 0, built.stderr

    markers = tmp_path / "markers"
    markers.mkdir()
    (markers / "marker.txt").write_text("x")
    stamp = datetime.fromisoformat("2026-03-01T12:00:00+00:00").timestamp()
    os.utime(markers / "marker.txt", (stamp, stamp))
    versioned_file(markers / "app.exe", (10, 0, 19045, 1))

    with ContentServer(tmp_path / "site") as server:
        result = await cli("run", "TST20001", "--site", server.url, "--data-dir", str(tmp_path / "data"),
                           "--connection", "internet", "--yes", "--json", "--standalone",
                           "--variable", f"MARKERS={markers}")
    assert result.rc == 0, result.stderr
    ran = [e["name"] for e in result.of("step_started")]
    assert ran == expected_runs()
    finished = {e["name"]: e for e in result.of("step_finished")}
    assert finished["Fail on purpose"]["status"] == "failed" and finished["Fail on purpose"]["exit_code"] == 5
    assert all(e["status"] == "succeeded" for n, e in finished.items() if n != "Fail on purpose")
    skipped = {e["name"]: e["why"] for e in result.of("step_skipped")}
    assert skipped["Apply OS"] == "disabled" and skipped["WMI condition"] == "disabled"
    assert skipped["Disabled group"] == "disabled" and skipped["Skipped group"] == "condition"
    assert "inside a skipped group" not in skipped and "inside a disabled group" not in skipped
    assert set(skipped) | set(ran) | {"inside a skipped group", "inside a disabled group"} == {
        xml.split('name="', 1)[1].split('"', 1)[0] for xml, _ in STEPS
    } | {"inside a skipped group", "inside a disabled group"}
    assert result.finished is not None and result.finished["status"] == "succeeded"
    # The sequence's hidden variable is a secret: masked in the events and the log.
    assert "s3cr3t-value" not in result.stdout + result.stderr
    log = (tmp_path / "data" / "logs" / "smsts.log").read_text(encoding="utf-8-sig")
    assert "Executing command line:" in log and "s3cr3t-value" not in log and "********" in log
