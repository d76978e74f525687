"""Hostile catalogs at random: `parse_catalog` returns a Catalog or raises CatalogError, nothing else.

The valid example catalog is mutated a few times per example (keys dropped or added, values
replaced by other JSON types, deep nesting, path traversal strings, huge numbers, odd
unicode, duplicated items), then encoded and parsed. Every CatalogError's path must name a
real place: a field of the mutated document, or a missing field of a real object. Random
bytes and byte-level damage to a valid catalog must be refused just as cleanly.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.catalog import Catalog, file_url, parse_catalog, referenced_packages
from core.errors import CatalogError

from .catalog_samples import CATALOG_URL, encode, example_catalog, sha256_of

# Fast enough for the whole file to run in a few seconds; `deadline=None` because timing on
# shared machines is noisy and hypothesis deadline warnings are errors here.
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# A marker string that stands for JSON Python's json cannot write (nesting past its recursion
# limit, numbers past 4,300 digits); swapped for raw bytes after encoding. Paths below a
# marker cannot be checked against the document.
MARK = "@@RAW"

FIELD_NAMES = [
    "format", "site", "packages", "task_sequences", "deployments", "code", "name", "organization",
    "intranet_probe", "version", "files", "locations", "path", "size", "sha256", "kind", "url",
    "steps", "type", "description", "enabled", "continue_on_error", "condition", "command",
    "package", "success_codes", "timeout_s", "packages", "variable", "value", "op", "all", "any",
    "not", "id", "task_sequence", "purpose", "deadline", "expires", "available_from",
]  # fmt: skip

HOSTILE_STRINGS = [
    "../etc/passwd", "..", ".", "/etc/passwd", "C:\\Windows\\system32", "C:", "c:x", "a\\b",
    "a/../../b", "a//b", "", " ", "\x00", "a\x00b", "\n", "PS1\n", "PS100012", "PS100020",
    "PS100031", "PS120001", "group", "restart", "ftp://x/", "javascript:alert(1)", "//evil/",
    "http://[::1", "http://h:99999/", "\ud800", "\udfff", "ü", "\u202e", "\x85", "𝔘𝔫𝔦",
    "a`b", "x - at `$.y`", "%00", "%2e%2e/", "2026-01-01T00:00:00", "2026-01-01T00:00:00Z",
    "A" * 64, "a" * 64, "a" * 300,
]  # fmt: skip

HUGE_NUMBERS = [
    0, -1, 1, 3010, 2**31, 2**32, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30, -(10**30),
    10**4299, -(10**4299), 1.5, -0.0, 1e308, -1e308, 5e-324,
]  # fmt: skip
# Raw JSON written as (shape, size) recipes, so a failing example prints small.
RAW_JSON = {
    "arrays": lambda n: b"[" * n + b"]" * n,
    "objects": lambda n: b'{"a":' * n + b"1" + b"}" * n,
    "conditions": lambda n: b'{"not":' * n + b'{"variable":"X","op":"exists"}' + b"}" * n,
    "groups": lambda n: b'{"type":"group","name":"g","steps":[' * n + b'{"type":"restart","name":"r"}' + b"]}" * n,
    "digits": lambda n: b"9" * n,
    "negative digits": lambda n: b"-" + b"9" * n,
    "exponent": lambda n: b"1e%d" % n,
    "tiny exponent": lambda n: b"-1e-%d" % n,
    "long decimal": lambda n: b"1" + b"0" * n + b".5",
}
DEEP_SHAPES = ["arrays", "objects", "conditions", "groups"]
NUMBER_SHAPES = ["digits", "negative digits", "exponent", "tiny exponent", "long decimal"]

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(HOSTILE_STRINGS),
    st.sampled_from(HUGE_NUMBERS),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=6)), inner, max_size=4),
    max_leaves=12,
)


# --- mutating a document ---------------------------------------------------------------


def _all_paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _all_paths(value, (*at, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _all_paths(value, (*at, i))
    return found


def _get(root: list[Any], path: tuple[Any, ...]) -> Any:
    node = root[0]
    for t in path:
        node = node[t]
    return node


def _set(root: list[Any], path: tuple[Any, ...], value: Any) -> None:
    if not path:
        root[0] = value
    else:
        _get(root, path[:-1])[path[-1]] = value


def _nested(shape: str, depth: int) -> Any:
    inner: Any
    if shape == "arrays":
        inner = 1
        for _ in range(depth):
            inner = [inner]
    elif shape == "objects":
        inner = 1
        for _ in range(depth):
            inner = {"a": inner}
    elif shape == "conditions":
        inner = {"variable": "X", "op": "exists"}
        for i in range(depth):
            inner = {"not": inner} if i % 2 else {"all": [inner]}
    else:  # groups
        inner = {"type": "restart", "name": "r"}
        for _ in range(depth):
            inner = {"type": "group", "name": "g", "steps": [inner]}
    return inner


@st.composite
def mutated_catalogs(draw: st.DrawFn) -> tuple[Any, dict[str, tuple[str, int]]]:
    """(a mutated document with MARK strings, the RAW_JSON recipe that replaces each mark)."""
    root = [example_catalog()]
    raw_at: dict[str, tuple[str, int]] = {}

    def put_raw(path: tuple[Any, ...], shape: str, size: int) -> None:
        marker = f"{MARK}{len(raw_at)}"
        raw_at[marker] = (shape, size)
        _set(root, path, marker)

    for _ in range(draw(st.integers(1, 4))):
        paths = _all_paths(root[0])
        kind = draw(
            st.sampled_from(
                ["drop", "add", "replace", "deep", "traversal", "huge", "unicode", "duplicate", "swap", "step"]
            )
        )
        if kind == "step":
            # Aim at the places where nesting and references matter: a step or its condition.
            step_paths = [p for p in paths if isinstance(_get(root, p), dict) and "type" in _get(root, p)]
            if not step_paths:
                continue
            path = draw(st.sampled_from(step_paths))
            if draw(st.booleans()):
                path = (*path, "condition")
        elif kind == "traversal" and draw(st.booleans()):
            # Aim at the strings that become file system paths and URLs.
            path = draw(st.sampled_from([p for p in paths if p and p[-1] in ("path", "url")] or paths))
        else:
            path = draw(st.sampled_from(paths))
        node = None if kind == "step" else _get(root, path)

        if kind == "drop" and path:
            del _get(root, path[:-1])[path[-1]]
        elif kind == "add" and isinstance(node, dict):
            key = draw(st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=8)))
            node[key] = draw(json_values)
        elif kind == "add" and isinstance(node, list):
            node.insert(draw(st.integers(0, len(node))), draw(json_values))
        elif kind in ("deep", "step"):
            shape = draw(st.sampled_from(DEEP_SHAPES))
            if draw(st.integers(0, 9)) == 0:
                put_raw(path, shape, draw(st.integers(1_000, 60_000)))
            else:
                _set(root, path, _nested(shape, draw(st.integers(1, 100))))
        elif kind == "traversal":
            _set(root, path, draw(st.sampled_from(HOSTILE_STRINGS)))
        elif kind == "huge" and draw(st.integers(0, 3)) == 0:
            put_raw(path, draw(st.sampled_from(NUMBER_SHAPES)), draw(st.sampled_from([4301, 20_000, 99_999])))
        elif kind == "huge":
            _set(root, path, draw(st.sampled_from(HUGE_NUMBERS)))
        elif kind == "unicode":
            _set(root, path, draw(st.text(max_size=30)))
        elif kind == "duplicate" and isinstance(node, list) and node:
            node.append(copy.deepcopy(draw(st.sampled_from(node))))
        elif kind == "swap":
            _set(root, path, copy.deepcopy(_get(root, draw(st.sampled_from(paths)))))
        else:
            _set(root, path, draw(json_values))

    return root[0], raw_at


def materialize(doc: Any, raw_at: dict[str, tuple[str, int]]) -> bytes:
    data = encode(doc)
    for marker, (shape, size) in raw_at.items():
        data = data.replace(f'"{marker}"'.encode(), RAW_JSON[shape](size))
    return data


# --- checking the outcome --------------------------------------------------------------


def resolves(node: Any, rest: str) -> bool:
    """Whether error path `rest` names a place in `node`: an existing field or index, or a
    missing field of an existing object (the parent is real)."""
    if isinstance(node, str) and node.startswith(MARK):
        return True  # inside nesting we did not keep
    if rest == "":
        return True
    if isinstance(node, list):
        m = re.match(r"\[(\d+)\]", rest)
        return bool(m) and int(m[1]) < len(node) and _after(node[int(m[1])], rest[m.end() :])
    if isinstance(node, dict):
        # Keys may contain '.', '[' or nothing at all: try every key that is a prefix.
        if any(rest.startswith(k) and _after(v, rest[len(k) :]) for k, v in node.items()):
            return True
        return re.fullmatch(r"[a-z_0-9]+", rest) is not None  # a missing field
    return False


def _after(child: Any, rest: str) -> bool:
    if rest == "":
        return True
    if rest.startswith("."):
        return resolves(child, rest[1:])
    return rest.startswith("[") and resolves(child, rest)


def parse_or_refuse(data: bytes, doc: Any = None) -> None:
    """Parse; anything but a Catalog or a CatalogError propagates and fails the test."""
    try:
        catalog = parse_catalog(data, CATALOG_URL)
    except CatalogError as err:
        assert err.problem and "\n" not in err.problem, repr(err.problem)
        assert str(err) == (f"{err.path}: {err.problem}" if err.path else err.problem)
        if doc is not None:
            assert resolves(doc, err.path), f"{err.path!r} names nothing in the document ({err.problem})"
        return
    assert isinstance(catalog, Catalog)
    # What was accepted must be usable by the rest of the code without further checks.
    for ts in catalog.task_sequences.values():
        assert all(pid in catalog.packages for pid in referenced_packages(ts))
    for pkg in catalog.packages.values():
        for loc in pkg.locations:
            for f in pkg.files:
                assert file_url(loc.url, catalog.url, f.path).startswith(("http://", "https://"))
    for dep in catalog.deployments:
        assert dep.task_sequence in catalog.task_sequences


@FUZZ
@given(mutated_catalogs())
def test_mutated_catalogs_parse_or_raise_catalog_error(case: tuple[Any, dict[str, tuple[str, int]]]) -> None:
    doc, raw_at = case
    parse_or_refuse(materialize(doc, raw_at), doc)


@settings(FUZZ, max_examples=200)
@given(st.binary(max_size=512))
def test_random_bytes_are_refused_cleanly(data: bytes) -> None:
    parse_or_refuse(data)


@settings(FUZZ, max_examples=200)
@given(st.data())
def test_damaged_bytes_of_a_valid_catalog_are_refused_cleanly(data: st.DataObject) -> None:
    raw = bytearray(encode(example_catalog()))
    for _ in range(data.draw(st.integers(1, 5), label="edits")):
        at = data.draw(st.integers(0, len(raw) - 1), label="at")
        how = data.draw(st.sampled_from(["flip", "insert", "delete"]), label="how")
        byte = data.draw(st.integers(0, 255), label="byte")
        if how == "flip":
            raw[at] = byte
        elif how == "insert":
            raw.insert(at, byte)
        elif len(raw) > 1:
            del raw[at]
    parse_or_refuse(bytes(raw))


# --- file paths against a plain reading of docs/SITE-FORMAT.md -------------------------------


_DEVICES = {"con", "prn", "aux", "nul", "conin$", "conout$"} | {
    f"{port}{n}" for port in ("com", "lpt") for n in "0123456789\u00b9\u00b2\u00b3"
}
_INVISIBLE = "\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _ascii_lower(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


def _bad_path(path: str) -> bool:
    segments = path.split("/")
    return (
        path == ""
        or any(unicodedata.category(c) == "Cc" for c in path)
        or any(c in _INVISIBLE for c in path)
        or "\\" in path
        or path.startswith("/")
        or re.search(r"(^|/)[A-Za-z]:", path) is not None
        or any(c in '<>:"|?*' for c in path)
        or any(seg in ("", ".", "..") for seg in segments)
        or any(seg.endswith((".", " ")) for seg in segments)
        or any(_ascii_lower(seg.split(".")[0].rstrip(" ")) in _DEVICES for seg in segments)
    )


def _twin_key(path: str) -> str:
    """Unicode canonical caseless matching: NFD(casefold(NFD(path)))."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", path).casefold())


def _expected_refusal(paths: list[str]) -> tuple[int, str] | None:
    """(index, kind) of the first file the rules refuse, in the decoder's order of checks."""
    for i, p in enumerate(paths):
        if _bad_path(p):
            return i, "path"
    keys = [_twin_key(p) for p in paths]
    for i, k in enumerate(keys):
        if k in keys[:i]:
            return i, "duplicate"
    for i, k in enumerate(keys):
        if any(other.startswith(k + "/") for other in keys):
            return i, "also a folder"
    return None


ENCODABLE_HOSTILE = [s for s in HOSTILE_STRINGS if not any(0xD800 <= ord(c) <= 0xDFFF for c in s)]
path_text = st.text(alphabet=st.sampled_from(list("aAb/.\\:\n\x00\x1f\x7f\x85 é%?#C\u0301\u202e\u00b9")), max_size=8)
# Names that are fine on Linux but not on Windows or macOS, and twins of each other.
windows_names = st.sampled_from(
    ["CON", "aux.txt", "x/nul", "Nul .a", "com1.z", "LPT\u00b9", "conin$", "console", "café", "cafe\u0301",
     "CAFE\u0301", "Straße", "strasse", "a.", "b ", "x\u202ey", "x\u2066y", "a<b", "a|b", "a*", 'q"']
)


@settings(FUZZ, max_examples=400)
@given(st.lists(st.one_of(path_text, st.sampled_from(ENCODABLE_HOSTILE), windows_names), min_size=1, max_size=6))
def test_file_path_rules_agree_with_a_plain_reading_of_the_format(paths: list[str]) -> None:
    doc = example_catalog()
    doc["packages"]["PS100012"]["files"] = [{"path": p, "size": 1, "sha256": sha256_of("x")} for p in paths]
    expected = _expected_refusal(paths)
    try:
        catalog = parse_catalog(encode(doc), CATALOG_URL)
    except CatalogError as err:
        assert expected is not None, f"refused {paths!r}: {err}"
        index, kind = expected
        assert err.path == f"packages.PS100012.files[{index}].path", str(err)
        if kind != "path":
            assert kind in err.problem, str(err)
        return
    assert expected is None, f"accepted {paths!r}, expected a refusal of files[{expected[0]}]"
    pkg = catalog.packages["PS100012"]
    assert [f.path for f in pkg.files] == paths


def test_the_unmutated_example_is_accepted() -> None:
    assert isinstance(parse_catalog(encode(example_catalog()), CATALOG_URL), Catalog)


# --- the fast screen of a package's paths never hides a problem ---------------------------

_TRICKY = st.sampled_from(
    ["a", "b", "/", ".", "..", " ", ":", "\\", "\n", "\x00", "\x85", "\u202e", "\u2028", "CON", "aux",
     "com1", "LPT9", "nul.txt", "é", "e\u0301", "?", "*", "<", "|", '"', "C:", "x."]
)


@given(st.lists(st.lists(_TRICKY, min_size=1, max_size=6).map("".join), min_size=1, max_size=4))
@settings(max_examples=3000, deadline=None)
def test_the_fast_path_screen_never_passes_a_path_the_full_check_refuses(paths: list[str]) -> None:
    """`_paths_look_odd` scans a package's joined paths at C speed and lets the per-path
    check run only on a "maybe"; a "no" for a path that `_path_problem` refuses would let
    a bad name through."""
    from core.catalog import _path_problem, _paths_look_odd

    if any(_path_problem(p) for p in paths):
        assert _paths_look_odd("\n".join(paths), len(paths)), paths
