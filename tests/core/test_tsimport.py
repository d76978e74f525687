"""`site import-ts` and `"import"` in SOURCE.json: ConfigMgr and MDT task-sequence XML -> the
site format.

Windows command-line splitting by the documented rules; hostile XML refused in words
(billion laughs, external entities, too deep, too large, not XML, a wrong root); every
mapped step class and condition; the real MDT exports under tests/core/tsexports/
imported with the counts and paths they report; the real CLI's output and exit codes;
`site build` with an imported sequence. Every imported result is judged by the client's
own `parse_catalog`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.catalog import parse_catalog
from core.errors import SiteBuildError, TaskSequenceImportError
from core.sitebuild import build_site
from core.tsimport import MAX_XML_BYTES, MAX_XML_DEPTH, ImportResult, import_task_sequence, split_command_line
from tests.core.helpers.publish import run_cli, source_spec, write_source

from .catalog_samples import CATALOG_URL, encode, example_catalog

EXPORTS = Path(__file__).resolve().parent / "tsexports"
PSD = EXPORTS / "psd-client-template.xml"
MDT = EXPORTS / "mdt-standard-client-export.xml"


def accepted(ts: dict[str, Any]) -> Any:
    """The imported task sequence, in a catalog the client accepts (its packages added)."""
    doc = example_catalog()
    doc["task_sequences"] = {"PS100099": ts}
    doc["deployments"][0]["task_sequence"] = "PS100099"
    return parse_catalog(encode(doc), CATALOG_URL).task_sequences["PS100099"]


def imported(xml: str | bytes, **kwargs: Any) -> ImportResult:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return import_task_sequence(data, **kwargs)


def refused(xml: str | bytes, *words: str, path: str = "") -> TaskSequenceImportError:
    with pytest.raises(TaskSequenceImportError) as err:
        imported(xml)
    for w in words:
        assert w in str(err.value), str(err.value)
    assert err.value.path == path
    return err.value


# --- Windows command lines ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "argv"),
    [
        # The documented table of how arguments are parsed (after the program's name).
        ('prog "abc" d e', ["prog", "abc", "d", "e"]),
        (r'prog a\\b d"e f"g h', ["prog", r"a\\b", "de fg", "h"]),
        (r'prog a\\\"b c d', ["prog", r'a\"b', "c", "d"]),
        (r'prog a\\\\"b c" d e', ["prog", r"a\\b c", "d", "e"]),
        # CommandLineToArgvW: a quote right after a closing quote is literal and ends the part.
        ('prog a"b"" c d', ["prog", 'ab"', "c", "d"]),
        # The program's name: up to the first space, or between quotes; backslashes are plain.
        (r'"C:\Program Files\App\setup.exe" /s', [r"C:\Program Files\App\setup.exe", "/s"]),
        (r'C:\tools\a\"b c', [r'C:\tools\a\"b', "c"]),
        (r'"C:\dir\"x y', ["C:\\dir\\", "x", "y"]),
        ('%PYTHON% -c "print(\'x y\')"', ["%PYTHON%", "-c", "print('x y')"]),
        ('"%PYTHON%" -c "import sys; sys.exit(3)"', ["%PYTHON%", "-c", "import sys; sys.exit(3)"]),
        (r'cscript.exe "%SCRIPTROOT%\ZTIGather.wsf"', ["cscript.exe", r"%SCRIPTROOT%\ZTIGather.wsf"]),
        ('a  ""  b', ["a", "", "b"]),
        ("a\tb \t c  ", ["a", "b", "c"]),
        (r'a "b\\"', ["a", "b\\"]),
        (r"a b\c\\d", ["a", r"b\c\\d"]),
        ('a "b c', ["a", "b c"]),  # an unclosed quote runs to the end
        ('a """b"""', ["a", '"b"']),
        ("setup.exe", ["setup.exe"]),
    ],
)
def test_command_lines_split_by_the_windows_rules(line: str, argv: list[str]) -> None:
    assert split_command_line(line) == argv


# --- hostile and wrong input ---------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE sequence [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<sequence><step type="SMS_TaskSequence_SetVariableAction" name="&lol9;"/></sequence>
"""


def external_entity(target: Path) -> str:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE sequence [<!ENTITY x SYSTEM "{target.as_uri()}">]>\n'
            '<sequence><step type="SMS_TaskSequence_SetVariableAction" name="a"><defaultVarList>'
            '<variable name="VariableName" property="VariableName">V</variable>'
            '<variable name="VariableValue" property="VariableValue">&x;</variable>'
            "</defaultVarList></step></sequence>")


def test_hostile_xml_is_refused_in_words(tmp_path: Path) -> None:
    refused(BILLION_LAUGHS, "declares a DTD", "refused")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    err = refused(external_entity(secret), "declares a DTD")
    assert "TOP-SECRET" not in str(err)
    # Without a DOCTYPE, an undeclared entity is just malformed XML.
    refused('<sequence><step name="&x;"/></sequence>', "not well-formed XML", "undefined entity")
    deep = "<sequence>" + "<operator type='and'>" * (MAX_XML_DEPTH + 5) + "</operator>" * (MAX_XML_DEPTH + 5)
    refused(deep + "</sequence>", f"more than {MAX_XML_DEPTH} deep")
    refused(b"\x00\x01\x02 not xml", "not well-formed XML")
    refused(json.dumps({"name": "x", "steps": []}), "not well-formed XML")
    refused(b"", "not well-formed XML")
    refused("<html><body/></html>", "the root element is <html>", "expected <sequence>")
    refused('<INSTANCE CLASSNAME="SMS_Package"><PROPERTY NAME="Sequence"/></INSTANCE>',
            "the root element is <instance>")
    refused("<sequence/>", "has no steps")
    refused('<sequence><group name="Empty"/></sequence>', "has no steps")
    big = b"<sequence>" + b" " * MAX_XML_BYTES + b"</sequence>"
    refused(big, "larger than 32 MiB")


def test_hostile_xml_inside_an_object_xml_export_is_refused_too() -> None:
    inner = BILLION_LAUGHS.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    wrapped = (f'<INSTANCE CLASSNAME="SMS_TaskSequencePackage"><PROPERTY NAME="Sequence" TYPE="string">'
               f"<VALUE>{inner}</VALUE></PROPERTY></INSTANCE>")
    refused(wrapped, "the export's Sequence property declares a DTD")
    refused('<INSTANCE CLASSNAME="SMS_TaskSequencePackage"><PROPERTY NAME="Name"><VALUE>x</VALUE>'
            "</PROPERTY></INSTANCE>", "no Sequence property")


def test_malformed_steps_are_named_by_their_path() -> None:
    refused('<sequence><group name="G"><step type="SMS_TaskSequence_RunCommandLineAction" name="S" '
            'disable="maybe"><action>x</action></step></group></sequence>',
            "disable='maybe': expected true or false", path="G / S")
    refused('<sequence><step type="SMS_TaskSequence_RunCommandLineAction" name="S" successCodeList="0 x">'
            "<action>x</action></step></sequence>", "successCodeList", path="S")
    refused('<sequence><step type="SMS_TaskSequence_RunCommandLineAction" name="S"><condition>'
            '<operator type="xor"/></condition><action>x</action></step></sequence>', "xor", path="S")
    refused('<sequence><step type="SMS_TaskSequence_RunCommandLineAction" name="S"><condition>'
            '<expression type="SMS_TaskSequence_VariableConditionExpression"><variable name="Variable">A'
            '</variable><variable name="Operator">contains</variable></expression></condition>'
            "<action>x</action></step></sequence>", "unknown operator 'contains'", path="S")
    nested = "".join(f'<group name="g{i}">' for i in range(17)) + '<step name="s"><action>x</action></step>'
    refused(f"<sequence>{nested}{'</group>' * 17}</sequence>", "groups nest deeper than 16",
            path=" / ".join(f"g{i}" for i in range(17)))


# --- mapping -----------------------------------------------------------------------------------


def v(name: str, value: str, prop: str | None = None, hidden: bool = False) -> str:
    h = ' hidden="true"' if hidden else ""
    return f'<variable name="{name}" property="{prop or name}"{h}>{value}</variable>'


def var_cond(variable: str, op: str, value: str | None = None) -> str:
    value_xml = f'<variable name="Value">{value}</variable>' if value is not None else ""
    return (f'<expression type="SMS_TaskSequence_VariableConditionExpression"><variable name="Operator">{op}'
            f'</variable>{value_xml}<variable name="Variable">{variable}</variable></expression>')


# A ConfigMgr upgrade sequence, as the console exports it (test-authored, every mapped class).
CONFIGMGR = f"""<?xml version="1.0" encoding="utf-8"?>
<sequence version="3.10" packageID="PS100020">
  <referenceList><reference package="PS100012"/></referenceList>
  <globalVarList>{v("OSDUpgradeMode", "full")}{v("DomainPassword", "hunter2", hidden=True)}</globalVarList>
  <group name="Prepare for Upgrade" description="checks">
    <step type="SMS_TaskSequence_PrestartCheckAction" name="Check Readiness" runIn="FullOS">
      <action>smsts.exe /prestart</action>
      <defaultVarList>{v("OSDCheckMemory", "true", "CheckMemory")}{v("OSDMemory", "2048", "Memory")}
        {v("OSDCheckFreeDiskSpace", "true", "CheckFreeDiskSpace")}{v("OSDDiskSpace", "20480", "FreeDiskSpace")}
        {v("OSDCheckOSType", "false", "CheckOSType")}</defaultVarList>
    </step>
    <step type="SMS_TaskSequence_DownloadPackageContentAction" name="Download Drivers" continueOnError="true">
      <action>osddownloadcontent.exe</action>
      <defaultVarList>{v("OSDDownloadDownloadPackages", "PS100031,PS100040", "DownloadPackages")}
        {v("OSDDownloadDestinationLocationType", "TSCache", "DestinationLocationType")}
        {v("OSDDownloadDestinationVariable", "DRIVERS", "DestinationVariable")}
        {v("OSDDownloadContinueDownloadOnError", "false", "ContinueDownloadOnError")}</defaultVarList>
    </step>
  </group>
  <step type="SMS_TaskSequence_UpgradeOperatingSystemAction" name="Upgrade Operating System" timeout="120">
    <condition><operator type="and">{var_cond("_SMSTSInWinPE", "equals", "false")}
      <expression type="SMS_TaskSequence_FileConditionExpression">
        <variable name="Path">%windir%\\explorer.exe</variable>
        <variable name="Version">10.0.19041</variable><variable name="VersionOperator">greaterEqual</variable>
      </expression></operator></condition>
    <action>tsupgradeos.exe</action>
    <defaultVarList>{v("InstallPackageID", "PS100012")}{v("InstallEditionIndex", "3")}
      {v("DynamicUpdateSettings", "Disable")}{v("IgnoreMessages", "true")}{v("OsProductKey", "AAAAA-BBBBB")}
      {v("SetupTimeout", "240")}{v("ScanOnly", "false")}</defaultVarList>
  </step>
  <step type="SMS_TaskSequence_RunCommandLineAction" name="Run setup helper" successCodeList="0 3010 1641"
        timeout="15">
    <action>smsswd.exe /run:PS100040 "%PYTHON%" -c "print('a b')"</action>
    <defaultVarList>{v("CommandLine", "&quot;%PYTHON%&quot; -c &quot;print('a b')&quot;", hidden=True)}
      {v("PackageID", "PS100040", hidden=True)}{v("WorkingDirectory", "sub")}
      {v("SMSTSRunCommandLineOutputVariableName", "HELPEROUT", "OutputVariableName")}
      {v("_SMSTSRunCommandLineAsUser", "false", "RunAsUser")}</defaultVarList>
  </step>
  <step type="SMS_TaskSequence_SetVariableAction" name="Set key">
    <condition>{var_cond("OSDUpgradeMode", "Like", "f%")}
      <operator type="not">{var_cond("X", "NOTEXISTS")}{var_cond("Y", "greaterEqual", "10")}</operator></condition>
    <defaultVarList>{v("VariableName", "ProductKey")}{v("VariableValue", "SECRET-KEY", hidden=True)}</defaultVarList>
  </step>
  <step type="SMS_TaskSequence_InstallSoftwareAction" name="Install Company Portal">
    <action>smsswd.exe /pkg:PS100040 /install /basevar: /continueOnError:</action>
    <defaultVarList>{v("PackageID", "PS100040", hidden=True)}{v("_SMSSWDProgramName", "Install", "ProgramName")}
    </defaultVarList>
  </step>
  <step type="SMS_TaskSequence_RebootAction" name="Restart Computer">
    <condition><operator type="or">
      <expression type="SMS_TaskSequence_FolderConditionExpression"><variable name="Path">C:\\Logs</variable>
        <variable name="DateTime">20260101120000.000000+060</variable><variable name="DateTimeOperator">less</variable>
      </expression>{var_cond("_SMSTSLastActionRetCode", "greater", "0")}</operator></condition>
    <action>smsboot.exe /target:HD</action>
    <defaultVarList>{v("SMSRebootMessage", "Upgrading", "Message")}{v("SMSRebootTimeout", "30", "MessageTimeout")}
      {v("SMSRebootTarget", "HD", "Target")}</defaultVarList>
  </step>
</sequence>
"""


def test_a_configmgr_sequence_maps_every_supported_class() -> None:
    result = imported(CONFIGMGR, programs={"PS100040:Install": '"%PYTHON%" install.py /quiet'},
                      default_name="upgrade")
    assert not result.unsupported and not result.refused
    ts = result.task_sequence
    assert ts["name"] == "upgrade"  # a bare ConfigMgr <sequence> has no name: the file's is used
    assert ts["variables"] == [{"name": "OSDUpgradeMode", "value": "full"},
                               {"name": "DomainPassword", "value": "hunter2", "secret": True}]
    group, upgrade, run, setvar, install, restart = ts["steps"]
    check, download = group["steps"]
    assert group["description"] == "checks"
    assert check == {"type": "check_readiness", "name": "Check Readiness", "min_free_disk_mb": 20480,
                     "min_memory_mb": 2048}
    assert download == {"type": "download_package_content", "name": "Download Drivers", "continue_on_error": True,
                        "packages": ["PS100031", "PS100040"], "path_variable": "DRIVERS",
                        "continue_download_on_error": False}
    assert upgrade["package"] == "PS100012" and upgrade["timeout_s"] == 240 * 60
    assert upgrade["command"] == ["setup.exe", "/ImageIndex", "3", "/Auto", "Upgrade", "/Quiet", "/NoReboot",
                                  "/DynamicUpdate", "Disable", "/Compat", "IgnoreWarning", "/PKey", "AAAAA-BBBBB"]
    assert upgrade["condition"] == {"all": [
        {"variable": "_SMSTSInWinPE", "op": "equals", "value": "false"},
        {"file": "%windir%\\explorer.exe", "version": {"op": "greater_equal", "value": "10.0.19041"}}]}
    assert run == {"type": "run_command", "name": "Run setup helper", "command": ["%PYTHON%", "-c", "print('a b')"],
                   "package": "PS100040", "working_directory": "sub", "output_variable": "HELPEROUT",
                   "timeout_s": 15 * 60, "success_codes": [0, 3010, 1641]}
    assert setvar["variable"] == "ProductKey" and setvar["value"] == "SECRET-KEY" and setvar["secret"] is True
    assert setvar["condition"] == {"all": [
        {"variable": "OSDUpgradeMode", "op": "like", "value": "f%"},
        {"not": {"any": [{"variable": "X", "op": "not_exists"},
                         {"variable": "Y", "op": "greater_equal", "value": "10"}]}}]}
    assert install == {"type": "install_package", "name": "Install Company Portal", "package": "PS100040",
                       "command": ["%PYTHON%", "install.py", "/quiet"]}
    assert restart["message"] == "Upgrading" and restart["timeout_s"] == 30
    # The WMI time 12:00 at UTC+60 minutes is 11:00 UTC.
    assert restart["condition"] == {"any": [
        {"folder": "C:\\Logs", "date": {"op": "less", "value": "2026-01-01T11:00:00Z"}},
        {"variable": "_SMSTSLastActionRetCode", "op": "greater", "value": "0"}]}
    assert dict(result.counts) == {"group": 1, "check_readiness": 1, "download_package_content": 1,
                                   "upgrade_os": 1, "run_command": 1, "set_variable": 1,
                                   "install_package": 1, "restart": 1}
    accepted(ts)


def test_an_object_xml_export_in_utf16_is_unwrapped() -> None:
    escaped = CONFIGMGR.replace('<?xml version="1.0" encoding="utf-8"?>', "")
    object_xml = ('<?xml version="1.0" encoding="utf-16"?>\n<INSTANCE CLASSNAME="SMS_TaskSequencePackage">'
                  '<PROPERTY NAME="Name" TYPE="string"><VALUE>Upgrade to Windows 11</VALUE></PROPERTY>'
                  f'<PROPERTY NAME="Sequence" TYPE="string"><VALUE><![CDATA[<?xml version="1.0"?>{escaped}]]>'
                  "</VALUE></PROPERTY></INSTANCE>")
    result = imported(object_xml.encode("utf-16"), programs={"PS100040:Install": "x"})
    bare = imported(CONFIGMGR, programs={"PS100040:Install": "x"})
    assert result.task_sequence["name"] == "Upgrade to Windows 11"
    assert result.task_sequence["steps"] == bare.task_sequence["steps"]
    body = CONFIGMGR.replace('<?xml version="1.0" encoding="utf-8"?>', "")
    legacy = imported(f"<SmsTaskSequencePackage><Name>Legacy</Name><SequenceData>{body}</SequenceData>"
                      "</SmsTaskSequencePackage>", programs={"PS100040:Install": "x"})
    assert legacy.task_sequence["name"] == "Legacy" and legacy.task_sequence["steps"] == bare.task_sequence["steps"]
    refused("<SmsTaskSequencePackage><Name>x</Name></SmsTaskSequencePackage>", "no <SequenceData><sequence>")


def test_what_cannot_be_carried_over_is_refused_or_kept_disabled() -> None:
    xml = f"""<sequence name="Mixed">
      <step type="SMS_TaskSequence_ApplyOperatingSystemAction" name="Apply OS"><action>osdapplyos.exe</action></step>
      <group name="Drivers"><condition><expression type="SMS_TaskSequence_WMIConditionExpression">
          <variable name="Namespace">root\\cimv2</variable>
          <variable name="Query">SELECT * FROM Win32_ComputerSystem WHERE Model LIKE '%E7450%'</variable>
        </expression></condition>
        <step type="SMS_TaskSequence_RunCommandLineAction" name="Apply drivers"><action>dism.exe /x</action></step>
      </group>
      <step type="SMS_TaskSequence_RunCommandLineAction" name="Old step" disable="true">
        <condition><expression type="SMS_TaskSequence_RegistryConditionExpression">
          <variable name="KeyPath">HKLM\\Software\\X</variable></expression></condition>
        <action>x.exe</action></step>
      <step type="SMS_TaskSequence_RunCommandLineAction" name="As user"><action>x.exe</action>
        <defaultVarList>{v("_SMSTSRunCommandLineAsUser", "true", "RunAsUser")}</defaultVarList></step>
      <step type="SMS_TaskSequence_PrestartCheckAction" name="Check Readiness"><defaultVarList>
        {v("OSDCheckMemory", "true", "CheckMemory")}{v("OSDMemory", "2048", "Memory")}
        {v("OSDCheckPowerState", "true", "CheckPowerState")}{v("OSDCheckDeviceUEFI", "true", "CheckDeviceUEFI")}
      </defaultVarList></step>
      <step type="SMS_TaskSequence_RebootAction" name="Restart in Windows PE"><defaultVarList>
        {v("SMSRebootTarget", "WinPE", "Target")}</defaultVarList></step>
      <step type="SMS_TaskSequence_InstallSoftwareAction" name="Install App"><defaultVarList>
        {v("PackageID", "PS100040")}{v("_SMSSWDProgramName", "Install", "ProgramName")}</defaultVarList></step>
      <step type="SMS_TaskSequence_UpgradeOperatingSystemAction" name="Upgrade from media"><defaultVarList>
        {v("InstallPath", "%OSMEDIA01%")}</defaultVarList></step>
      <step type="SMS_TaskSequence_RunCommandLineAction" name="Runs anywhere" runIn="WinPEandFullOS">
        <action>%PYTHON% -c pass</action></step>
    </sequence>"""
    strict = imported(xml)
    assert strict.refused
    assert [(u.path, u.blocking) for u in strict.unsupported] == [
        ("Apply OS", True), ("Drivers", True), ("Old step", False), ("As user", True), ("Check Readiness", True),
        ("Restart in Windows PE", True), ("Install App", True), ("Upgrade from media", True)]
    reasons = {u.path: str(u) for u in strict.unsupported}
    assert reasons["Apply OS"] == "Apply OS: SMS_TaskSequence_ApplyOperatingSystemAction is not supported here"
    assert "a WMI query" in reasons["Drivers"] and "E7450" in reasons["Drivers"]
    assert "AC power, UEFI" in reasons["Check Readiness"]
    assert '--program "PS100040:Install=COMMAND LINE"' in reasons["Install App"]
    assert "InstallPath" in reasons["Upgrade from media"]

    kept = imported(xml, disable_unsupported=True)
    assert not kept.refused and kept.unsupported == strict.unsupported
    steps = kept.task_sequence["steps"]
    assert steps[0] == {"type": "unsupported", "name": "Apply OS", "enabled": False,
                        "class": "SMS_TaskSequence_ApplyOperatingSystemAction",
                        "reason": "SMS_TaskSequence_ApplyOperatingSystemAction is not supported here"}
    # A group keeps its structure: disabled, its condition kept with what cannot be evaluated named.
    assert steps[1]["type"] == "group" and steps[1]["enabled"] is False
    assert steps[1]["condition"]["unsupported"] == "SMS_TaskSequence_WMIConditionExpression"
    assert steps[1]["steps"][0]["type"] == "run_command"
    assert steps[2]["type"] == "unsupported"
    assert steps[2]["condition"]["unsupported"].endswith("RegistryConditionExpression")
    assert steps[-1]["type"] == "run_command" and steps[-1]["command"] == ["%PYTHON%", "-c", "pass"]
    assert kept.counts["unsupported"] == 7 and kept.counts["group"] == 1 and kept.counts["run_command"] == 2
    ts = accepted(kept.task_sequence)
    assert [s.enabled for s in ts.steps] == [False] * 8 + [True]


def test_names_are_shortened_empty_groups_left_out_and_twice_given_variables_noted() -> None:
    long = "A very long step name that ConfigMgr allows but the site format does not"
    result = imported(f"""<sequence><globalVarList>{v("A", "1")}{v("a", "2")}</globalVarList>
        <group name="Empty"/><step type="SMS_TaskSequence_SetVariableAction" name="{long}">
        <defaultVarList>{v("VariableName", "B")}{v("VariableValue", "")}</defaultVarList></step>
        <group name="{long} (group)"><step type="SMS_TaskSequence_ApplyOperatingSystemAction" name="Apply"/></group>
        <step type="SMS_TaskSequence_RunCommandLineAction" name="Retried" retryCount="2"><action>x</action></step>
        </sequence>""", disable_unsupported=True)
    only, group, _ = result.task_sequence["steps"]
    assert len(only["name"]) == 50 and only["name"].endswith("…")
    assert len(group["name"]) == 50
    assert [u.path for u in result.unsupported] == [f"{long} (group) / Apply"]  # paths spell names in full
    assert result.task_sequence["variables"] == [{"name": "a", "value": "2"}]
    assert any("Empty: an empty group" in n for n in result.notes)
    assert any("given twice" in n for n in result.notes)
    assert any("name shortened" in n for n in result.notes)
    assert "Retried: retryCount=2 is not carried over: a failed step is not run again" in result.notes
    accepted(result.task_sequence)


# --- real exports ------------------------------------------------------------------------------


def test_the_psd_client_template_imports_with_its_mdt_steps_named() -> None:
    strict = imported(PSD.read_bytes())
    assert strict.refused and len(strict.blocking) == 8
    result = imported(PSD.read_bytes(), disable_unsupported=True)
    assert result.task_sequence["name"] == "PSD Standard Client Task Sequence"
    assert dict(result.counts) == {"group": 5, "restart": 2, "run_command": 4, "set_variable": 3, "unsupported": 8}
    assert [u.path for u in result.unsupported] == [
        "Initialization / Gather",
        "Initialization / Validate",
        "Install Operating System / Format and Partition Disk (BIOS)",
        "Install Operating System / Format and Partition Disk (UEFI)",
        "Install Operating System / Drivers / Inject Drivers",
        "Install Operating System / Install Operating System",
        "Setup Operating System / Gather",
        "Setup Operating System / Install Applications",
    ]
    assert {u.source_class for u in result.unsupported} == {
        "BDD_Gather", "BDD_Validate", "SMS_TaskSequence_PartitionDiskAction", "BDD_InjectDrivers",
        "BDD_InstallOS", "BDD_InstallApplication"}
    ts = accepted(result.task_sequence)
    assert {v.name for v in ts.variables} >= {"OSGUID", "DestinationDisk"}


def test_a_real_mdt_deployment_share_export_imports() -> None:
    result = imported(MDT.read_bytes(), disable_unsupported=True)
    assert result.task_sequence["name"] == "Standard Client Task Sequence"
    assert dict(result.counts) == {"group": 11, "restart": 1, "run_command": 26, "set_variable": 5,
                                   "unsupported": 10}
    assert len(result.unsupported) == 11 and len(result.blocking) == 9
    by_path = {u.path: u for u in result.unsupported}
    hp = by_path["Postinstall / HP BIOS Password"]
    assert hp.source_class == "SMS_TaskSequence_WMIConditionExpression" and hp.blocking
    assert not by_path["Postinstall / HP BIOS Password / Set HP BIOS Password"].blocking  # in a disabled group
    assert not by_path["Preinstall / Inject Drivers"].blocking  # disabled in the source
    assert by_path["Install / Install Operating System"].source_class == "BDD_InstallOS"
    # The MDT "Check BIOS" step has no type: its action is its command line.
    validation = next(s for s in result.task_sequence["steps"] if s["name"] == "Validation")
    check_bios = next(s for s in validation["steps"] if s["name"] == "Check BIOS")
    assert check_bios["command"] == ["cscript.exe", "%SCRIPTROOT%\\ZTIBIOSCheck.wsf"]
    accepted(result.task_sequence)


# --- the command line --------------------------------------------------------------------------


def test_cli_refuses_with_every_step_named_then_disables(tmp_path: Path) -> None:
    strict = run_cli("site", "import-ts", str(PSD))
    assert strict.rc == 2 and strict.stdout == ""
    assert '"PSD Standard Client Task Sequence": 22 steps (5 group, 2 restart, 4 run_command, 3 set_variable, ' \
           "8 unsupported)" in strict.stderr
    assert "Install Operating System / Format and Partition Disk (BIOS): SMS_TaskSequence_PartitionDiskAction " \
           "is not supported here" in strict.stderr
    assert strict.stderr.count("\n  ") >= 8
    assert strict.stderr.rstrip().splitlines()[-1].startswith("software-center: import refused: 8 steps")
    kept = run_cli("site", "import-ts", str(PSD), "--unsupported", "disable", "--name", "PSD client")
    assert kept.rc == 0, kept.stderr
    ts = json.loads(kept.stdout)
    assert ts["name"] == "PSD client" and "8 steps are kept as disabled steps" in kept.stderr
    accepted(ts)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (BILLION_LAUGHS, "declares a DTD"),
        ("<sequence><group>" * 100, "more than 128 deep"),
        ("not xml at all", "not well-formed XML"),
        ("<catalog/>", "the root element is <catalog>"),
    ],
)
def test_cli_refuses_bad_files_in_one_line(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "ts.xml"
    path.write_text(content)
    result = run_cli("site", "import-ts", str(path))
    assert result.rc == 2 and result.stdout == ""
    assert result.stderr.startswith(f"software-center: {path}: cannot import it:") and words in result.stderr
    assert result.stderr.count("\n") == 1


def test_cli_usage_errors(tmp_path: Path) -> None:
    missing = run_cli("site", "import-ts", str(tmp_path / "none.xml"))
    assert missing.rc == 2 and "cannot read" in missing.stderr
    bad = run_cli("site", "import-ts", str(PSD), "--program", "no-equals-sign")
    assert bad.rc == 2 and "--program 'no-equals-sign'" in bad.stderr


# --- site build -------------------------------------------------------------------------------


def build_with_import(tmp_path: Path, ts: dict[str, Any], xml: str | None = None) -> Path:
    source = write_source(tmp_path / "src")
    spec = json.loads(source.read_text())
    spec["task_sequences"]["TST00100"] = ts
    source.write_text(json.dumps(spec))
    if xml is not None:
        (tmp_path / "src" / "ts.xml").write_text(xml)
    return source


def test_site_build_imports_a_sequence_given_as_xml(tmp_path: Path) -> None:
    xml = f"""<sequence name="From XML"><step type="SMS_TaskSequence_RunCommandLineAction" name="Hello">
        <defaultVarList>{v("CommandLine", "%PYTHON% -c &quot;print('hi')&quot;")}{v("PackageID", "TST00001")}
        </defaultVarList></step>
      <step type="SMS_TaskSequence_ApplyOperatingSystemAction" name="Apply OS"/></sequence>"""
    source = build_with_import(tmp_path, {"import": "ts.xml"}, xml)
    with pytest.raises(SiteBuildError) as err:
        build_site(source, tmp_path / "site")
    assert err.value.path == "task_sequences.TST00100.import"
    assert "1 steps cannot be carried over" in str(err.value) and "Apply OS: SMS_TaskSequence_Apply" in str(err.value)
    assert not (tmp_path / "site").exists()

    spec = json.loads(source.read_text())
    spec["task_sequences"]["TST00100"] = {"import": "ts.xml", "unsupported": "disable", "name": "Renamed"}
    source.write_text(json.dumps(spec))
    build_site(source, tmp_path / "site")
    cat = parse_catalog((tmp_path / "site" / "catalog.json").read_bytes(), CATALOG_URL)
    ts = cat.task_sequences["TST00100"]
    assert ts.name == "Renamed" and [s.name for s in ts.steps] == ["Hello", "Apply OS"]
    assert [s.enabled for s in ts.steps] == [True, False]


@pytest.mark.parametrize(
    ("ts", "path", "words"),
    [
        ({"import": "ts.xml", "steps": []}, "task_sequences.TST00100.steps", "not allowed next to \"import\""),
        ({"import": 3}, "task_sequences.TST00100.import", "path of a task-sequence XML file"),
        ({"import": "ts.xml", "unsupported": "ignore"}, "task_sequences.TST00100.unsupported", "refuse or disable"),
        ({"import": "ts.xml", "programs": {"A:B": 1}}, "task_sequences.TST00100.programs", "command line"),
        ({"import": "ts.xml", "name": ""}, "task_sequences.TST00100.name", "non-empty"),
        ({"import": "missing.xml"}, "task_sequences.TST00100.import", "cannot read"),
        ({"import": "ts.xml"}, "task_sequences.TST00100.import", "ts.xml: the file declares a DTD"),
    ],
)
def test_site_build_import_errors_name_the_field(tmp_path: Path, ts: dict[str, Any], path: str, words: str) -> None:
    source = build_with_import(tmp_path, ts, BILLION_LAUGHS)
    with pytest.raises(SiteBuildError) as err:
        build_site(source, tmp_path / "site")
    assert err.value.path == path and words in str(err.value), str(err.value)


def test_site_build_names_a_malformed_step_in_the_imported_file(tmp_path: Path) -> None:
    xml = '<sequence><group name="G"><step name="S" disable="yes"><action>x</action></step></group></sequence>'
    source = build_with_import(tmp_path, {"import": "ts.xml"}, xml)
    with pytest.raises(SiteBuildError) as err:
        build_site(source, tmp_path / "site")
    assert str(err.value) == ("task_sequences.TST00100.import: ts.xml at G / S: disable='yes': expected true "
                              "or false")
    assert source_spec({})  # the helper's spec stays importable
