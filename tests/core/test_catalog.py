"""docs/SITE-FORMAT.md, rule by rule: what `parse_catalog` accepts, and for everything else the
exact path of the offending field and a message in words.

Each refusal case takes the valid example catalog, changes one thing at one path and
names the path the error must carry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.catalog import (
    MAX_CATALOG_BYTES,
    MAX_GROUP_DEPTH,
    Catalog,
    DownloadPackageContentStep,
    GroupStep,
    InstallPackageStep,
    RestartStep,
    RunCommandStep,
    SetVariableStep,
    UpgradeOsStep,
    file_url,
    iter_steps,
    parse_catalog,
    referenced_packages,
)
from core.errors import CatalogError

from .catalog_samples import CATALOG_URL, encode, example_catalog, package, sha256_of, step

SITE_FORMAT = Path(__file__).resolve().parents[2] / "docs" / "SITE-FORMAT.md"

TS = "task_sequences.PS100020"
PKG = "packages.PS100012"
DEP = "deployments[0]"
STEPS = f"{TS}.steps"
# Steps of the example, by index: 0 group, 1 download_package_content, 2 upgrade_os,
# 3 restart, 4 install_package, 5 run_command (with a condition).

DELETE = object()


# --- helpers ---------------------------------------------------------------------------


def _tokens(path: str) -> list[str | int]:
    return [int(t[1:-1]) if t.startswith("[") else t for t in re.findall(r"\[\d+\]|[^.\[\]]+", path)]


def mutate(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set (or with DELETE, remove) the field at `path` and return `doc`."""
    *parents, last = _tokens(path)
    node: Any = doc
    for t in parents:
        node = node[t]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


def parse(doc: Any) -> Catalog:
    return parse_catalog(encode(doc), CATALOG_URL)


def assert_in_words(err: CatalogError) -> None:
    """A short lowercase phrase, no Python or msgspec internals (type names in backticks)."""
    assert re.fullmatch(r"[a-z][^\n`]*", err.problem), err.problem
    assert " " in err.problem and len(err.problem) < 200, err.problem
    assert str(err) == (f"{err.path}: {err.problem}" if err.path else err.problem)


def refused(data: Any, path: str, *words: str) -> CatalogError:
    """Parse `data` (a document, or raw bytes); assert it is refused at `path` with `words`."""
    raw = data if isinstance(data, bytes) else encode(data)
    with pytest.raises(CatalogError) as info:
        parse_catalog(raw, CATALOG_URL)
    err = info.value
    assert err.path == path, f"{err.path!r} != {path!r} ({err.problem})"
    for w in words:
        assert w in err.problem, f"{w!r} not in {err.problem!r}"
    assert_in_words(err)
    return err


def refused_at(path: str, value: Any, error_path: str | None = None, *words: str) -> CatalogError:
    """The example with `path` set to `value` is refused at `error_path` (default: `path`)."""
    return refused(mutate(example_catalog(), path, value), error_path or path, *words)


def accepted_at(path: str, value: Any) -> Catalog:
    return parse(mutate(example_catalog(), path, value))


def rename_key(mapping: dict[str, Any], old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


# --- the example -----------------------------------------------------------------------


def test_the_site_format_example_parses_with_real_hashes_and_its_two_missing_packages() -> None:
    text = SITE_FORMAT.read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)\n```", text, re.S)
    assert block is not None
    hashes = iter(sha256_of(str(i)) for i in range(100))
    doc = json.loads(re.sub(r"<64 lowercase hex>", lambda _: next(hashes), block.group(1)))
    doc["packages"]["PS100031"] = package("Drivers", "PS100031", {"net.inf": "x"})
    doc["packages"]["PS100040"] = package("Company Portal", "PS100040", {"install.py": "x"})

    catalog = parse(doc)

    assert catalog.site.code == "PS1"
    assert catalog.site.organization == "Contoso IT"
    assert set(catalog.packages) == {"PS100012", "PS100031", "PS100040"}
    assert catalog.packages["PS100012"].total_bytes == 2048 + 268435456
    assert [d.id for d in catalog.deployments] == ["PS120001"]
    assert catalog.deployment("PS120001") is catalog.deployments[0]
    assert catalog.deployment("PS999999") is None


def test_the_sample_catalog_parses_into_typed_objects() -> None:
    catalog = parse(example_catalog())

    assert catalog.url == CATALOG_URL
    steps = catalog.task_sequences["PS100020"].steps
    assert [type(s) for s in steps] == [
        GroupStep,
        DownloadPackageContentStep,
        UpgradeOsStep,
        RestartStep,
        InstallPackageStep,
        RunCommandStep,
    ]
    dep = catalog.deployments[0]
    assert dep.available_from is not None and dep.available_from.utcoffset() is not None
    assert dep.expires is None and dep.deadline is None
    with pytest.raises(AttributeError):
        dep.name = "changed"  # type: ignore[misc]


def test_the_example_without_the_packages_it_names_is_refused() -> None:
    doc = example_catalog()
    del doc["packages"]["PS100031"]
    refused(doc, f"{STEPS}[1].packages[0]", "no package PS100031")


# --- top level, format, size, JSON -----------------------------------------------------


@pytest.mark.parametrize("value", [0, 2, -1, 10**40])
def test_format_must_be_1(value: int) -> None:
    refused_at("format", value, None, "unsupported format", "format 1")


def test_format_of_another_version_is_named_before_any_other_problem() -> None:
    doc = mutate(example_catalog(), "format", 2)
    doc["brand_new_field"] = {}
    del doc["site"]
    refused(doc, "format", "unsupported format 2")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1", "expected an integer, got a string"),
        (1.0, "got a number"),
        (True, "got true or false"),
        (None, "got null"),
    ],
)
def test_format_must_be_an_integer(value: Any, words: str) -> None:
    refused_at("format", value, None, words)


@pytest.mark.parametrize("field", ["format", "site", "packages", "task_sequences", "deployments"])
def test_every_top_level_field_is_required(field: str) -> None:
    refused_at(field, DELETE, field, "required field is missing")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("site", [], "expected an object, got an array"),
        ("packages", [], "expected an object, got an array"),
        ("task_sequences", "PS100020", "expected an object, got a string"),
        ("deployments", {}, "expected an array, got an object"),
    ],
)
def test_top_level_fields_have_their_json_types(field: str, value: Any, words: str) -> None:
    refused_at(field, value, None, words)


@pytest.mark.parametrize(
    ("path", "error_path"),
    [
        ("extra", "extra"),
        ("site.extra", "site.extra"),
        (f"{PKG}.extra", f"{PKG}.extra"),
        (f"{PKG}.files[1].extra", f"{PKG}.files[1].extra"),
        (f"{PKG}.locations[1].extra", f"{PKG}.locations[1].extra"),
        (f"{TS}.extra", f"{TS}.extra"),
        (f"{DEP}.extra", f"{DEP}.extra"),
        (f"{STEPS}[0].steps[0].extra", f"{STEPS}[0].steps[0].extra"),
    ],
)
def test_unknown_fields_are_refused_at_every_level(path: str, error_path: str) -> None:
    refused_at(path, 1, error_path, "unknown field")


# Each step type with a field that belongs to another step type.
STEP_FOREIGN_FIELD = {
    "group": "command",
    "check_readiness": "timeout_s",
    "run_command": "packages",
    "download_package_content": "package",
    "install_package": "compat_scan_only",
    "upgrade_os": "success_codes",
    "set_variable": "timeout_s",
    "restart": "command",
}


@pytest.mark.parametrize(("type_", "field"), STEP_FOREIGN_FIELD.items())
def test_unknown_fields_are_refused_in_every_step_type(type_: str, field: str) -> None:
    doc = example_catalog()
    doc["task_sequences"]["PS100020"]["steps"][3] = step(type_, **{field: 1})
    refused(doc, f"{STEPS}[3].{field}", "unknown field")
    doc["task_sequences"]["PS100020"]["steps"][3] = step(type_)
    parse(doc)


@pytest.mark.parametrize("name", ["a`b", "a.b", "a - at `$.x`", "ü", ""])
def test_unknown_field_names_are_reported_even_when_odd(name: str) -> None:
    doc = example_catalog()
    doc["site"][name] = 1
    refused(doc, f"site.{name}", "unknown field")


def test_a_catalog_over_32_mib_is_refused_before_parsing() -> None:
    # Not JSON at all: only a size check that comes first can name the size.
    refused(b"[" * (MAX_CATALOG_BYTES + 1), "", "larger than 32 MiB")


def test_a_catalog_of_exactly_32_mib_is_parsed() -> None:
    data = encode(example_catalog())
    assert parse_catalog(data + b" " * (MAX_CATALOG_BYTES - len(data)), CATALOG_URL)


@pytest.mark.parametrize(
    "data", [b"", b"{", b'{"format": 1,}', b"not json", b'{"format": 1 "site": {}}', b"\xff\xfe{}"]
)
def test_bad_json_is_refused(data: bytes) -> None:
    refused(data, "", "not valid JSON")


def test_trailing_garbage_is_refused() -> None:
    refused(encode(example_catalog()) + b" {}", "", "not valid JSON")


def test_invalid_utf8_inside_a_string_is_refused() -> None:
    data = encode(example_catalog()).replace(b'"Contoso IT"', b'"Contoso \xff IT"', 1)
    refused(data, "", "not valid UTF-8")


def test_invalid_utf8_inside_a_package_is_refused_at_that_package() -> None:
    data = encode(example_catalog()).replace(b'"Drivers"', b'"Dri\xc3vers"', 1)
    refused(data, "packages.PS100031", "not valid UTF-8")


def test_json_nested_too_deeply_is_refused_not_crashed() -> None:
    doc = example_catalog()
    doc["task_sequences"]["PS100020"]["steps"][5]["condition"] = "HOLE"
    data = encode(doc).replace(b'"HOLE"', b"[" * 50_000 + b"]" * 50_000)
    refused(data, "", "nest too deeply")
    refused(b'{"packages": {"PS1": ' + b"[" * 50_000 + b"]" * 50_000 + b"}}", "", "nest too deeply")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"[]", "expected an object, got an array"),
        (b'"catalog"', "expected an object, got a string"),
        (b"1", "expected an object, got an integer"),
        (b"null", "expected an object, got null"),
    ],
)
def test_json_that_is_not_an_object_is_refused(data: bytes, words: str) -> None:
    refused(data, "", words)


# --- IDs -------------------------------------------------------------------------------

BAD_IDS = ["PS", "PS1000000000000001", "ps100012", "PS-100", "PS 100", "PS1\n", "", "ÄBC"]
ID_WORDS = "expected an ID of 3-16 characters A-Z and 0-9"


@pytest.mark.parametrize("bad", BAD_IDS)
def test_package_ids_as_keys(bad: str) -> None:
    doc = example_catalog()
    rename_key(doc["packages"], "PS100031", bad)
    refused(doc, f"packages.{bad}", ID_WORDS)


@pytest.mark.parametrize("bad", BAD_IDS)
def test_task_sequence_ids_as_keys(bad: str) -> None:
    doc = example_catalog()
    rename_key(doc["task_sequences"], "PS100020", bad)
    refused(doc, f"task_sequences.{bad}", ID_WORDS)


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize(
    "path",
    [
        f"{DEP}.id",
        f"{DEP}.task_sequence",
        f"{STEPS}[1].packages[0]",
        f"{STEPS}[2].package",
        f"{STEPS}[4].package",
    ],
)
def test_ids_in_deployments_and_references(path: str, bad: str) -> None:
    refused_at(path, bad, None, ID_WORDS)


def test_ids_of_3_and_16_characters_are_accepted() -> None:
    doc = example_catalog()
    rename_key(doc["packages"], "PS100031", "P3X")
    rename_key(doc["task_sequences"], "PS100020", "ABCDEFGHIJ123456")
    doc["task_sequences"]["ABCDEFGHIJ123456"]["steps"][1]["packages"] = ["P3X"]
    doc["deployments"][0]["task_sequence"] = "ABCDEFGHIJ123456"
    doc["deployments"][0]["id"] = "0A9"
    catalog = parse(doc)
    assert "P3X" in catalog.packages and "ABCDEFGHIJ123456" in catalog.task_sequences


def test_deployment_ids_are_unique() -> None:
    doc = example_catalog()
    doc["deployments"].append(dict(doc["deployments"][0]))
    refused(doc, "deployments[1].id", "duplicate deployment ID PS120001")


# --- site ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["PS", "PS12", "ps1", "P-1", "PS1\n", ""])
def test_site_code_is_3_characters(code: str) -> None:
    refused_at("site.code", code, None, "site code of 3 characters")


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        ("site.code", 100, "expected a string, got an integer"),
        ("site.name", "", "expected a non-empty string"),
        ("site.name", None, "expected a string, got null"),
        ("site.organization", "", "expected a non-empty string"),
        ("site.organization", ["Contoso"], "expected a string, got an array"),
        ("site.intranet_probe", 5, "expected a string or null, got an integer"),
    ],
)
def test_site_field_types(path: str, value: Any, words: str) -> None:
    refused_at(path, value, None, words)


@pytest.mark.parametrize("field", ["code", "name", "organization"])
def test_site_required_fields(field: str) -> None:
    refused_at(f"site.{field}", DELETE, None, "required field is missing")


@pytest.mark.parametrize(
    "url",
    ["ping", "/ping", "//mp01/ping", "ftp://mp01/ping", "javascript:alert(1)", "http://", "", "http://mp01:port/"],
)
def test_the_intranet_probe_must_be_an_absolute_http_url(url: str) -> None:
    err = refused_at("site.intranet_probe", url)
    assert "URL" in err.problem


@pytest.mark.parametrize("url", ["https://mp01.corp.example/ping", None, DELETE])
def test_the_intranet_probe_is_optional(url: Any) -> None:
    catalog = accepted_at("site.intranet_probe", url)
    assert catalog.site.intranet_probe == (url if isinstance(url, str) else None)


# --- packages --------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["name", "version", "files", "locations"])
def test_package_required_fields(field: str) -> None:
    refused_at(f"{PKG}.{field}", DELETE, None, "required field is missing")


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (f"{PKG}.name", "", "non-empty string"),
        (f"{PKG}.name", 12, "expected a string"),
        (f"{PKG}.version", 0, "expected an integer >= 1"),
        (f"{PKG}.version", -3, "expected an integer >= 1"),
        (f"{PKG}.version", "3", "expected an integer, got a string"),
        (f"{PKG}.version", 3.5, "expected an integer, got a number"),
        (f"{PKG}.version", True, "expected an integer, got true or false"),
        (f"{PKG}.version", 2**63, "expected an integer <="),
        (f"{PKG}.files", [], "expected a non-empty array"),
        (f"{PKG}.files", {}, "expected an array, got an object"),
        (f"{PKG}.files[0]", "setup.py", "expected an object, got a string"),
        (f"{PKG}.locations", [], "expected a non-empty array"),
        (PKG, [], "expected an object, got an array"),
    ],
)
def test_package_field_types(path: str, value: Any, words: str) -> None:
    refused_at(path, value, None, words)


@pytest.mark.parametrize("field", ["path", "size", "sha256"])
def test_file_required_fields(field: str) -> None:
    refused_at(f"{PKG}.files[1].{field}", DELETE, None, "required field is missing")


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("", "empty path"),
        ("/etc/passwd", "absolute"),
        ("../outside.txt", "'..' segment"),
        ("sources/../../outside.txt", "'..' segment"),
        ("sources/..", "'..' segment"),
        ("./setup.py", "'.' segment"),
        ("sources/./x", "'.' segment"),
        ("sources//x", "empty"),
        ("sources/", "empty"),
        ("sources\\install.wim", "backslash"),
        ("..\\outside", "backslash"),
        ("C:setup.py", "drive letter"),
        ("C:/Windows/system32/x.dll", "drive letter"),
        ("c:x", "drive letter"),
        ("sources/D:x", "drive letter"),
        ("setup\x00.py", "NUL or control characters"),
        ("setup\n.py", "NUL or control characters"),
        ("setup\x1b.py", "NUL or control characters"),
        ("setup\x7f.py", "NUL or control characters"),
        ("setup\x85.py", "NUL or control characters"),
    ],
)
def test_file_paths_must_be_relative_posix_paths(path: str, words: str) -> None:
    refused_at(f"{PKG}.files[1].path", path, None, words)


@pytest.mark.parametrize(
    ("path", "words"),
    [
        # device names, in any case, with any extension, in any segment
        ("CON", "named like a Windows device"),
        ("nul", "named like a Windows device"),
        ("aux.txt", "named like a Windows device"),
        ("sources/Prn.tar.gz", "named like a Windows device"),
        ("COM1.log", "named like a Windows device"),
        ("drivers/lpt9", "named like a Windows device"),
        ("com\u00b9.inf", "named like a Windows device"),
        ("CONIN$", "named like a Windows device"),
        ("conout$.txt", "named like a Windows device"),
        ("con .txt", "named like a Windows device"),
        ("con/setup.py", "named like a Windows device"),
        # Windows drops trailing dots and spaces
        ("setup.", "ending in a dot or space"),
        ("setup ", "ending in a dot or space"),
        ("sources./x", "ending in a dot or space"),
        ("sources /x", "ending in a dot or space"),
        ("a...", "ending in a dot or space"),
        # characters Windows does not allow (":" would name an NTFS alternate data stream)
        ("ab:c", "':', which Windows does not allow"),
        ("what?.txt", "'?', which Windows does not allow"),
        ("a*b", "'*', which Windows does not allow"),
        ("a<b>c", "'<', which Windows does not allow"),
        ('say"hi"', "'\"', which Windows does not allow"),
        ("a|b", "'|', which Windows does not allow"),
        # bidirectional text controls and line separators: a name that reads as another
        ("invoice\u202etxt.exe", "U+202E, a bidirectional text control"),
        ("a\u202ab", "U+202A"),
        ("a\u2066b", "U+2066"),
        ("a\u2069b", "U+2069"),
        ("a\u200fb", "U+200F"),
        ("a\u200eb", "U+200E"),
        ("a\u061cb", "U+061C"),
        ("a\u2028b", "U+2028"),
        ("a\u2029b", "U+2029"),
    ],
)
def test_file_paths_that_windows_or_a_reader_would_take_for_another_are_refused(path: str, words: str) -> None:
    refused_at(f"{PKG}.files[1].path", path, None, words)


@pytest.mark.parametrize(
    "path",
    ["sources/install.wim", "a b/ü.txt", "x..y", ".hidden", "dir/v1.0/file%20.bin", "console.txt",
     "auxiliary/x", "nulx", "com10.txt", "lpt/x", "my con.txt", "a.b/c.d", " leading", "ǅ/ß", "日本語.txt"],
)
def test_file_paths_that_are_fine(path: str) -> None:
    catalog = accepted_at(f"{PKG}.files[1].path", path)
    assert catalog.packages["PS100012"].files[1].path == path


@pytest.mark.parametrize("dup", ["setup.py", "SETUP.PY", "Setup.Py"])
def test_duplicate_file_paths_are_refused_case_insensitively(dup: str) -> None:
    err = refused_at(f"{PKG}.files[1].path", dup, None, "duplicate path", "files[0]")
    assert "ignoring case" in err.problem


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("caf\u00e9.txt", "cafe\u0301.txt"),  # NFC and NFD
        ("Caf\u00e9.txt", "CAFE\u0301.TXT"),  # and case
        ("\u212b", "\u00e5"),  # ANGSTROM SIGN and a with ring above
        ("stra\u00dfe", "STRASSE"),  # case folding: sharp s is ss
        ("\u01c4x", "\u01c6X"),  # a title-case letter's forms
        ("sources/\u00c9t\u00e9.bin", "sources/E\u0301te\u0301.bin"),
    ],
)
def test_twins_under_unicode_normalization_and_case_folding_are_refused(first: str, second: str) -> None:
    doc = example_catalog()
    doc["packages"]["PS100012"]["files"][0]["path"] = first
    err = refused(mutate(doc, f"{PKG}.files[1].path", second), f"{PKG}.files[1].path", "duplicate path", "files[0]")
    assert "Unicode normalization" in err.problem


def test_the_same_non_ascii_name_in_two_folders_is_no_twin() -> None:
    doc = example_catalog()
    doc["packages"]["PS100012"]["files"][0]["path"] = "a/caf\u00e9.txt"
    catalog = parse(mutate(doc, f"{PKG}.files[1].path", "b/cafe\u0301.txt"))
    assert [f.path for f in catalog.packages["PS100012"].files] == ["a/caf\u00e9.txt", "b/cafe\u0301.txt"]


def test_a_file_and_a_folder_that_are_twins_clash() -> None:
    doc = example_catalog()
    doc["packages"]["PS100012"]["files"][0]["path"] = "caf\u00e9"
    refused(mutate(doc, f"{PKG}.files[1].path", "CAFE\u0301/x"), f"{PKG}.files[0].path", "also a folder")


@pytest.mark.parametrize("other", ["setup.py/x", "setup.py/a/b", "SETUP.PY/b"])
def test_a_file_cannot_also_be_a_folder(other: str) -> None:
    refused_at(f"{PKG}.files[1].path", other, f"{PKG}.files[0].path", "also a folder")


@pytest.mark.parametrize(
    ("value", "words"),
    [(-1, "expected an integer >= 0"), ("2048", "got a string"), (2048.0, "got a number"), (None, "got null")],
)
def test_file_size_is_an_integer_of_at_least_0(value: Any, words: str) -> None:
    refused_at(f"{PKG}.files[1].size", value, None, words)


def test_file_size_0_is_accepted() -> None:
    assert accepted_at(f"{PKG}.files[1].size", 0).packages["PS100012"].files[1].size == 0


@pytest.mark.parametrize(
    "value",
    [
        sha256_of("x").upper(),
        sha256_of("x")[:63],
        sha256_of("x") + "0",
        "g" * 64,
        sha256_of("x")[:63] + "\n",
        sha256_of("x") + "\n",
        "",
    ],
)
def test_sha256_is_64_lowercase_hex(value: str) -> None:
    refused_at(f"{PKG}.files[1].sha256", value, None, "expected 64 lowercase hex characters")


def test_sha256_must_be_a_string() -> None:
    refused_at(f"{PKG}.files[1].sha256", 12, None, "expected a string, got an integer")


@pytest.mark.parametrize("kind", ["DP", "ftp", "", "internet"])
def test_location_kind_is_dp_or_cloud(kind: str) -> None:
    refused_at(f"{PKG}.locations[0].kind", kind, None, "expected one of dp, cloud")


@pytest.mark.parametrize("field", ["kind", "url"])
def test_location_required_fields(field: str) -> None:
    refused_at(f"{PKG}.locations[1].{field}", DELETE, None, "required field is missing")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://dp01/content/", "absolute http or https URL"),
        ("javascript:alert(1)", "absolute http or https URL"),
        ("file:///etc/", "absolute http or https URL"),
        ("C:/content/", "absolute http or https URL"),
        ("http:content/", "absolute http or https URL"),
        ("https://", "absolute http or https URL"),
        ("//other.example/content/", "absolute http or https URL"),
        ("http://dp01:99999/", "not a valid URL"),
        ("http://[::1/", "not a valid URL"),
        ("content dir/", "spaces"),
        ("content\\dir/", "backslashes"),
        ("content/\x00/", "control characters"),
        ("", "non-empty string"),
        # hosts the HTTP client cannot look up (IDNA): refused here, not as a crash of `run`
        ("http://xn--/content/", "not a valid host name"),
        ("http://xn--zz.example/content/", "not a valid host name"),
        (f"http://{'a' * 64}.example/content/", "not a valid host name"),
        ("http://dp01..corp.example/content/", "not a valid host name"),
        # a location is a folder that file paths are appended to
        ("content/PS100012.3/?sig=X", "a query (?...) cannot be part of a folder URL"),
        ("https://cdn.example/c/?", "a query (?...) cannot be part of a folder URL"),
        ("content/PS100012.3/#top", "a fragment (#...) cannot be part of a folder URL"),
        ("https://cdn.example/c/#a?b", "a fragment (#...) cannot be part of a folder URL"),
    ],
)
def test_location_urls(url: str, words: str) -> None:
    refused_at(f"{PKG}.locations[1].url", url, None, words)


@pytest.mark.parametrize(
    ("url", "words"),
    [("http://xn--/ping", "not a valid host name"), (f"http://{'b' * 64}/ping", "not a valid host name"),
     ("ftp://mp01/ping", "absolute http or https URL")],
)
def test_intranet_probe_url_is_one_the_client_can_fetch(url: str, words: str) -> None:
    refused_at("site.intranet_probe", url, None, words)


def test_intranet_probe_may_have_a_query() -> None:
    assert accepted_at("site.intranet_probe", "http://mp01/ping?x=1").site.intranet_probe == "http://mp01/ping?x=1"


@pytest.mark.parametrize(
    "url",
    ["https://cdn.example/c/PS100012.3/", "HTTP://DP01/c/", "content/PS100012.3/", "../c/", "/abs/c/",
     "http://münchen.example/c/", "http://xn--mnchen-3ya.example/c/", "http://[::1]:8080/c/",
     f"http://{'a' * 63}.example/c/", "content/%41%20b/"],
)
def test_location_urls_absolute_or_relative(url: str) -> None:
    assert accepted_at(f"{PKG}.locations[1].url", url).packages["PS100012"].locations[1].url == url


# --- task sequences and steps ----------------------------------------------------------


@pytest.mark.parametrize("field", ["name", "steps"])
def test_task_sequence_required_fields(field: str) -> None:
    refused_at(f"{TS}.{field}", DELETE, None, "required field is missing")


def test_task_sequence_needs_a_step() -> None:
    refused_at(f"{TS}.steps", [], None, "expected a non-empty array")
    refused_at(f"{TS}.name", "", None, "expected a non-empty string")


@pytest.mark.parametrize("field", ["type", "name"])
def test_every_step_needs_type_and_name(field: str) -> None:
    refused_at(f"{STEPS}[3].{field}", DELETE, None, "required field is missing")


@pytest.mark.parametrize(
    ("value", "words"),
    [("reboot", "unknown step type 'reboot'"), ("Group", "unknown step type"), (5, "expected a string")],
)
def test_step_type_is_one_of_the_eight(value: Any, words: str) -> None:
    refused_at(f"{STEPS}[3].type", value, None, words)


def test_a_step_is_an_object() -> None:
    refused_at(f"{STEPS}[3]", "restart", None, "expected an object, got a string")


@pytest.mark.parametrize(
    ("name", "ok"), [("x", True), ("x" * 50, True), ("é" * 50, True), ("", False), ("x" * 51, False)]
)
def test_step_name_is_1_to_50_characters(name: str, ok: bool) -> None:
    if ok:
        assert accepted_at(f"{STEPS}[3].name", name).task_sequences["PS100020"].steps[3].name == name
    else:
        refused_at(f"{STEPS}[3].name", name, None, "string")


REQUIRED_OWN_FIELDS = [
    ("group", "steps"),
    ("run_command", "command"),
    ("download_package_content", "packages"),
    ("install_package", "package"),
    ("install_package", "command"),
    ("upgrade_os", "package"),
    ("upgrade_os", "command"),
    ("set_variable", "variable"),
    ("set_variable", "value"),
]


@pytest.mark.parametrize(("type_", "field"), REQUIRED_OWN_FIELDS)
def test_step_type_specific_required_fields(type_: str, field: str) -> None:
    doc = example_catalog()
    s = step(type_)
    del s[field]
    doc["task_sequences"]["PS100020"]["steps"][3] = s
    refused(doc, f"{STEPS}[3].{field}", "required field is missing")


def test_required_fields_are_checked_inside_groups_too() -> None:
    doc = example_catalog()
    doc["task_sequences"]["PS100020"]["steps"][0]["steps"].append({"type": "run_command", "name": "No command"})
    refused(doc, f"{STEPS}[0].steps[1].command", "required field is missing")


@pytest.mark.parametrize(
    ("type_", "field", "value", "words"),
    [
        ("run_command", "command[1]", ["python", 3], "expected a string, got an integer"),
        ("run_command", "success_codes[0]", [0.5], "expected an integer"),
        ("run_command", "success_codes[1]", [0, 2**64], "expected an integer <="),
        ("download_package_content", "packages[1]", ["PS100031", None], "expected a string, got null"),
        ("group", "steps", [], "non-empty array"),
        ("group", "steps", {}, "expected an array"),
        ("check_readiness", "min_free_disk_mb", -1, ">= 0"),
        ("check_readiness", "min_memory_mb", "1024", "expected an integer"),
        ("run_command", "command", [], "non-empty array"),
        ("run_command", "command", "python setup.py", "expected an array, got a string"),
        ("run_command", "success_codes", "0", "expected an array"),
        ("run_command", "timeout_s", 0, ">= 1"),
        ("run_command", "timeout_s", "900", "expected an integer"),
        ("run_command", "output_variable", "", "non-empty string"),
        ("run_command", "package", 12, "expected a string or null"),
        ("download_package_content", "packages", [], "non-empty array"),
        ("download_package_content", "packages", "PS100031", "expected an array"),
        ("download_package_content", "path_variable", "", "non-empty string"),
        ("download_package_content", "continue_download_on_error", "yes", "true or false"),
        ("install_package", "command", [], "non-empty array"),
        ("install_package", "timeout_s", -5, ">= 1"),
        ("upgrade_os", "compat_scan_only", 1, "true or false"),
        ("upgrade_os", "timeout_s", 3600.5, "expected an integer"),
        ("set_variable", "variable", "", "non-empty string"),
        ("set_variable", "value", 1, "expected a string"),
        ("set_variable", "secret", "true", "true or false"),
        ("restart", "timeout_s", -1, ">= 0"),
        ("restart", "message", ["x"], "expected a string or null"),
    ],
)
def test_step_own_field_types(type_: str, field: str, value: Any, words: str) -> None:
    doc = example_catalog()
    doc["task_sequences"]["PS100020"]["steps"][3] = step(type_, **{field.partition("[")[0]: value})
    refused(doc, f"{STEPS}[3].{field}", words)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("description", 5, "expected a string or null"),
        ("enabled", "yes", "true or false"),
        ("enabled", 1, "true or false"),
        ("continue_on_error", "false", "true or false"),
        ("condition", "always", "expected an object or null, got a string"),
        ("condition", [], "expected an object or null, got an array"),
    ],
)
def test_common_step_field_types(field: str, value: Any, words: str) -> None:
    refused_at(f"{STEPS}[3].{field}", value, None, words)


def test_step_defaults() -> None:
    doc = example_catalog()
    doc["task_sequences"]["PS100020"]["steps"] = [step(t) for t in STEP_FOREIGN_FIELD]
    steps = {type(s).__name__: s for s in parse(doc).task_sequences["PS100020"].steps}

    for s in steps.values():
        assert s.enabled is True
        assert s.continue_on_error is False
        assert s.condition is None
        assert s.description is None
    run, install = steps["RunCommandStep"], steps["InstallPackageStep"]
    assert isinstance(run, RunCommandStep) and isinstance(install, InstallPackageStep)
    assert run.success_codes == [0, 3010] and run.timeout_s == 900
    assert run.package is None and run.output_variable is None
    assert install.success_codes == [0, 3010] and install.timeout_s == 900
    upgrade = steps["UpgradeOsStep"]
    assert isinstance(upgrade, UpgradeOsStep)
    assert upgrade.timeout_s == 3600 and upgrade.compat_scan_only is False
    restart = steps["RestartStep"]
    assert isinstance(restart, RestartStep)
    assert restart.timeout_s == 60 and restart.message is None
    download = steps["DownloadPackageContentStep"]
    assert isinstance(download, DownloadPackageContentStep)
    assert download.continue_download_on_error is True and download.path_variable is None
    setvar = steps["SetVariableStep"]
    assert isinstance(setvar, SetVariableStep) and setvar.secret is False


def test_given_values_override_defaults() -> None:
    doc = example_catalog()
    doc["task_sequences"]["PS100020"]["steps"] = [
        step("run_command", success_codes=[0, 1641], timeout_s=5, enabled=False, continue_on_error=True),
        step("restart", timeout_s=0, message="Bye"),
    ]
    run, restart = parse(doc).task_sequences["PS100020"].steps
    assert isinstance(run, RunCommandStep) and isinstance(restart, RestartStep)
    assert (run.success_codes, run.timeout_s, run.enabled, run.continue_on_error) == ([0, 1641], 5, False, True)
    assert (restart.timeout_s, restart.message) == (0, "Bye")


# --- conditions ------------------------------------------------------------------------

COND = f"{STEPS}[5].condition"


@pytest.mark.parametrize(
    "cond",
    [
        {"variable": "X", "op": "equals", "value": "1"},
        {"variable": "X", "op": "not_equals", "value": ""},
        {"variable": "X", "op": "exists"},
        {"variable": "X", "op": "not_exists"},
        {"all": [{"variable": "A", "op": "exists"}, {"variable": "B", "op": "equals", "value": "b"}]},
        {"any": [{"variable": "A", "op": "exists"}]},
        {"not": {"variable": "A", "op": "exists"}},
        {"all": [{"any": [{"not": {"all": [{"variable": "A", "op": "not_exists"}]}}]}]},
    ],
)
def test_condition_shapes_that_are_accepted(cond: dict[str, Any]) -> None:
    assert accepted_at(COND, cond).task_sequences["PS100020"].steps[5].condition == cond


@pytest.mark.parametrize(
    ("cond", "sub", "words"),
    [
        ({"variable": "X", "op": "contains", "value": "1"}, ".op", "expected one of equals, not_equals, exists"),
        ({"variable": "X", "op": 1, "value": "1"}, ".op", "expected one of"),
        ({"variable": "X", "op": "equals", "value": "1", "extra": 1}, ".extra", "unknown field"),
        ({"op": "exists"}, ".variable", "required field is missing"),
        ({"variable": "X"}, ".op", "required field is missing"),
        ({"variable": "", "op": "exists"}, ".variable", "non-empty variable name"),
        ({"variable": 5, "op": "exists"}, ".variable", "non-empty variable name"),
        ({"variable": "X", "op": "equals"}, ".value", "required field is missing"),
        ({"variable": "X", "op": "equals", "value": 1}, ".value", "expected a string"),
        ({"variable": "X", "op": "exists", "value": None}, ".value", "expected a string"),
        ({}, ".variable", "required field is missing"),
        ({"all": []}, ".all", "non-empty array of conditions"),
        ({"any": {"variable": "X", "op": "exists"}}, ".any", "non-empty array of conditions"),
        ({"all": [{"variable": "X", "op": "exists"}], "variable": "Y"}, ".variable", "unexpected field next to 'all'"),
        ({"not": {"variable": "X", "op": "exists"}, "all": []}, ".not", "unexpected field next to 'all'"),
        ({"not": {"variable": "X", "op": "exists"}, "extra": 1}, ".extra", "unexpected field next to 'not'"),
        ({"all": ["X"]}, ".all[0]", "expected an object"),
        ({"not": None}, ".not", "expected an object"),
        (
            {"all": [{"variable": "X", "op": "exists"}, {"not": {"variable": "Y", "op": "is"}}]},
            ".all[1].not.op",
            "expected one of",
        ),
        ({"any": [{"all": [{"variable": "X", "op": "exists", "bad": 1}]}]}, ".any[0].all[0].bad", "unknown field"),
    ],
)
def test_condition_shapes_that_are_refused(cond: dict[str, Any], sub: str, words: str) -> None:
    refused_at(COND, cond, COND + sub, words)


def test_conditions_nested_past_reason_are_refused() -> None:
    cond: dict[str, Any] = {"variable": "X", "op": "exists"}
    for _ in range(100):
        cond = {"not": cond}
    refused_at(COND, cond, COND + ".not" * 65, "nests too deeply")


def test_conditions_inside_groups_are_checked() -> None:
    refused_at(f"{STEPS}[0].steps[0].condition", {"variable": "X", "op": "?"}, f"{STEPS}[0].steps[0].condition.op")


# --- references and nesting ------------------------------------------------------------


def test_a_deployment_must_name_an_existing_task_sequence() -> None:
    refused_at(f"{DEP}.task_sequence", "PS100099", None, "no task sequence PS100099 in task_sequences")


@pytest.mark.parametrize(
    "path",
    [f"{STEPS}[1].packages[0]", f"{STEPS}[2].package", f"{STEPS}[4].package"],
)
def test_every_package_a_step_names_must_exist(path: str) -> None:
    refused_at(path, "PS100099", None, "no package PS100099 in packages")


def test_run_command_package_and_nested_references_must_exist() -> None:
    doc = example_catalog()
    doc["task_sequences"]["PS100020"]["steps"][0]["steps"].append(step("run_command", package="PS100098"))
    refused(doc, f"{STEPS}[0].steps[1].package", "no package PS100098")
    doc = example_catalog()
    doc["task_sequences"]["PS100020"]["steps"][1]["packages"] = ["PS100031", "PS100012", "PS100097"]
    refused(doc, f"{STEPS}[1].packages[2]", "no package PS100097")


def test_a_task_sequence_id_is_not_a_package_id() -> None:
    refused_at(f"{STEPS}[2].package", "PS100020", None, "no package PS100020")


def _nested_groups(levels: int) -> dict[str, Any]:
    inner: dict[str, Any] = step("restart")
    for i in range(levels):
        inner = {"type": "group", "name": f"Level {levels - i}", "steps": [inner]}
    return inner


def test_groups_nest_16_deep() -> None:
    doc = mutate(example_catalog(), f"{STEPS}[0]", _nested_groups(MAX_GROUP_DEPTH))
    steps = parse(doc).task_sequences["PS100020"].steps
    assert sum(isinstance(s, GroupStep) for s in iter_steps(steps)) == 16


def test_groups_nested_17_deep_are_refused_at_the_17th() -> None:
    doc = mutate(example_catalog(), f"{STEPS}[0]", _nested_groups(MAX_GROUP_DEPTH + 1))
    refused(doc, f"{STEPS}[0]" + ".steps[0]" * 16, "groups nest deeper than 16 levels")


# --- deployments -----------------------------------------------------------------------

DEPLOYMENT_REQUIRED = [
    "id",
    "task_sequence",
    "name",
    "publisher",
    "version",
    "description",
    "purpose",
    "available_to",
    "allow_internet",
    "download",
    "high_impact",
    "restart_required",
    "estimated_minutes",
]


@pytest.mark.parametrize("field", DEPLOYMENT_REQUIRED)
def test_deployment_required_fields(field: str) -> None:
    refused_at(f"{DEP}.{field}", DELETE, None, "required field is missing")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("name", "", "non-empty string"),
        ("publisher", 5, "expected a string"),
        ("version", 22, "expected a string, got an integer"),
        ("description", None, "expected a string, got null"),
        ("purpose", "optional", "expected one of available, required (got 'optional')"),
        ("available_to", "everyone", "expected one of clients, clients_media_pxe, media_pxe, media_pxe_hidden"),
        ("download", "background", "expected one of on_demand, all_before_start, direct"),
        ("purpose", 1, "expected a string"),
        ("allow_internet", "true", "expected true or false, got a string"),
        ("high_impact", 1, "expected true or false, got an integer"),
        ("restart_required", None, "expected true or false, got null"),
        ("estimated_minutes", "90", "expected an integer"),
        ("estimated_minutes", 1.5, "expected an integer, got a number"),
        ("estimated_minutes", -1, ">= 0"),
    ],
)
def test_deployment_field_types_and_enums(field: str, value: Any, words: str) -> None:
    refused_at(f"{DEP}.{field}", value, None, words)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("purpose", "required"),
        ("available_to", "media_pxe_hidden"),
        ("download", "all_before_start"),
        ("download", "direct"),
        ("publisher", ""),
        ("description", ""),
    ],
)
def test_deployment_values_that_are_accepted(field: str, value: Any) -> None:
    assert getattr(accepted_at(f"{DEP}.{field}", value).deployments[0], field) == value


def test_a_deployment_is_an_object() -> None:
    refused_at(DEP, ["PS120001"], None, "expected an object, got an array")


@pytest.mark.parametrize("field", ["available_from", "expires", "deadline"])
@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-01-01T00:00:00", "timezone"),
        ("2026-01-01", "RFC 3339 timestamp"),
        ("tomorrow", "RFC 3339 timestamp"),
        ("2026-13-01T00:00:00Z", "RFC 3339 timestamp"),
        (1767225600, "expected an RFC 3339 timestamp or null, got an integer"),
    ],
)
def test_timestamps_are_rfc3339_with_a_timezone(field: str, value: Any, words: str) -> None:
    refused_at(f"{DEP}.{field}", value, None, words)


@pytest.mark.parametrize("field", ["available_from", "expires", "deadline"])
def test_timestamps_with_an_offset_null_or_absent_are_accepted(field: str) -> None:
    assert getattr(accepted_at(f"{DEP}.{field}", "2026-03-01T08:30:00+02:00").deployments[0], field).utcoffset()
    assert getattr(accepted_at(f"{DEP}.{field}", None).deployments[0], field) is None
    assert getattr(accepted_at(f"{DEP}.{field}", DELETE).deployments[0], field) is None


def test_the_first_bad_deployment_is_named_by_its_index() -> None:
    doc = example_catalog()
    doc["deployments"] += [dict(doc["deployments"][0], id=f"PS12000{i}") for i in range(2, 5)]
    doc["deployments"][3]["purpose"] = "maybe"
    refused(doc, "deployments[3].purpose", "expected one of available, required")


# --- queries ---------------------------------------------------------------------------


def test_referenced_packages_in_order_of_first_use_without_duplicates() -> None:
    doc = example_catalog()
    doc["task_sequences"]["PS100020"]["steps"] = [
        step("download_package_content", packages=["PS100031", "PS100012"]),
        {"type": "group", "name": "G", "steps": [step("install_package", package="PS100040", enabled=False)]},
        step("upgrade_os", package="PS100012"),
        step("run_command", package="PS100031"),
        step("run_command"),
    ]
    assert referenced_packages(parse(doc).task_sequences["PS100020"]) == ["PS100031", "PS100012", "PS100040"]


def test_referenced_packages_of_the_example() -> None:
    ts = parse(example_catalog()).task_sequences["PS100020"]
    assert referenced_packages(ts) == ["PS100031", "PS100012", "PS100040"]


@pytest.mark.parametrize(
    ("location", "path", "expected"),
    [
        ("content/PS100012.3/", "sources/install.wim", "https://sc.example/site/content/PS100012.3/sources/install.wim"),
        ("content/PS100012.3", "setup.py", "https://sc.example/site/content/PS100012.3/setup.py"),
        ("../content/", "setup.py", "https://sc.example/content/setup.py"),
        ("/content/", "setup.py", "https://sc.example/content/setup.py"),
        ("http://dp01.corp.example/content/PS100012.3/", "a/b.txt", "http://dp01.corp.example/content/PS100012.3/a/b.txt"),
        ("content/", "a b/c#d?e%f.txt", "https://sc.example/site/content/a%20b/c%23d%3Fe%25f.txt"),
        ("content/", "drivers/über.inf", "https://sc.example/site/content/drivers/%C3%BCber.inf"),
        ("content/", "x+y=z;&.txt", "https://sc.example/site/content/x%2By%3Dz%3B%26.txt"),
    ],
)
def test_file_url_resolves_and_percent_encodes(location: str, path: str, expected: str) -> None:
    assert file_url(location, CATALOG_URL, path) == expected


def test_file_url_of_every_file_of_the_example() -> None:
    catalog = parse(example_catalog())
    pkg = catalog.packages["PS100012"]
    urls = [file_url(loc.url, catalog.url, f.path) for loc in pkg.locations for f in pkg.files]
    assert urls == [
        "http://dp01.corp.example/content/PS100012.3/setup.py",
        "http://dp01.corp.example/content/PS100012.3/sources/install.wim",
        "https://sc.example/site/content/PS100012.3/setup.py",
        "https://sc.example/site/content/PS100012.3/sources/install.wim",
    ]


# --- duplicate JSON keys ---------------------------------------------------------------


def _with_twin_key(doc: dict[str, Any], container: str, key: str, twin: Any) -> bytes:
    """`doc` encoded with a second `key` (holding `twin`) inserted first into the object
    that the JSON text `container` opens (json.dumps cannot write a duplicate key)."""
    text = encode(doc).decode()
    assert text.count(container) == 1, container
    return text.replace(container, f"{container}{json.dumps(key)}: {json.dumps(twin)}, ", 1).encode()


def test_a_package_id_given_twice_is_refused_by_its_path_not_resolved_to_the_last() -> None:
    doc = example_catalog()
    twin = doc["packages"]["PS100031"]
    raw = _with_twin_key(doc, '"packages": {', "PS100031", twin)
    refused(raw, "packages.PS100031", "key given twice in one object")


@pytest.mark.parametrize(
    ("container", "key", "value", "path"),
    [
        ('{"format": 1, ', "format", 1, "format"),
        ('"task_sequences": {', "PS100020", {"name": "x", "steps": []}, "task_sequences.PS100020"),
        ('"site": {', "name", "Other", "site.name"),
        ('{"id": "PS120001", ', "name", "Shadow", "deployments[0].name"),
        ('"condition": {', "op", "exists", f"{STEPS}[5].condition.op"),
    ],
)
def test_any_key_given_twice_is_refused_with_its_path(container: str, key: str, value: Any, path: str) -> None:
    refused(_with_twin_key(example_catalog(), container, key, value), path, "given twice")


def test_equal_keys_after_json_unescaping_are_twins() -> None:
    text = encode(example_catalog()).decode().replace('"format": 1', '"format": 1, "form\\u0061t": 1', 1)
    refused(text.encode(), "format", "given twice")


def test_the_same_key_in_different_objects_is_fine() -> None:
    catalog = parse(example_catalog())  # every package has "name", "files"... and parses
    assert len(catalog.packages) == 3


def test_a_number_too_large_inside_a_condition_names_the_condition() -> None:
    """msgspec reports `condition[...]` for a value under an unnamed key; the path stops at
    the condition, which the admin can find (found by the mutation fuzzer)."""
    doc = example_catalog()
    ts = next(iter(doc["task_sequences"].values()))
    ts["steps"][0]["condition"] = {"variable": "X", "op": "equals", "value": "1"}
    raw = json.dumps(doc).replace('"variable": "X"', '"variable": ' + "9" * 4301)
    with pytest.raises(CatalogError) as info:
        parse_catalog(raw.encode(), CATALOG_URL)
    first = next(iter(doc["task_sequences"]))
    assert info.value.path == f"task_sequences.{first}.steps[0].condition"
