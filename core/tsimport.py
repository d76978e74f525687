"""Task-sequence import: ConfigMgr and MDT task-sequence XML -> a site-format task sequence.

    import_task_sequence(data, disable_unsupported=False) -> ImportResult

`data` is one of:
  - a bare `<sequence>` as the ConfigMgr console or `Get-CMTaskSequence` exports it, or an
    MDT deployment share's `Control/<ID>/ts.xml` (also a `<sequence>`);
  - the `object.xml` of a ConfigMgr console export (`<INSTANCE CLASSNAME=
    "SMS_TaskSequencePackage">`), whose `Sequence` property holds the sequence as text;
  - a ConfigMgr 2007 export, `<SmsTaskSequencePackage>` with `<Name>` and
    `<SequenceData><sequence>`.

The result is a task sequence of docs/SITE-FORMAT.md (`name`, `steps`, `variables`),
a count of the steps by type, and every step that could not be carried over faithfully,
by its path in the tree ("Install / Apply OS"). Without `disable_unsupported`,
`ImportResult.refused` says the import must be refused; with it, such steps are kept as
disabled steps (`"type": "unsupported"` for an action, a disabled group for a group)
that say what they were, with their conditions. A step or group that is already
disabled in the source, or that sits inside a disabled group, never runs, so it is kept
the same way without refusing.

What is carried over (the step classes are ConfigMgr's `SMS_TaskSequence_*Action`):
  - groups, and on every step `disable`, `continueOnError`, `successCodeList`, `timeout`
    (minutes), `description`, `<condition>`;
  - RunCommandLine (command line split by the Windows rules, package, working
    directory, success codes, output variable); SetVariable (a hidden value -> `secret`);
    Reboot (message and its countdown; a restart into Windows PE is not supported);
    DownloadPackageContent (packages, destination variable, continue on error; the
    task-sequence or client cache only); UpgradeOperatingSystem (the upgrade package,
    and the setup options as a `setup.exe` command); PrestartCheck, "Check Readiness"
    (free disk space and memory; other checks are named as unsupported);
    InstallSoftware, "Install Package", when the program's command line is given
    (`programs`: it is not part of the export);
  - conditions: variable (every operator), file and folder conditions, and/or/not;
    WMI, registry, software and OS conditions cannot be evaluated here;
  - the sequence's variables (`globalVarList`), hidden ones as secrets.

Reading is safe against hostile files: defusedxml refuses any DTD (so no entity
expansion and no external entities), the input is at most MAX_XML_BYTES, elements nest
at most MAX_XML_DEPTH deep, and every problem is a `TaskSequenceImportError` in words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import XMLParser

from .catalog import MAX_CATALOG_BYTES, MAX_GROUP_DEPTH
from .errors import TaskSequenceImportError

__all__ = [
    "MAX_XML_BYTES",
    "MAX_XML_DEPTH",
    "ImportResult",
    "UnsupportedItem",
    "import_task_sequence",
    "split_command_line",
]

MAX_XML_BYTES = MAX_CATALOG_BYTES
# Elements: sequence, 16 groups, a step, its condition with up to 64 nested operators, and
# a few more; anything deeper is not a task sequence.
MAX_XML_DEPTH = 128
_STEP_NAME_MAX = 50  # the site format's limit (ConfigMgr allows 100)


@dataclass(frozen=True, slots=True)
class UnsupportedItem:
    """A step (or the sequence's variables) that could not be carried over faithfully."""

    path: str  # "Group / Step name"
    source_class: str  # "SMS_TaskSequence_ApplyOperatingSystemAction", or the condition's class
    reason: str
    blocking: bool  # False: it never ran in the source (disabled there, or in a disabled group)

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(slots=True)
class ImportResult:
    task_sequence: dict[str, Any]  # {"name", "steps", "variables"?} of docs/SITE-FORMAT.md
    counts: Counter[str] = field(default_factory=Counter)  # site-format step type -> steps
    unsupported: list[UnsupportedItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what changed without changing behaviour
    disable_unsupported: bool = False

    @property
    def blocking(self) -> list[UnsupportedItem]:
        return [u for u in self.unsupported if u.blocking]

    @property
    def refused(self) -> bool:
        """Whether the import must be refused: something that would run cannot be carried over."""
        return bool(self.blocking) and not self.disable_unsupported

    def summary(self) -> str:
        """One line: how many steps of each kind."""
        total = sum(self.counts.values())
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts.items()))
        return f"{total} steps ({kinds})" if total else "no steps"


# --- reading XML safely ----------------------------------------------------------------


class _TooDeep(Exception):
    pass


class _DepthLimitedBuilder(TreeBuilder):
    """An ElementTree builder that stops at MAX_XML_DEPTH nested elements."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0

    def start(self, tag: Any, attrs: Any) -> Element:
        self._depth += 1
        if self._depth > MAX_XML_DEPTH:
            raise _TooDeep
        return super().start(tag, attrs)

    def end(self, tag: Any) -> Element:
        self._depth -= 1
        return super().end(tag)


def _parse_xml(data: bytes, what: str) -> Element:
    if len(data) > MAX_XML_BYTES:
        raise TaskSequenceImportError("", f"{what} is larger than {MAX_XML_BYTES // (1024 * 1024)} MiB")
    parser = XMLParser(target=_DepthLimitedBuilder(), forbid_dtd=True, forbid_entities=True,
                       forbid_external=True)
    try:
        parser.feed(data)
        root: Element = parser.close()
    except DTDForbidden:
        raise TaskSequenceImportError("", f"{what} declares a DTD (<!DOCTYPE ...>), which a task sequence "
                                          "never has; refused (it could expand entities or read other "
                                          "files)") from None
    except EntitiesForbidden:
        raise TaskSequenceImportError("", f"{what} declares entities; refused") from None
    except ExternalReferenceForbidden:
        raise TaskSequenceImportError("", f"{what} refers to an external resource; refused") from None
    except DefusedXmlException as exc:
        raise TaskSequenceImportError("", f"{what} is refused: {exc}") from None
    except _TooDeep:
        raise TaskSequenceImportError("", f"{what} nests elements more than {MAX_XML_DEPTH} deep; "
                                          "not a task sequence") from None
    except ParseError as exc:
        raise TaskSequenceImportError("", f"{what} is not well-formed XML ({exc})") from None
    except (ValueError, LookupError) as exc:  # an unknown or broken encoding
        raise TaskSequenceImportError("", f"{what} cannot be decoded ({exc})") from None
    return root


def _local(tag: Any) -> str:
    """An element's name without its namespace, lower case."""
    return str(tag).rpartition("}")[2].lower() if isinstance(tag, str) else ""


_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


def _unwrap(root: Element) -> tuple[Element, str | None]:
    """The `<sequence>` element, and the task sequence's name when the file names it."""
    tag = _local(root.tag)
    if tag == "sequence":
        return root, root.get("name") or None
    if tag == "instance" and (root.get("CLASSNAME") or "").lower() == "sms_tasksequencepackage":
        props = {(p.get("NAME") or "").lower(): p for p in root.iter() if _local(p.tag) == "property"}
        seq = props.get("sequence")
        value = seq.find("VALUE") if seq is not None else None
        if value is None or not (value.text or "").strip():
            raise TaskSequenceImportError("", "the SMS_TaskSequencePackage export has no Sequence property "
                                              "with a value")
        text = _XML_DECLARATION.sub("", value.text or "", count=1)
        inner = _parse_xml(text.encode("utf-8"), "the export's Sequence property")
        if _local(inner.tag) != "sequence":
            raise TaskSequenceImportError("", f"the export's Sequence property holds <{_local(inner.tag)}>, "
                                              "not <sequence>")
        name_prop = props.get("name")
        name_value = name_prop.find("VALUE") if name_prop is not None else None
        name = (name_value.text or "").strip() if name_value is not None else ""
        return inner, name or inner.get("name") or None
    if tag == "smstasksequencepackage":  # the XML export of ConfigMgr 2007 and of older scripts
        data = next((c for c in root if _local(c.tag) == "sequencedata"), None)
        found = next((c for c in data if _local(c.tag) == "sequence"), None) if data is not None else None
        if found is None:
            raise TaskSequenceImportError("", "the SmsTaskSequencePackage has no <SequenceData><sequence>")
        name_el = next((c for c in root if _local(c.tag) == "name"), None)
        name = (name_el.text or "").strip() if name_el is not None else ""
        return found, name or found.get("name") or None
    raise TaskSequenceImportError("", f"the root element is <{_local(root.tag)}>: expected <sequence> (a "
                                      "ConfigMgr or MDT task sequence), <INSTANCE CLASSNAME="
                                      "\"SMS_TaskSequencePackage\"> (a ConfigMgr export's object.xml) or "
                                      "<SmsTaskSequencePackage> (a ConfigMgr 2007 export)")


# --- Windows command lines -------------------------------------------------------------


def split_command_line(line: str) -> list[str]:
    """Split a Windows command line into arguments as `CommandLineToArgvW` does.

    The first argument (the program) ends at the first space or tab, or, if it starts with
    a quote, at the next quote; backslashes are plain characters in it. In the others:
    2n backslashes before a quote are n backslashes and the quote opens or closes a quoted
    part; 2n+1 backslashes before a quote are n backslashes and a literal quote;
    backslashes not before a quote are themselves; spaces and tabs outside a quoted part
    separate arguments; inside a quoted part, a run of quotes gives a literal quote for
    each three (`""` right after a quoted part's opening quote, or a closing quote
    followed by a quote, is a literal quote that leaves the quoted part).
    """
    args: list[str] = []
    i, n = 0, len(line)
    # The program name.
    if i < n and line[i] == '"':
        end = line.find('"', i + 1)
        end = n if end < 0 else end
        args.append(line[i + 1:end])
        i = end + 1
    else:
        j = i
        while j < n and line[j] not in " \t":
            j += 1
        args.append(line[i:j])
        i = j
    while i < n and line[i] in " \t":
        i += 1
    if i >= n:
        return args
    current: list[str] = []
    quotes = 0  # quote state: 0 outside, 1 inside a quoted part
    backslashes = 0
    while i < n:
        c = line[i]
        if c in " \t" and quotes == 0:
            current.append("\\" * backslashes)
            backslashes = 0
            args.append("".join(current))
            current = []
            while i < n and line[i] in " \t":
                i += 1
            if i >= n:
                return args  # trailing spaces start no argument
            continue
        if c == "\\":
            backslashes += 1
            i += 1
            continue
        if c == '"':
            current.append("\\" * (backslashes // 2))
            if backslashes % 2:
                current.append('"')  # escaped: a literal quote
            else:
                quotes += 1
            backslashes = 0
            i += 1
            while i < n and line[i] == '"':
                quotes += 1
                if quotes == 3:
                    current.append('"')
                    quotes = 0
                i += 1
            if quotes == 2:
                quotes = 0
            continue
        current.append("\\" * backslashes)
        backslashes = 0
        current.append(c)
        i += 1
    current.append("\\" * backslashes)
    args.append("".join(current))
    return args


# --- the sequence ----------------------------------------------------------------------


class _Unsupported(Exception):
    def __init__(self, reason: str, source_class: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.source_class = source_class


_SKIPPED_CHILDREN = frozenset({"condition", "action", "defaultvarlist", "globalvarlist", "referencelist",
                               "description"})
_CONDITION_NAMES = {
    "exists": "exists",
    "notexists": "not_exists",
    "equals": "equals",
    "notequals": "not_equals",
    "greater": "greater",
    "greaterequal": "greater_equal",
    "less": "less",
    "lessequal": "less_equal",
    "like": "like",
}
_COMPARE_NAMES = {k: v for k, v in _CONDITION_NAMES.items() if k not in ("exists", "notexists", "like")}
_VERSION = re.compile(r"^[0-9]{1,5}(?:\.[0-9]{1,5}){0,3}\Z")
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_PACKAGE_ID = re.compile(r"^[A-Z0-9]{3,16}\Z")
_INT64_MAX = 2**63 - 1
_MAX_CONDITION_DEPTH = 64  # the site format's limit
_SMSSWD_RUN = re.compile(r"^\s*smsswd(?:\.exe)?\s+/run:\S*\s*", re.IGNORECASE)
# WMI's DMTF datetime: yyyymmddHHMMSS.mmmmmm and the offset from UTC in minutes (+000).
_DMTF = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,6}))?([+-]\d{3})?\Z")


class _Vars:
    """A step's `<defaultVarList>`: by property or variable name, ignoring case."""

    def __init__(self, el: Element) -> None:
        self.values: dict[str, tuple[str, bool]] = {}
        for lst in el:
            if _local(lst.tag) != "defaultvarlist":
                continue
            for var in lst:
                if _local(var.tag) != "variable":
                    continue
                entry = ((var.text or ""), _is_true(var.get("hidden")))
                for key in (var.get("name"), var.get("property")):
                    if key:
                        self.values.setdefault(key.lower(), entry)

    def get(self, *names: str) -> str | None:
        for name in names:
            if (entry := self.values.get(name.lower())) is not None:
                return entry[0]
        return None

    def text(self, *names: str) -> str:
        return (self.get(*names) or "").strip()

    def hidden(self, *names: str) -> bool:
        return any(self.values.get(n.lower(), ("", False))[1] for n in names)

    def flag(self, *names: str, default: bool = False) -> bool:
        value = self.text(*names)
        return _is_true(value) if value else default


def _source_name(el: Element, fallback: str) -> str:
    """A step's or group's name, white space runs made one space (or `fallback` if none)."""
    return " ".join((el.get("name") or "").split()) or fallback


def _is_true(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


class _Importer:
    def __init__(self, disable_unsupported: bool, programs: Mapping[str, str]) -> None:
        self.result = ImportResult(task_sequence={}, disable_unsupported=disable_unsupported)
        self.programs = {k.lower(): v for k, v in programs.items()}

    # -- tree --

    def steps(self, parent: Element, trail: list[str], active: bool, depth: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for child in parent:
            tag = _local(child.tag)
            if tag == "group":
                group = self.group(child, trail, active, depth)
                if group is not None:
                    out.append(group)
            elif tag in ("step", "subtasksequence"):
                out.append(self.step(child, trail, active))
            # Anything else (<condition>, <action/>, <defaultVarList>, <referenceList>...) is
            # not a step; an unknown element changes nothing that runs.
        return out

    def group(self, el: Element, trail: list[str], active: bool, depth: int) -> dict[str, Any] | None:
        common, path = self.common(el, trail, "group")
        entry: dict[str, Any] = {"type": "group", **common}
        if depth + 1 > MAX_GROUP_DEPTH:
            raise TaskSequenceImportError(path, f"groups nest deeper than {MAX_GROUP_DEPTH} levels")
        enabled = entry.get("enabled", True)
        condition, problems = self.condition(el, path)
        if problems:
            self.unsupport(path, problems[0][0], _condition_reason(problems), active and enabled)
            entry["enabled"] = False
        if condition is not None:
            entry["condition"] = condition
        # Paths name the group as the source spells it, even when its name was shortened.
        steps = self.steps(el, [*trail, _source_name(el, "group")], active and entry.get("enabled", True),
                           depth + 1)
        if not steps:
            self.result.notes.append(f"{path}: an empty group, left out (it does nothing)")
            return None
        entry["steps"] = steps
        self.result.counts["group"] += 1
        return entry

    def step(self, el: Element, trail: list[str], active: bool) -> dict[str, Any]:
        source_class = el.get("type") or ""
        entry, path = self.common(el, trail, source_class or "step")
        runs = active and entry.get("enabled", True)
        condition, problems = self.condition(el, path)
        try:
            if problems:
                raise _Unsupported(_condition_reason(problems), problems[0][0])
            fields = self.action(el, source_class, path)
        except _Unsupported as exc:
            what = source_class or "a step without a type"
            self.unsupport(path, exc.source_class or what, exc.reason, runs)
            entry = {"type": "unsupported", **entry, "enabled": False, "class": what, "reason": exc.reason}
            if condition is not None:
                entry["condition"] = condition
            self.result.counts["unsupported"] += 1
            return entry
        entry = {"type": fields.pop("type"), **entry, **fields}
        if condition is not None:
            entry["condition"] = condition
        retries = (el.get("retryCount") or "0").strip()
        if retries not in ("", "0"):
            self.result.notes.append(f"{path}: retryCount={retries} is not carried over: a failed step is not "
                                     "run again")
        self.result.counts[entry["type"]] += 1
        return entry

    def common(self, el: Element, trail: list[str], fallback: str) -> tuple[dict[str, Any], str]:
        name = _source_name(el, fallback)
        path = " / ".join([*trail, name])
        if len(name) > _STEP_NAME_MAX:
            short = name[: _STEP_NAME_MAX - 1] + "…"
            self.result.notes.append(f"{path}: name shortened to {short!r} (at most {_STEP_NAME_MAX} characters)")
            name = short
        entry: dict[str, Any] = {"name": name}
        if description := (el.get("description") or "").strip():
            entry["description"] = description
        if self.bool_attr(el, "disable", path):
            entry["enabled"] = False
        if self.bool_attr(el, "continueOnError", path):
            entry["continue_on_error"] = True
        return entry, path

    def bool_attr(self, el: Element, name: str, path: str) -> bool:
        value = el.get(name)
        if value is None or not value.strip():
            return False
        if value.strip().lower() not in ("true", "false"):
            raise TaskSequenceImportError(path, f"{name}={value!r}: expected true or false")
        return value.strip().lower() == "true"

    def unsupport(self, path: str, source_class: str, reason: str, blocking: bool) -> None:
        self.result.unsupported.append(UnsupportedItem(path, source_class, reason, blocking))

    # -- conditions --

    def condition(self, el: Element, path: str) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
        """The step's condition in the site format, and what of it cannot be evaluated here."""
        problems: list[tuple[str, str]] = []
        for child in el:
            if _local(child.tag) == "condition":
                return self.all_of(list(child), path, problems), problems
        return None, problems

    def all_of(self, items: list[Element], path: str, problems: list[tuple[str, str]]) -> dict[str, Any] | None:
        parts = [c for c in (self.cond(i, path, problems, 1) for i in items) if c is not None]
        if not parts:
            return None  # an empty <condition/> or operator: always
        return parts[0] if len(parts) == 1 else {"all": parts}

    def cond(self, el: Element, path: str, problems: list[tuple[str, str]], depth: int) -> dict[str, Any] | None:
        if depth > _MAX_CONDITION_DEPTH // 2:  # an operator may become two levels (not + any)
            raise TaskSequenceImportError(path, f"the condition nests operators more than "
                                                f"{_MAX_CONDITION_DEPTH // 2} deep")
        tag = _local(el.tag)
        if tag == "operator":
            kind = (el.get("type") or "").lower()
            parts = [c for c in (self.cond(i, path, problems, depth + 1) for i in el) if c is not None]
            if kind not in ("and", "or", "not"):
                raise TaskSequenceImportError(path, f"condition operator type={el.get('type')!r}: expected and, "
                                                    "or or not")
            if not parts:
                return None
            if kind == "not":  # ConfigMgr's "if none of the conditions are true"
                return {"not": parts[0] if len(parts) == 1 else {"any": parts}}
            if len(parts) == 1:
                return parts[0]
            return {"all" if kind == "and" else "any": parts}
        if tag != "expression":
            raise TaskSequenceImportError(path, f"unexpected <{tag}> in a condition")
        kind = el.get("type") or ""
        values: dict[str, str] = {}
        for var in el:
            if _local(var.tag) == "variable" and var.get("name"):
                values[var.get("name", "").lower()] = (var.text or "").strip()
        low = kind.lower()
        if low == "sms_tasksequence_variableconditionexpression":
            name = values.get("variable", "")
            op = _CONDITION_NAMES.get(values.get("operator", "").lower().replace("_", ""))
            if not name:
                raise TaskSequenceImportError(path, "a variable condition names no variable")
            if op is None:
                raise TaskSequenceImportError(path, f"variable condition on {name}: unknown operator "
                                                    f"{values.get('operator', '')!r}")
            out: dict[str, Any] = {"variable": name, "op": op}
            if op not in ("exists", "not_exists") or "value" in values:
                out["value"] = values.get("value", "")
            return out
        if low in ("sms_tasksequence_fileconditionexpression", "sms_tasksequence_folderconditionexpression"):
            key = "file" if "file" in low else "folder"
            where = values.get("path", "")
            if not where:
                raise TaskSequenceImportError(path, f"a {key} condition names no path")
            out = {key: where}
            if key == "file" and values.get("version"):
                op = _COMPARE_NAMES.get(values.get("versionoperator", "equals").lower())
                version = values["version"]
                if op is None or not _VERSION.match(version):
                    problems.append((kind, f"the file condition on {where} compares its version "
                                           f"{values.get('versionoperator', '')} {version!r}, which is not a "
                                           "version this client can compare"))
                    return {"unsupported": kind, "detail": f"{where} version {version}"}
                out["version"] = {"op": op, "value": version}
            if values.get("datetime"):
                op = _COMPARE_NAMES.get(values.get("datetimeoperator", "equals").lower())
                stamp = _rfc3339(values["datetime"])
                if op is None or stamp is None:
                    raise TaskSequenceImportError(path, f"{key} condition on {where}: cannot read the date "
                                                        f"{values['datetime']!r} {values.get('datetimeoperator', '')}")
                out["date"] = {"op": op, "value": stamp}
            return out
        detail = "; ".join(f"{k}: {v}" for k, v in values.items() if v)[:200]
        label = _CONDITION_LABELS.get(low, kind or "a condition without a type")
        problems.append((kind or "unknown", f"{label} ({detail})" if detail else label))
        return {"unsupported": kind or "unknown", "detail": detail}

    # -- actions --

    def action(self, el: Element, source_class: str, path: str) -> dict[str, Any]:
        v = _Vars(el)
        run_in = (el.get("runIn") or v.text("SupportedEnvironment")).lower()
        if run_in == "winpe":
            raise _Unsupported("it runs in Windows PE only")
        low = source_class.lower()
        if _local(el.tag) == "subtasksequence" or low == "sms_tasksequence_subtasksequence":
            raise _Unsupported("it runs another task sequence: import that one and put its steps here")
        mapper = _ACTIONS.get(low)
        if mapper is None:
            if not source_class and self.action_text(el):
                mapper = _Importer.run_command  # MDT: a step whose action is its command line
            elif low.startswith("bdd_"):
                raise _Unsupported(f"{source_class} is an MDT action (a script of the deployment share), "
                                   "not supported here")
            else:
                raise _Unsupported(f"{source_class or 'a step without a type'} is not supported here")
        fields = mapper(self, el, v, path)
        if timeout := self.timeout(el, v, path):
            if fields["type"] in ("run_command", "install_package", "upgrade_os"):
                fields.setdefault("timeout_s", timeout)
        codes = el.get("successCodeList")
        if codes is not None and fields["type"] in ("run_command", "install_package"):
            fields.setdefault("success_codes", self.codes(codes, path))
        return fields

    @staticmethod
    def action_text(el: Element) -> str:
        for child in el:
            if _local(child.tag) == "action":
                return (child.text or "").strip()
        return ""

    def timeout(self, el: Element, v: _Vars, path: str) -> int | None:
        """The step's time-out (`timeout` attribute or property), given in minutes."""
        text = (el.get("timeout") or v.text("Timeout")).strip()
        if not text:
            return None
        seconds = self.number(text, "timeout (minutes)", path, scale=60)
        return seconds if seconds > 0 else None

    def codes(self, text: str, path: str) -> list[int]:
        parts = text.replace(",", " ").split()
        try:
            codes = [int(p, 0) for p in parts]
        except ValueError:
            raise TaskSequenceImportError(path, f"successCodeList={text!r}: expected numbers") from None
        if any(not -(2**63) <= c < 2**63 for c in codes):
            raise TaskSequenceImportError(path, f"successCodeList={text!r}: a code is out of range")
        return codes or [0]

    @staticmethod
    def package_id(value: str, what: str, path: str) -> str:
        if not _PACKAGE_ID.match(value):
            raise TaskSequenceImportError(path, f"{what} {value!r}: expected a package ID of 3 to 16 characters "
                                                "A-Z and 0-9")
        return value

    @staticmethod
    def number(text: str, what: str, path: str, *, scale: int = 1) -> int:
        """A whole number of the XML (`what` names it), times `scale`, within 64 bits."""
        text = text.strip()
        if not text.isdigit() or not text.isascii() or int(text) * scale > _INT64_MAX:
            raise TaskSequenceImportError(path, f"{what}={text!r}: expected a whole number")
        return int(text) * scale

    def command(self, line: str, path: str) -> list[str]:
        argv = split_command_line(line.strip())
        if not argv or not argv[0]:
            raise _Unsupported("it has no command line")
        return argv

    def run_command(self, el: Element, v: _Vars, path: str) -> dict[str, Any]:
        line = v.text("CommandLine")
        if not line:
            line = _SMSSWD_RUN.sub("", self.action_text(el), count=1)
        if v.flag("RunAsUser", "_SMSTSRunCommandLineAsUser"):
            raise _Unsupported("it runs as another user account, which is not supported here")
        fields: dict[str, Any] = {"type": "run_command", "command": self.command(line, path)}
        if package := v.text("PackageID"):
            fields["package"] = self.package_id(package, "PackageID", path)
        if folder := (v.text("WorkingDirectory") or (el.get("startIn") or "").strip()):
            fields["working_directory"] = folder
        if codes := v.text("SuccessCodes"):
            fields["success_codes"] = self.codes(codes, path)
        if output := v.text("OutputVariableName", "SMSTSRunCommandLineOutputVariableName"):
            fields["output_variable"] = output
        return fields

    def set_variable(self, el: Element, v: _Vars, path: str) -> dict[str, Any]:
        name = v.text("VariableName")
        if not name:
            raise TaskSequenceImportError(path, "the Set Task Sequence Variable step names no variable")
        fields: dict[str, Any] = {"type": "set_variable", "variable": name, "value": v.get("VariableValue") or ""}
        if v.hidden("VariableValue") or v.flag("IsMasked", "Masked"):
            fields["secret"] = True
        return fields

    def restart(self, el: Element, v: _Vars, path: str) -> dict[str, Any]:
        target = v.text("Target", "SMSRebootTarget").lower()
        if target not in ("", "hd"):
            raise _Unsupported(f"it restarts into {target!r} (Windows PE or boot media), not supported here")
        fields: dict[str, Any] = {"type": "restart"}
        if message := v.text("Message", "SMSRebootMessage"):
            fields["message"] = message
        countdown = v.text("MessageTimeout", "SMSRebootTimeout")
        if countdown:
            fields["timeout_s"] = self.number(countdown, "the restart countdown (seconds)", path)
        return fields

    def download(self, el: Element, v: _Vars, path: str) -> dict[str, Any]:
        where = v.text("DestinationLocationType", "OSDDownloadDestinationLocationType").lower()
        if where not in ("", "tscache", "ccmcache"):
            raise _Unsupported(f"it downloads to a {where!r} location; only the task-sequence or client "
                               "cache is supported here")
        packages = [p.strip() for p in v.text("DownloadPackages", "OSDDownloadDownloadPackages").split(",")
                    if p.strip()]
        if not packages:
            raise TaskSequenceImportError(path, "the Download Package Content step names no package")
        fields: dict[str, Any] = {"type": "download_package_content",
                                  "packages": [self.package_id(p, "DownloadPackages", path) for p in packages]}
        if variable := v.text("DestinationVariable", "OSDDownloadDestinationVariable"):
            fields["path_variable"] = variable
        if not v.flag("ContinueDownloadOnError", "OSDDownloadContinueDownloadOnError", default=True):
            fields["continue_download_on_error"] = False
        return fields

    def upgrade_os(self, el: Element, v: _Vars, path: str) -> dict[str, Any]:
        package = v.text("InstallPackageID")
        if v.text("FeatureUpdateName", "FeatureUpdateAssignmentId"):
            raise _Unsupported("it upgrades from a Windows Update feature update, not from an upgrade package")
        if not package:
            raise _Unsupported("it upgrades from a path or variable (InstallPath), not from an upgrade package")
        if v.text("DriverPackageID"):
            raise _Unsupported("it applies a driver package during the upgrade, not supported here")
        index = str(self.number(v.text("InstallEditionIndex") or "1", "InstallEditionIndex", path))
        keep = v.text("PreserveSettings").lower() or "upgrade"
        auto = {"upgrade": "Upgrade", "dataonly": "DataOnly", "clean": "Clean"}.get(keep)
        if auto is None:
            raise _Unsupported(f"PreserveSettings={keep!r} is not a setup mode this client knows")
        command = ["setup.exe", "/ImageIndex", index, "/Auto", auto, "/Quiet", "/NoReboot"]
        dynamic = v.text("DynamicUpdateSettings").lower()
        if dynamic == "disable":
            command += ["/DynamicUpdate", "Disable"]
        elif dynamic in ("overidepolicy", "overridepolicy"):
            command += ["/DynamicUpdate", "Enable"]
        if v.flag("IgnoreMessages"):
            command += ["/Compat", "IgnoreWarning"]
        if key := v.text("OsProductKey"):
            command += ["/PKey", key]
        if staged := v.text("StagedContent"):
            command += ["/InstallDrivers", staged]
        fields: dict[str, Any] = {"type": "upgrade_os", "package": self.package_id(package, "InstallPackageID", path),
                                  "command": command}
        if v.flag("ScanOnly"):
            fields["compat_scan_only"] = True
        if (setup_timeout := v.text("SetupTimeout")) and (
                seconds := self.number(setup_timeout, "SetupTimeout (minutes)", path, scale=60)):
            fields["timeout_s"] = seconds
        return fields

    # Check Readiness: what this client can check, and how the others are named.
    _READINESS_OTHERS = {
        "checkprocessorspeed": "processor speed",
        "checkostype": "current OS type",
        "checkosarchitecture": "OS architecture",
        "checkminosversion": "minimum OS version",
        "checkmaxosversion": "maximum OS version",
        "checkcmclientminversion": "minimum client version",
        "checkoslanguageid": "OS language",
        "checkpowerstate": "AC power",
        "checknetworkconnected": "network adapter connected",
        "checknetworkwired": "wired network adapter",
        "checkdeviceuefi": "UEFI",
        "checktpmenabled": "TPM enabled",
        "checktpmactivated": "TPM activated",
    }

    def check_readiness(self, el: Element, v: _Vars, path: str) -> dict[str, Any]:
        others = [what for key, what in self._READINESS_OTHERS.items()
                  if v.flag(key, "OSD" + key)]
        if others:
            raise _Unsupported("it checks " + ", ".join(others) + ", which cannot be checked here "
                               "(free disk space and memory can)")
        fields: dict[str, Any] = {"type": "check_readiness"}
        for check, amount, name in (("CheckFreeDiskSpace", "FreeDiskSpace", "min_free_disk_mb"),
                                    ("CheckMemory", "Memory", "min_memory_mb")):
            if v.flag(check, "OSD" + check):
                fields[name] = self.number(v.text(amount, "OSD" + amount), f"{amount} (MB)", path)
        return fields

    def install_package(self, el: Element, v: _Vars, path: str) -> dict[str, Any]:
        package = v.text("PackageID")
        program = v.text("ProgramName", "_SMSSWDProgramName")
        if not package:
            raise _Unsupported("it installs several packages from a list variable, not supported here")
        line = self.programs.get(f"{package}:{program}".lower())
        if line is None:
            raise _Unsupported(f"the command line of program {program!r} of package {package} is not part of "
                               f"the export: give it (--program \"{package}:{program}=COMMAND LINE\")")
        return {"type": "install_package", "package": self.package_id(package, "PackageID", path),
                "command": self.command(line, path)}

    # -- the sequence --

    def variables(self, seq: Element) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for lst in seq:
            if _local(lst.tag) != "globalvarlist":
                continue
            for var in lst:
                if _local(var.tag) != "variable":
                    continue
                name = (var.get("name") or "").strip()
                if not _VARIABLE_NAME.match(name):
                    self.unsupport("(sequence variables)", "globalVarList",
                                   f"the variable name {name!r} is not one this client can set", True)
                    continue
                entry: dict[str, Any] = {"name": name, "value": var.text or ""}
                if _is_true(var.get("hidden")):
                    entry["secret"] = True
                if name.lower() in found:
                    self.result.notes.append(f"(sequence variables): {name} is given twice; the last value is kept")
                found[name.lower()] = entry  # ConfigMgr sets them in order: the last one wins
        return list(found.values())


_ACTIONS = {
    "sms_tasksequence_runcommandlineaction": _Importer.run_command,
    "sms_tasksequence_setvariableaction": _Importer.set_variable,
    "sms_tasksequence_rebootaction": _Importer.restart,
    "sms_tasksequence_downloadpackagecontentaction": _Importer.download,
    "sms_tasksequence_upgradeoperatingsystemaction": _Importer.upgrade_os,
    "sms_tasksequence_prestartcheckaction": _Importer.check_readiness,
    "sms_tasksequence_installsoftwareaction": _Importer.install_package,
}


_CONDITION_LABELS = {
    "sms_tasksequence_wmiconditionexpression": "a WMI query",
    "sms_tasksequence_registryconditionexpression": "a registry setting",
    "sms_tasksequence_softwareconditionexpression": "installed software",
    "sms_tasksequence_osconditiongroup": "the operating system version",
    "sms_tasksequence_osexpression": "the operating system version",
}


def _condition_reason(problems: list[tuple[str, str]]) -> str:
    return "its condition tests what cannot be evaluated here: " + "; ".join(p[1] for p in problems)


def _rfc3339(text: str) -> str | None:
    """A WMI datetime (`20260101120000.000000+060`) or an ISO 8601 one, as RFC 3339 in UTC."""
    if m := _DMTF.match(text.strip()):
        year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
        offset = int(m.group(8) or "+000")
        try:
            local = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            return None
        try:
            return _utc_text(local - timedelta(minutes=offset))
        except OverflowError:
            return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # ConfigMgr stores the condition's time in UTC
    try:
        return _utc_text(parsed.astimezone(UTC))
    except OverflowError:
        return None


def _utc_text(when: datetime) -> str:
    """RFC 3339 in UTC, to the second, with a four-digit year."""
    return (f"{when.year:04d}-{when.month:02d}-{when.day:02d}T{when.hour:02d}:{when.minute:02d}:"
            f"{when.second:02d}Z")


def import_task_sequence(data: bytes, *, disable_unsupported: bool = False,
                         programs: Mapping[str, str] | None = None, default_name: str | None = None,
                         ) -> ImportResult:
    """Read task-sequence XML (see the module's docstring) into the site format.

    `programs` maps "PACKAGEID:Program name" to the program's command line, for Install
    Package steps. Raises TaskSequenceImportError for a file that is not a readable task
    sequence; steps that cannot be carried over are in `unsupported` (check `refused`).
    """
    if not isinstance(data, bytes):
        raise TypeError("data must be bytes")
    seq, name = _unwrap(_parse_xml(data, "the file"))
    importer = _Importer(disable_unsupported, programs or {})
    variables = importer.variables(seq)
    steps = importer.steps(seq, [], True, 0)
    if not steps:
        raise TaskSequenceImportError("", "the task sequence has no steps")
    ts: dict[str, Any] = {"name": (name or default_name or "Imported task sequence").strip()
                          or "Imported task sequence", "steps": steps}
    if variables:
        ts["variables"] = variables
    importer.result.task_sequence = ts
    return importer.result
