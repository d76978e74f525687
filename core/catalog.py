"""The site catalog: typed, immutable objects decoded from `catalog.json` (docs/SITE-FORMAT.md, v1).

`parse_catalog(data, url)` is the only way in. It accepts exactly the format and raises
one `CatalogError` naming the offending field by its path
(`packages.PS100012.files[3].sha256: expected 64 lowercase hex characters`) for anything
else. After parsing, the rest of the code trusts these objects.

Decoding is msgspec (frozen structs, unknown fields forbidden); packages and task
sequences are decoded one at a time so an error path carries the ID, then the rules a
schema cannot say (paths, duplicates, references, nesting) are checked here.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import quote, urljoin, urlsplit

import httpx
import msgspec

from .errors import CatalogError

__all__ = [
    "MAX_CATALOG_BYTES",
    "MAX_GROUP_DEPTH",
    "Catalog",
    "CheckReadinessStep",
    "Condition",
    "Deployment",
    "DownloadPackageContentStep",
    "GroupStep",
    "InstallPackageStep",
    "Location",
    "Package",
    "PackageFile",
    "RestartStep",
    "RunCommandStep",
    "SetVariableStep",
    "Site",
    "TaskSequenceVariable",
    "UnsupportedStep",
    "Step",
    "UpgradeOsStep",
    "duplicate_key_path",
    "file_url",
    "iter_steps",
    "parse_catalog",
    "referenced_packages",
    "url_problem",
]

MAX_CATALOG_BYTES = 32 * 1024 * 1024
MAX_GROUP_DEPTH = 16

# `\Z`, not `$`: Python's `$` also matches before a trailing newline ("PS1\n").
_ID = r"^[A-Z0-9]{3,16}\Z"
_ID_RE = re.compile(_ID)
_SHA256 = r"^[0-9a-f]{64}\Z"
_SITE_CODE = r"^[A-Z0-9]{3}\Z"

Id = Annotated[str, msgspec.Meta(pattern=_ID)]
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
StepName = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
# Integers are bounded to 64 bits: JSON allows 4,300-digit numbers, no size or timeout needs them.
_INT64_MAX = 2**63 - 1
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=_INT64_MAX)]
NonNegative = Annotated[int, msgspec.Meta(ge=0, le=_INT64_MAX)]
Positive = Annotated[int, msgspec.Meta(ge=1, le=_INT64_MAX)]
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
Argv = Annotated[list[str], msgspec.Meta(min_length=1)]


class _Frozen(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """Base of every catalog object: immutable, unknown fields are an error.

    Subclasses repeat `frozen=True` (msgspec inherits it; mypy's dataclass_transform does not).
    gc=False: decoded catalogs hold no reference cycles, and tracking ~100,000 small objects
    made the cycle collector a third of the parse time of a 5,000-deployment catalog.
    """


# --- site and packages -----------------------------------------------------------------


class Site(_Frozen, frozen=True):
    code: Annotated[str, msgspec.Meta(pattern=_SITE_CODE)]
    name: NonEmpty
    organization: NonEmpty
    intranet_probe: str | None = None


class PackageFile(_Frozen, frozen=True):
    path: str
    size: NonNegative
    sha256: Annotated[str, msgspec.Meta(pattern=_SHA256)]


class Location(_Frozen, frozen=True):
    # dp: on-premises distribution point, usable on the intranet only.
    # cloud: internet-facing (content-enabled cloud gateway or cloud distribution point).
    kind: Literal["dp", "cloud"]
    url: NonEmpty


# dict=True: room for the cached property below (msgspec then needs gc=True).
class Package(_Frozen, frozen=True, dict=True, gc=True):
    name: NonEmpty
    version: Positive
    files: Annotated[list[PackageFile], msgspec.Meta(min_length=1)]
    locations: Annotated[list[Location], msgspec.Meta(min_length=1)]

    @cached_property
    def total_bytes(self) -> int:
        """Bytes of all files (the list shows it per deployment, so it is computed once)."""
        return sum(f.size for f in self.files)

    @cached_property
    def has_cloud_location(self) -> bool:
        """Whether a client on the internet can download it (asked for every listed row)."""
        return any(loc.kind == "cloud" for loc in self.locations)


# --- task sequence steps ---------------------------------------------------------------

# A condition is kept as validated plain data: {"variable", "op", "value"} or
# {"all": [...]}, {"any": [...]}, {"not": cond}. msgspec cannot decode an untagged union of
# objects, so `_check_condition` validates the shape with paths instead.
Condition = Mapping[str, Any]


class _StepBase(_Frozen, tag_field="type", frozen=True):
    name: StepName
    description: str | None = None
    enabled: bool = True
    continue_on_error: bool = False
    condition: dict[str, Any] | None = None


class GroupStep(_StepBase, tag="group", frozen=True):
    steps: Annotated[list[Step], msgspec.Meta(min_length=1)] = msgspec.field(default_factory=list)


class CheckReadinessStep(_StepBase, tag="check_readiness", frozen=True):
    min_free_disk_mb: NonNegative | None = None
    min_memory_mb: NonNegative | None = None


class RunCommandStep(_StepBase, tag="run_command", frozen=True):
    command: Argv = msgspec.field(default_factory=list)
    package: Id | None = None
    success_codes: list[Int64] = msgspec.field(default_factory=lambda: [0, 3010])
    timeout_s: Positive = 900
    output_variable: NonEmpty | None = None
    # Relative: to the package's folder (or the run's work folder); `%NAME%` expanded.
    working_directory: NonEmpty | None = None


class DownloadPackageContentStep(_StepBase, tag="download_package_content", frozen=True):
    packages: Annotated[list[Id], msgspec.Meta(min_length=1)] = msgspec.field(default_factory=list)
    path_variable: NonEmpty | None = None
    continue_download_on_error: bool = True


class InstallPackageStep(_StepBase, tag="install_package", frozen=True):
    package: Id = ""
    command: Argv = msgspec.field(default_factory=list)
    success_codes: list[Int64] = msgspec.field(default_factory=lambda: [0, 3010])
    timeout_s: Positive = 900


class UpgradeOsStep(_StepBase, tag="upgrade_os", frozen=True):
    package: Id = ""
    command: Argv = msgspec.field(default_factory=list)
    timeout_s: Positive = 3600
    compat_scan_only: bool = False


class SetVariableStep(_StepBase, tag="set_variable", frozen=True):
    variable: NonEmpty = ""
    value: str = ""
    secret: bool = False


class RestartStep(_StepBase, tag="restart", frozen=True):
    message: str | None = None
    timeout_s: NonNegative = 60


class UnsupportedStep(_StepBase, tag="unsupported", frozen=True):
    """A step that this client cannot run, kept (disabled) so an imported sequence keeps its
    shape: `source_class` is what it was (`SMS_TaskSequence_ApplyOperatingSystemAction`),
    `reason` why it cannot run here. It must be disabled."""

    source_class: NonEmpty = msgspec.field(default="", name="class")
    reason: str = ""


Step = (
    GroupStep
    | CheckReadinessStep
    | RunCommandStep
    | DownloadPackageContentStep
    | InstallPackageStep
    | UpgradeOsStep
    | SetVariableStep
    | RestartStep
    | UnsupportedStep
)

# Fields that the format requires but that msgspec needs a default for (tagged subclasses
# of a base with defaults must have defaults too); checked for presence in `_decode_ts`.
_REQUIRED_STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "group": ("steps",),
    "run_command": ("command",),
    "download_package_content": ("packages",),
    "install_package": ("package", "command"),
    "upgrade_os": ("package", "command"),
    "set_variable": ("variable", "value"),
    "unsupported": ("class", "reason", "enabled"),
}


class TaskSequenceVariable(_Frozen, frozen=True):
    """A variable the sequence sets before its first step (ConfigMgr's sequence variables)."""

    name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\Z")]
    value: str
    secret: bool = False


# dict=True: room for the cached property below (msgspec then needs gc=True).
class TaskSequence(_Frozen, frozen=True, dict=True, gc=True):
    name: NonEmpty
    steps: Annotated[list[Step], msgspec.Meta(min_length=1)]
    variables: list[TaskSequenceVariable] = msgspec.field(default_factory=list)

    @cached_property
    def package_ids(self) -> tuple[str, ...]:
        """What `referenced_packages` returns, computed once (the list asks for every row)."""
        seen: dict[str, None] = {}
        for step in iter_steps(self.steps):
            for pid, _ in _package_refs(step):
                seen.setdefault(pid, None)
        return tuple(seen)


# --- deployments -----------------------------------------------------------------------


class Deployment(_Frozen, frozen=True):
    id: Id
    task_sequence: Id
    name: NonEmpty
    publisher: str
    version: str
    description: str
    # available: offered; required: offered with a deadline. Both can be started by the user.
    purpose: Literal["available", "required"]
    # Media/PXE-only deployments are never listed and never run from Software Center.
    available_to: Literal["clients", "clients_media_pxe", "media_pxe", "media_pxe_hidden"]
    allow_internet: bool
    # on_demand: each package just before the first step that needs it;
    # all_before_start: everything, then run; direct: run from the DP (not from the cloud).
    download: Literal["on_demand", "all_before_start", "direct"]
    high_impact: bool
    restart_required: bool
    estimated_minutes: NonNegative
    available_from: Timestamp | None = None
    expires: Timestamp | None = None
    deadline: Timestamp | None = None
    # Download the content in the background from available_from on (None: only when required).
    precache: bool | None = None

    @property
    def wants_precache(self) -> bool:
        return self.precache if self.precache is not None else self.purpose == "required"


# Allowed values of each enum field, for messages ("expected one of dp, cloud").
_ENUMS: dict[str, tuple[str, ...]] = {
    field.name: get_args(field.type)
    for struct in (Location, Deployment)
    for field in msgspec.structs.fields(struct)
    if get_origin(field.type) is Literal
}


class _Wire(_Frozen, frozen=True):
    """Top level as read: packages and task sequences stay raw so errors carry their ID."""

    format: int
    site: Site
    packages: dict[str, msgspec.Raw]
    task_sequences: dict[str, msgspec.Raw]
    deployments: list[Deployment]


@dataclass(frozen=True, slots=True)
class Catalog:
    """A validated catalog and the URL it was read from (relative locations resolve against it)."""

    url: str
    site: Site
    packages: Mapping[str, Package]
    task_sequences: Mapping[str, TaskSequence]
    deployments: tuple[Deployment, ...]
    # Deployments by ID, built once: the list looks every row up by its ID, and a scan per
    # lookup made listing 40,000 deployments take 20 s.
    _by_id: dict[str, Deployment] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, Deployment] = {}
        for d in self.deployments:
            by_id.setdefault(d.id, d)  # the first, as a scan would find (parse_catalog refuses twins)
        object.__setattr__(self, "_by_id", by_id)

    def deployment(self, deployment_id: str) -> Deployment | None:
        return self._by_id.get(deployment_id)


# --- decoding --------------------------------------------------------------------------

_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
# Greedy: an unknown field's own name may contain a backtick.
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>.*)`$", re.S)
_MISSING = re.compile(r"^Object missing required field `(?P<field>.*)`$", re.S)
_TYPE_NAME = re.compile(r"`([a-z| ]+)`")
_WORDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "array": "an array",
    "object": "an object",
    "null": "null",
    "datetime": "an RFC 3339 timestamp",
}
_NON_EMPTY = re.compile(r"^Expected an? (string|array) of length >= 1$")


def _join(prefix: str, sub: str) -> str:
    if not sub:
        return prefix
    if not prefix:
        return sub.lstrip(".")
    return prefix + sub if sub.startswith("[") else f"{prefix}.{sub.lstrip('.')}"


def _translate(exc: msgspec.MsgspecError, prefix: str) -> CatalogError:
    """Turn msgspec's `Expected X - at $.a.b` into `CatalogError('prefix.a.b', 'expected X')`."""
    m = _AT.match(str(exc))
    assert m is not None  # the pattern matches any string
    msg, sub = m.group("msg"), m.group("path") or ""
    # msgspec writes `[...]` for a value under a key it does not name (inside free-form data
    # such as a condition): the path stops at the last part it can name.
    sub = sub.partition("[...]")[0]
    path = _join(prefix, sub)
    # A field name is appended as is (`_join` would drop an empty one or read "[x]" as an index).
    if u := _UNKNOWN.match(msg):
        return CatalogError(f"{path}.{u['field']}" if path else u["field"], "unknown field")
    if u := _MISSING.match(msg):
        return CatalogError(f"{path}.{u['field']}" if path else u["field"], "required field is missing")
    if "matching regex" in msg:
        # msgspec quotes the pattern with repr(), so compare the unescaped middle part.
        if "[0-9a-f]{64}" in msg:
            msg = "expected 64 lowercase hex characters"
        elif "[A-Z0-9]{3,16}" in msg:
            msg = "expected an ID of 3-16 characters A-Z and 0-9"
        elif "[A-Z0-9]{3}" in msg:
            msg = "expected a site code of 3 characters A-Z and 0-9"
        elif "[A-Za-z_]" in msg:
            msg = "expected a variable name: a letter or _, then letters, digits or _"
    elif sub.endswith(".type") and msg.startswith("Invalid value"):
        msg = f"unknown step type {msg.removeprefix('Invalid value ')}"
    elif msg.startswith("Invalid enum value") and (values := _ENUMS.get(path.rpartition(".")[2])):
        msg = f"expected one of {', '.join(values)} (got {msg.removeprefix('Invalid enum value ')})"
    elif msg.startswith("Invalid RFC3339"):
        msg = "expected an RFC 3339 timestamp"
    else:
        # "Expected `int`, got `str`" -> "expected an integer, got a string"
        msg = _TYPE_NAME.sub(lambda t: " or ".join(_WORDS.get(n, n) for n in t.group(1).split(" | ")), msg)
        msg = _NON_EMPTY.sub(r"Expected a non-empty \1", msg)
    return CatalogError(path, msg[:1].lower() + msg[1:])


class _Head(msgspec.Struct):
    """Just the format number, read when the full decode fails (unknown fields allowed)."""

    format: Any = None


def _decode(data: bytes | msgspec.Raw, typ: Any, where: str) -> Any:
    """`msgspec.json.decode` with every failure turned into a CatalogError at `where`."""
    try:
        return msgspec.json.decode(data, type=typ)
    except msgspec.ValidationError as exc:
        raise _translate(exc, where) from None
    except msgspec.DecodeError as exc:
        raise CatalogError(where, f"not valid JSON ({exc})") from None
    except UnicodeDecodeError as exc:  # msgspec decodes strings lazily, so this comes late
        raise CatalogError(where, f"not valid UTF-8 (byte {exc.start})") from None
    except RecursionError:
        raise CatalogError(where, "arrays and objects nest too deeply") from None


def parse_catalog(data: bytes, url: str) -> Catalog:
    """Decode and validate `catalog.json` bytes read from `url`.

    Raises CatalogError naming the first offending field by its path.
    """
    if len(data) > MAX_CATALOG_BYTES:
        raise CatalogError("", f"catalog is larger than {MAX_CATALOG_BYTES // (1024 * 1024)} MiB")
    if (duplicate := duplicate_key_path(data)) is not None:
        raise CatalogError(duplicate, "key given twice in one object (each key of an object must be unique)")
    try:
        wire: _Wire = _decode(data, _Wire, "")
    except CatalogError:
        # A catalog of another format breaks format 1 everywhere; say that, not the first field.
        try:
            fmt = msgspec.json.decode(data, type=_Head).format
        except (msgspec.MsgspecError, ValueError, RecursionError):
            fmt = None
        if type(fmt) is int and fmt != 1:
            raise _unsupported(fmt) from None
        raise
    if wire.format != 1:
        raise _unsupported(wire.format)
    _check_url(wire.site.intranet_probe, "site.intranet_probe", absolute=True)

    packages: dict[str, Package] = {}
    for pid, raw in wire.packages.items():
        where = f"packages.{pid}"
        _check_id(pid, where)
        pkg: Package = _decode(raw, Package, where)
        _check_package(pkg, where)
        packages[pid] = pkg

    task_sequences: dict[str, TaskSequence] = {}
    for tid, raw in wire.task_sequences.items():
        where = f"task_sequences.{tid}"
        _check_id(tid, where)
        task_sequences[tid] = _decode_ts(raw, where, packages)

    seen: set[str] = set()
    for i, dep in enumerate(wire.deployments):
        where = f"deployments[{i}]"
        if dep.id in seen:
            raise CatalogError(f"{where}.id", f"duplicate deployment ID {dep.id}")
        seen.add(dep.id)
        if dep.task_sequence not in task_sequences:
            raise CatalogError(
                f"{where}.task_sequence", f"no task sequence {dep.task_sequence} in task_sequences"
            )
    return Catalog(
        url=url,
        site=wire.site,
        packages=packages,
        task_sequences=task_sequences,
        deployments=tuple(wire.deployments),
    )


class _DuplicateKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> None:
    """json.loads' object hook for the fast pass: no objects are built, only keys compared."""
    if len(pairs) > 1 and len(dict(pairs)) != len(pairs):
        raise _DuplicateKey
    return None


class _Pairs(list[tuple[str, Any]]):
    """An object as read by the slow pass: its pairs in order, duplicates kept."""


def duplicate_key_path(data: bytes | str) -> str | None:
    """The path of the first key that is given twice in one object of the JSON `data`
    (`packages.PS100012`, `deployments[3].name`), or None when every key is unique.

    msgspec (and json.loads) silently keep the last of two equal keys, so a catalog that
    lists a package twice would lose one without a word. One json.loads pass that builds
    nothing checks every object (about half a json.loads of the same bytes); only a
    document with a duplicate is read a second time, keeping its pairs, to name the path.
    Data that is not JSON gives None: the decoder then says what is wrong with it.
    """
    try:
        json.loads(data, object_pairs_hook=_unique_keys)
        return None
    except _DuplicateKey:
        pass
    except (ValueError, RecursionError):  # not JSON (nor UTF-8): reported by the decoder
        return None
    try:
        found = _first_duplicate(json.loads(data, object_pairs_hook=_Pairs), "")
    except RecursionError:
        found = None
    return found or ""  # "": nested too deeply to walk; the catalog is refused all the same


def _first_duplicate(node: Any, path: str) -> str | None:
    """In document order: the path of the first repeated key under `node`, or None."""
    if isinstance(node, _Pairs):
        seen: set[str] = set()
        for key, value in node:
            at = f"{path}.{key}" if path else key
            if key in seen:
                return at
            seen.add(key)
            if (found := _first_duplicate(value, at)) is not None:
                return found
    elif isinstance(node, list):
        for i, item in enumerate(node):
            if (found := _first_duplicate(item, f"{path}[{i}]")) is not None:
                return found
    return None


def _unsupported(fmt: int) -> CatalogError:
    shown = str(fmt) if -(10**9) < fmt < 10**9 else "number"  # huge ints: keep the message short
    return CatalogError("format", f"unsupported format {shown} (this client reads format 1)")


def _check_id(value: str, where: str) -> None:
    if not _ID_RE.match(value):
        raise CatalogError(where, "expected an ID of 3-16 characters A-Z and 0-9")


_URL_BAD_CHAR = re.compile(r"[\x00-\x20\x7f-\x9f\\]")  # controls, space, backslash


def url_problem(url: str, *, absolute: bool, folder: bool = False) -> str | None:
    """What makes `url` unusable as an http(s) address of a site, in words, or None.

    The URL is parsed as the HTTP client (httpx) parses it, and its host is encoded the
    way the connection will encode it, so what passes here is what the client can fetch:
    a host that is not valid IDNA (`xn--`, a label over 63 characters, an empty label)
    is refused now, not as a crash of the download. `absolute`: a scheme and host are
    required (else a relative URL, resolved against the catalog's, is allowed too).
    `folder`: the URL names a folder that file paths are appended to, so it may not have
    a query (`?...`) or a fragment (`#...`).
    """
    if _URL_BAD_CHAR.search(url):
        return "spaces, backslashes or control characters in URL"
    if folder and ("?" in url or "#" in url):
        # An unescaped "?" or "#" always starts the query or the fragment.
        what = "query (?...)" if "?" in url.split("#", 1)[0] else "fragment (#...)"
        return f"a {what} cannot be part of a folder URL, where file paths are appended"
    if not absolute and _PLAIN_RELATIVE.match(url):
        return None  # the common relative folder ("content/PS100012.3/"): nothing to parse
    if (plain := _PLAIN_ABSOLUTE.match(url)) and int(plain["port"] or 0) <= 65535:
        # The common absolute form: httpx would take it as it is, so only the host is left.
        return _host_problem(plain["host"].lower().encode("ascii"))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port ("host:abc", "host:99999")
        parsed = httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        return f"not a valid URL ({_short(str(exc))})"
    if parts.scheme:
        if parts.scheme not in ("http", "https") or not parts.netloc or not parsed.raw_host:
            return "expected an absolute http or https URL"
    elif absolute or parts.netloc:
        return "expected an absolute http or https URL"
    return _host_problem(parsed.raw_host) if parsed.raw_host else None


# A relative URL of unreserved characters, "/" and "%" only: no scheme, host, query or
# fragment, and nothing httpx could refuse.
_PLAIN_RELATIVE = re.compile(r"^(?!//)[A-Za-z0-9._~%/-]*\Z")
# An http(s) URL of an ASCII host name, an optional port and such a path.
_PLAIN_ABSOLUTE = re.compile(
    r"^[Hh][Tt][Tt][Pp][Ss]?://(?P<host>[A-Za-z0-9.-]+)(?::(?P<port>[0-9]{1,5}))?(?:/[A-Za-z0-9._~%/-]*)?\Z"
)


@lru_cache(maxsize=1024)  # a catalog names few hosts, in thousands of locations
def _host_problem(raw_host: bytes) -> str | None:
    """What keeps the connection from looking the host up, or None (IP literals pass)."""
    try:
        host = raw_host.decode("ascii")
        httpx.URL(scheme="http", host=host).host  # noqa: B018 - decodes "xn--" labels, raises for bad ones
        # The connection looks the host up by its IDNA (ASCII) form, which must encode.
        host.encode("idna")
    except (UnicodeError, httpx.InvalidURL) as exc:  # idna.IDNAError is a UnicodeError
        shown = _short(raw_host.decode("ascii", "replace"), 70)
        return f"the host {shown!r} is not a valid host name ({_short(str(exc), 80)})"
    return None


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_url(url: str | None, where: str, *, absolute: bool, folder: bool = False) -> None:
    if url is not None and (problem := url_problem(url, absolute=absolute, folder=folder)):
        raise CatalogError(where, problem)


# File paths must be names that every client's file system can hold as given: Linux, and
# later Windows and macOS. Beyond what is unsafe anywhere (absolute, "..", control
# characters), a path is refused when Windows would refuse it or read it as something
# else, and two paths of a package are twins, refused, when a file system could take them
# for the same file:
#   - a drive letter anywhere ("a/C:x" joins to a path on drive C);
#   - the characters Windows does not allow in names: < > : " | ? * (":" also names an
#     NTFS alternate data stream);
#   - device names as a segment's stem, in any case and with any extension: CON, PRN,
#     AUX, NUL, COM0-9, LPT0-9 (and with superscript 1-3), CONIN$, CONOUT$ ("aux.txt");
#   - a segment ending in a dot or a space (Windows drops them: "a." would be "a");
#   - bidirectional text controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069),
#     which make a name read as another ("exe.txt" shown for "txt.exe"), and the Unicode
#     line and paragraph separators, besides C0, DEL and C1 controls;
#   - twins: equal after Unicode canonical caseless matching (NFD, case folding, NFD):
#     macOS (normalisation- and case-insensitive by default) and Windows (case-
#     insensitive) would store them as one file. This is stricter than either file system
#     (case folding maps "ß" to "ss"), never looser.
_DRIVE = re.compile(r"(?:^|/)[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1
_INVISIBLE = re.compile(r"[\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")  # bidi controls, line breaks
_WINDOWS_CHAR = re.compile(r'[<>:"|?*]')
_DEVICE_NAMES = r"con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]|conin\$|conout\$"
# A segment whose stem (up to the first dot, trailing spaces dropped) is a device name.
_DEVICE = re.compile(rf"(?:^|/)(?:{_DEVICE_NAMES}) *(?:[./]|$)", re.IGNORECASE | re.ASCII)
# In the "\n"-joined paths of a package: the same, at the start of any path.
_DEVICE_JOINED = re.compile(rf"(?:^|[/\n])(?:{_DEVICE_NAMES}) *(?:[./\n]|\Z)", re.IGNORECASE | re.ASCII)
# Any character that can make a path bad, except the "\n" that `_paths_look_odd` joins with.
_ODD_CHAR = re.compile(r'[\x00-\x09\x0b-\x1f\x7f-\x9f\\:<>"|?*\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]')


def _path_problem(path: str) -> str | None:
    """What is wrong with one `files[].path`, or None (see the rules above)."""
    if not path:
        return "empty path"
    if _CONTROL.search(path):
        return "path contains NUL or control characters"
    if m := _INVISIBLE.search(path):
        return (
            f"path contains U+{ord(m.group()):04X}, a bidirectional text control or line break that can disguise a name"
        )
    if "\\" in path:
        return "path contains a backslash"
    if path.startswith("/"):
        return "path is absolute"
    if _DRIVE.search(path):
        return "path contains a drive letter"
    if m := _WINDOWS_CHAR.search(path):
        return f"path contains {m.group()!r}, which Windows does not allow in file names"
    for seg in path.split("/"):
        if seg in ("", ".", ".."):
            return f"path has a {seg!r} segment" if seg else "path has an empty segment"
        if seg[-1] in ". ":
            return f"path has the segment {seg!r} ending in a dot or space, which Windows drops"
    if m := _DEVICE.search(path):
        seg = path[m.start():].lstrip("/").split("/", 1)[0]
        return f"path has the segment {seg!r}, named like a Windows device (CON, PRN, AUX, NUL, COM1...)"
    return None


def _paths_look_odd(joined: str, count: int) -> bool:
    """Whether any of `count` paths joined by "\n" might have a problem (never a false "no").

    A big catalog has ~100,000 paths; a few C-speed scans of the joined text are ~5x
    cheaper than checking each path, which is done only when this says "maybe".
    """
    return (
        joined.count("\n") != count - 1  # a path contains a newline
        or _ODD_CHAR.search(joined) is not None  # control, bidi, backslash, ':' of a drive letter...
        or joined[:1] in ("", "\n", "/", ".")  # the first path: empty, absolute or dot segment
        or joined[-1:] in ("\n", "/", ".", " ")  # the last path: empty, ends with "/", "." or " "
        or "\n\n" in joined  # an empty path
        or "\n/" in joined  # an absolute path
        or "/\n" in joined  # a path ending in "/"
        or "//" in joined  # an empty segment
        or "/." in joined  # a segment starting with "." (maybe "." or "..")
        or "\n." in joined  # a path starting with "." (maybe "." or "..")
        or "./" in joined  # a segment ending in "."
        or ".\n" in joined  # a path ending in "."
        or " /" in joined  # a segment ending in " "
        or " \n" in joined  # a path ending in " "
        or (_may_name_a_device(joined) and _DEVICE_JOINED.search(joined) is not None)
    )


def _may_name_a_device(joined: str) -> bool:
    """A quick "no" for device names: no segment starts with the letters of one."""
    text = "/" + joined.lower().replace("\n", "/")
    return any(f"/{start}" in text for start in _DEVICE_STARTS)


_DEVICE_STARTS = ("con", "prn", "aux", "nul", "com", "lpt")


def _twin_key(path: str) -> str:
    """Equal for two paths that a case- or normalisation-insensitive file system takes as one."""
    if path.isascii():
        return path.casefold()
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", path).casefold())


def _check_package(pkg: Package, where: str) -> None:
    paths = [f.path for f in pkg.files]
    joined = "\n".join(paths)
    if _paths_look_odd(joined, len(paths)):
        for i, path in enumerate(paths):
            if problem := _path_problem(path):
                raise CatalogError(f"{where}.files[{i}].path", f"{problem}: {path!r}")
    # No path holds a "\n" now, so the joined text splits back into one key per path.
    keys = joined.casefold().split("\n") if joined.isascii() else [_twin_key(p) for p in paths]
    if len(set(keys)) != len(keys):
        seen: dict[str, int] = {}
        for i, key in enumerate(keys):
            if key in seen:
                raise CatalogError(
                    f"{where}.files[{i}].path",
                    f"duplicate path {paths[i]!r} (same as files[{seen[key]}], ignoring case "
                    "and Unicode normalization)",
                )
            seen[key] = i
    # A file may not also be a folder of another file ("a" and "a/b", or "a" and "a/b/c").
    folders: set[str] = set()
    level = {k.rpartition("/")[0] for k in keys if "/" in k}
    while level:  # one round per folder depth; folders are few next to files
        folders |= level
        level = {d.rpartition("/")[0] for d in level if "/" in d} - folders
    if clash := folders.intersection(keys):
        i = min(keys.index(k) for k in clash)
        raise CatalogError(f"{where}.files[{i}].path", f"path {paths[i]!r} is also a folder")
    for i, loc in enumerate(pkg.locations):
        _check_url(loc.url, f"{where}.locations[{i}].url", absolute=False, folder=True)


def _decode_ts(raw: msgspec.Raw, where: str, packages: Mapping[str, Package]) -> TaskSequence:
    ts: TaskSequence = _decode(raw, TaskSequence, where)
    # Required-but-defaulted fields: re-read the raw steps to see what was given.
    plain = _decode(raw, Any, where)
    _check_steps(ts.steps, plain.get("steps", []), f"{where}.steps", packages, depth=0)
    seen: dict[str, int] = {}
    for i, var in enumerate(ts.variables):
        key = var.name.casefold()
        if key in seen:
            raise CatalogError(f"{where}.variables[{i}].name",
                               f"variable {var.name!r} given twice (same as variables[{seen[key]}], "
                               "ignoring case)")
        seen[key] = i
    return ts


def _check_steps(
    steps: list[Step], plain: list[Any], where: str, packages: Mapping[str, Package], depth: int
) -> None:
    for i, (step, given) in enumerate(zip(steps, plain, strict=True)):
        at = f"{where}[{i}]"
        for name in _REQUIRED_STEP_FIELDS.get(given["type"], ()):
            if name not in given:
                raise CatalogError(f"{at}.{name}", "required field is missing")
        if isinstance(step, UnsupportedStep) and step.enabled:
            raise CatalogError(f"{at}.enabled", "an unsupported step cannot run here: it must be false")
        if step.condition is not None:
            _check_condition(step.condition, f"{at}.condition", depth=0, disabled=not step.enabled)
        for pid, ref in _package_refs(step):
            if pid not in packages:
                raise CatalogError(f"{at}.{ref}", f"no package {pid} in packages")
        if isinstance(step, GroupStep):
            if depth + 1 > MAX_GROUP_DEPTH:
                raise CatalogError(at, f"groups nest deeper than {MAX_GROUP_DEPTH} levels")
            _check_steps(step.steps, given["steps"], f"{at}.steps", packages, depth + 1)


# Variable conditions: ConfigMgr's operators (exists, notExists, equals, notEquals, greater,
# greaterEqual, less, lessEqual, like) in the format's spelling.
_OPS = ("equals", "not_equals", "exists", "not_exists", "greater", "greater_equal", "less",
        "less_equal", "like")
# Version and date comparisons of file and folder conditions.
_COMPARE_OPS = ("equals", "not_equals", "greater", "greater_equal", "less", "less_equal")
_VERSION = re.compile(r"^[0-9]{1,5}(?:\.[0-9]{1,5}){0,3}\Z")
_LEAF_KEYS = {
    "variable": ("variable", "op", "value"),
    "file": ("file", "version", "date"),
    "folder": ("folder", "date"),
    "unsupported": ("unsupported", "detail"),
}


def _check_condition(cond: Any, where: str, depth: int, *, disabled: bool = False) -> None:
    if depth > 64:
        raise CatalogError(where, "condition nests too deeply")
    if not isinstance(cond, dict):
        raise CatalogError(where, "expected an object")
    keys = list(cond)
    for key in ("all", "any", "not"):
        if key not in cond:
            continue
        for extra in keys:
            if extra != key:
                raise CatalogError(f"{where}.{extra}", f"unexpected field next to {key!r}")
        if key == "not":
            _check_condition(cond["not"], f"{where}.not", depth + 1, disabled=disabled)
            return
        items = cond[key]
        if not isinstance(items, list) or not items:
            raise CatalogError(f"{where}.{key}", "expected a non-empty array of conditions")
        for j, sub in enumerate(items):
            _check_condition(sub, f"{where}.{key}[{j}]", depth + 1, disabled=disabled)
        return
    kind = next((k for k in ("file", "folder", "unsupported") if k in cond), "variable")
    allowed = _LEAF_KEYS[kind]
    for extra in keys:
        if extra not in allowed:
            article = "an" if kind == "unsupported" else "a"
            raise CatalogError(f"{where}.{extra}", "unknown field" if kind == "variable"
                               else f"unexpected field in {article} {kind} condition")
    if kind == "unsupported":
        _check_text(cond, "unsupported", where, required=True)
        _check_text(cond, "detail", where, required=False, empty=True)
        if not disabled:
            raise CatalogError(f"{where}.unsupported",
                               "cannot be evaluated here: only a disabled step (enabled: false) may keep it")
        return
    if kind in ("file", "folder"):
        _check_text(cond, kind, where, required=True)
        for name in ("version", "date"):
            if name in cond:
                _check_comparison(cond[name], f"{where}.{name}", name)
        return
    for name in ("variable", "op"):
        if name not in cond:
            raise CatalogError(f"{where}.{name}", "required field is missing")
    if not isinstance(cond["variable"], str) or not cond["variable"]:
        raise CatalogError(f"{where}.variable", "expected a non-empty variable name")
    if cond["op"] not in _OPS:
        raise CatalogError(f"{where}.op", f"expected one of {', '.join(_OPS)}")
    if cond["op"] not in ("exists", "not_exists") and "value" not in cond:
        raise CatalogError(f"{where}.value", "required field is missing")
    if "value" in cond and not isinstance(cond["value"], str):
        raise CatalogError(f"{where}.value", "expected a string")


def _check_text(cond: Mapping[str, Any], name: str, where: str, *, required: bool, empty: bool = False) -> None:
    if name not in cond:
        if required:
            raise CatalogError(f"{where}.{name}", "required field is missing")
        return
    value = cond[name]
    if not isinstance(value, str) or (not value and not empty):
        raise CatalogError(f"{where}.{name}", "expected a string" if empty else "expected a non-empty string")


def _check_comparison(comp: Any, where: str, what: str) -> None:
    """`{"op": OP, "value": V}` of a file's version or a file's or folder's date."""
    if not isinstance(comp, dict):
        raise CatalogError(where, "expected an object with op and value")
    for extra in comp:
        if extra not in ("op", "value"):
            raise CatalogError(f"{where}.{extra}", "unknown field")
    for name in ("op", "value"):
        if name not in comp:
            raise CatalogError(f"{where}.{name}", "required field is missing")
    if comp["op"] not in _COMPARE_OPS:
        raise CatalogError(f"{where}.op", f"expected one of {', '.join(_COMPARE_OPS)}")
    value = comp["value"]
    if not isinstance(value, str):
        raise CatalogError(f"{where}.value", "expected a string")
    if what == "version":
        if not _VERSION.match(value):
            raise CatalogError(f"{where}.value",
                               "expected a version of 1 to 4 numbers separated by dots (10.0.19041.1)")
        return
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value.upper():
        raise CatalogError(f"{where}.value", "expected an RFC 3339 timestamp with a time zone (2026-01-01T00:00:00Z)")


def _package_refs(step: Step) -> Iterator[tuple[str, str]]:
    """(package ID, field path) for every package a step names directly."""
    if isinstance(step, DownloadPackageContentStep):
        for j, pid in enumerate(step.packages):
            yield pid, f"packages[{j}]"
    elif isinstance(step, (InstallPackageStep, UpgradeOsStep)):
        yield step.package, "package"
    elif isinstance(step, RunCommandStep) and step.package is not None:
        yield step.package, "package"


# --- queries ---------------------------------------------------------------------------


def iter_steps(steps: list[Step]) -> Iterator[Step]:
    """Every step in document order, groups before their children."""
    for step in steps:
        yield step
        if isinstance(step, GroupStep):
            yield from iter_steps(step.steps)


def referenced_packages(ts: TaskSequence) -> list[str]:
    """Package IDs the task sequence names, in order of first use, without duplicates."""
    return list(ts.package_ids)


def file_url(location_url: str, catalog_url: str, path: str) -> str:
    """The URL of `path` under a location folder; relative locations resolve against the catalog."""
    base = urljoin(catalog_url, location_url)
    if not base.endswith("/"):
        base += "/"
    return base + quote(path, safe="/")
