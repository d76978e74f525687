"""Hostile input for `site build` (hypothesis): random file names, nested folders, symbolic
links in and out of the source folder, and random values in SOURCE.json.

Whatever the input, a build either makes a site that the client accepts, whose every file
holds exactly the bytes of a file inside the source folder, or refuses with a
SiteBuildError in words and leaves no output folder. Nothing else ever escapes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.catalog import parse_catalog
from core.errors import SiteBuildError
from core.sitebuild import build_site
from tests.core.helpers.publish import source_spec

ADVERSARIAL_NAMES = [
    ".", "..", "...", "C:x", "c:", "a\\b", "\\", "CON", "nul.txt", " ", "\n", "\t", "\x7f", "\u0085",
    "A", "a", "ä", "a\u0308", "ß", "SS", ".DS_Store", "__pycache__", "x.pyc", "#", "%2e%2e", "?q",
    "\ud800", os.fsdecode(b"\xff\xfe"), "x" * 300,
]
names = st.one_of(
    st.sampled_from(ADVERSARIAL_NAMES),
    st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=10),
)
LINK_TARGETS = ["../outside.txt", "../../outside.txt", "/etc/hostname", ".", "..", "nowhere", "a", "sub",
                "sub/a", "../pkg/a"]
entries = st.lists(
    st.tuples(
        st.lists(names, min_size=1, max_size=3),
        st.one_of(st.binary(max_size=64), st.just("dir"), st.sampled_from(LINK_TARGETS).map(lambda t: ("link", t))),
    ),
    max_size=8,
)
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _make_tree(pkg: Path, items: list[tuple[list[str], Any]]) -> None:
    (pkg / "a").write_bytes(b"always one file")
    for segments, what in items:
        path = pkg.joinpath(*segments)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if what == "dir":
                path.mkdir()
            elif isinstance(what, tuple):
                path.symlink_to(what[1])
            else:
                path.write_bytes(what)
        except (OSError, ValueError, UnicodeEncodeError):
            continue  # a name or place the file system itself refuses


def _check_outcome(root: Path, source: Path, out: Path) -> None:
    try:
        report = build_site(source, out)
    except SiteBuildError as exc:
        assert str(exc) and "Traceback" not in str(exc)
        assert not out.exists()
        return
    data = (out / "catalog.json").read_bytes()
    catalog = parse_catalog(data, (out / "catalog.json").as_uri())  # the client accepts it
    pkg_root = (root / "pkg").resolve()
    for pid, pkg in catalog.packages.items():
        folder = out / "content" / f"{pid}.{pkg.version}"
        for f in pkg.files:
            built = folder.joinpath(*f.path.split("/"))
            assert not built.is_symlink()
            content = built.read_bytes()
            assert (len(content), hashlib.sha256(content).hexdigest()) == (f.size, f.sha256)
            src = root.joinpath("pkg", *f.path.split("/"))
            assert src.resolve().is_relative_to(pkg_root)  # nothing from outside the source folder
            assert src.read_bytes() == content
    assert report.files == sum(len(p.files) for p in catalog.packages.values())


@SETTINGS
@given(entries)
def test_random_source_trees_build_a_valid_site_or_are_refused(items: list[tuple[list[str], Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "outside.txt").write_bytes(b"not to be published")
        (root / "pkg").mkdir()
        _make_tree(root / "pkg", items)
        spec = source_spec({"TST00001": {"name": "Fuzz", "version": 1, "source": "pkg"}})
        (root / "SOURCE.json").write_text(json.dumps(spec))
        _check_outcome(root, root / "SOURCE.json", root / "out")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
FIELDS = [
    ("packages", "TST00001", "name"), ("packages", "TST00001", "version"), ("packages", "TST00001", "locations"),
    ("packages", "TST00001", "extra"), ("site",), ("site", "code"), ("format",), ("deployments",),
    ("task_sequences", "TST00100", "steps"), ("packages", "TST00001"), ("packages",),
]


@SETTINGS
@given(st.sampled_from(FIELDS), json_values)
def test_random_values_in_source_json_are_refused_in_words_or_built(field: tuple[str, ...], value: Any) -> None:
    spec = source_spec({"TST00001": {"name": "Fuzz", "version": 1, "source": "pkg"}})
    target = spec = copy.deepcopy(spec)
    for key in field[:-1]:
        target = target[key]
    target[field[-1]] = value
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pkg").mkdir()
        (root / "pkg" / "a").write_bytes(b"a")
        (root / "SOURCE.json").write_text(json.dumps(spec))
        _check_outcome(root, root / "SOURCE.json", root / "out")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_as_source_json_are_refused_in_words(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "SOURCE.json").write_bytes(data)
        try:
            build_site(Path(tmp) / "SOURCE.json", Path(tmp) / "out")
        except SiteBuildError as exc:
            assert str(exc)
        assert not (Path(tmp) / "out").exists()
