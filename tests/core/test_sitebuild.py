"""`site build`: source folders -> a site the client accepts; refusals in words; an unchanged
re-run rewrites nothing; the output appears atomically.

Real folders, files, symbolic links and FIFOs; the client's own `parse_catalog` judges
the result.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.catalog import parse_catalog
from core.errors import SiteBuildError
from core.signing import SIGNATURE_NAME, verify_catalog
from core.sitebuild import BuildReport, build_site
from tests.core.helpers.publish import run_cli, source_spec, write_source


def _catalog(out: Path) -> Any:
    data = (out / "catalog.json").read_bytes()
    return parse_catalog(data, (out / "catalog.json").as_uri())


def _inodes(out: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(out).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(out.rglob("*"))}


def _refused(source: Path, out: Path, *words: str, **kwargs: Any) -> SiteBuildError:
    with pytest.raises(SiteBuildError) as err:
        build_site(source, out, **kwargs)
    for w in words:
        assert w in str(err.value), str(err.value)
    return err.value


# --- a good build --------------------------------------------------------------------------


def test_build_copies_hashes_and_writes_a_catalog_the_client_accepts(tmp_path: Path) -> None:
    source = write_source(tmp_path / "src")
    progress: list[tuple[int, int]] = []
    report = build_site(source, tmp_path / "site", progress=lambda d, t: progress.append((d, t)))
    catalog = _catalog(tmp_path / "site")
    pkg = catalog.packages["TST00001"]
    assert [f.path for f in pkg.files] == ["setup.py", "sources/image.bin"]
    for f in pkg.files:
        data = (tmp_path / "site" / "content" / "TST00001.1" / f.path).read_bytes()
        assert (f.size, f.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert data == (tmp_path / "src" / "packages" / "pkg0" / f.path).read_bytes()
    # The default location: one cloud location, the package's own folder.
    assert [(loc.kind, loc.url) for loc in pkg.locations] == [("cloud", "content/TST00001.1/")]
    assert catalog.packages["TST00002"].locations[0].url == "content/TST00002.2/"
    assert report == BuildReport(tmp_path / "site", True, 2, 3, report.total_bytes, report.total_bytes, False)
    assert progress[0] == (0, report.total_bytes) and progress[-1] == (report.total_bytes, report.total_bytes)
    assert not (tmp_path / "site" / SIGNATURE_NAME).exists()
    # Everything else of the source is kept as written, in order.
    spec = json.loads(source.read_text())
    built = json.loads((tmp_path / "site" / "catalog.json").read_text())
    assert built["task_sequences"] == spec["task_sequences"] and built["deployments"] == spec["deployments"]
    assert list(built["packages"]["TST00001"]) == ["name", "version", "files", "locations"]
    assert not list(tmp_path.glob(".site.*"))  # no staging folder left behind


def test_given_locations_are_kept_and_a_dp_location_may_be_anywhere(tmp_path: Path) -> None:
    locations = [{"kind": "dp", "url": "http://dp01.corp.example/SMS_DP/TST00001.1/"},
                 {"kind": "cloud", "url": "content/TST00001.1/"}]
    source = write_source(tmp_path / "src", extra={"TST00001": {"locations": locations}})
    build_site(source, tmp_path / "site")
    assert [loc.url for loc in _catalog(tmp_path / "site").packages["TST00001"].locations] == [
        locations[0]["url"], locations[1]["url"]]


def test_a_signed_build_verifies_and_signing_is_deterministic(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    source = write_source(tmp_path / "src")
    build_site(source, tmp_path / "site", key=key)
    catalog, sig = (tmp_path / "site" / "catalog.json").read_bytes(), (tmp_path / "site" / SIGNATURE_NAME).read_bytes()
    verify_catalog(key.public_key(), catalog, sig)
    assert not build_site(source, tmp_path / "site", key=key).changed  # same key, same bytes: unchanged
    report = build_site(source, tmp_path / "site")  # no key now: the old signature goes
    assert report.changed and not (tmp_path / "site" / SIGNATURE_NAME).exists()


# --- re-runs and atomic output ---------------------------------------------------------------


def test_an_unchanged_rerun_rewrites_nothing(tmp_path: Path) -> None:
    source = write_source(tmp_path / "src")
    build_site(source, tmp_path / "site")
    before = _inodes(tmp_path / "site")
    site_inode = (tmp_path / "site").stat().st_ino
    os.utime(tmp_path / "src" / "packages" / "pkg0" / "setup.py")  # touched, same bytes
    report = build_site(source, tmp_path / "site")
    assert not report.changed and report.copied_bytes == 0
    assert _inodes(tmp_path / "site") == before and (tmp_path / "site").stat().st_ino == site_inode


def test_a_changed_file_is_copied_and_the_rest_is_kept(tmp_path: Path) -> None:
    source = write_source(tmp_path / "src")
    build_site(source, tmp_path / "site")
    before = _inodes(tmp_path / "site")
    (tmp_path / "src" / "packages" / "pkg1" / "install.py").write_bytes(b"print('v2')\n")
    report = build_site(source, tmp_path / "site")
    after = _inodes(tmp_path / "site")
    assert report.changed and report.copied_bytes == len(b"print('v2')\n")
    assert after["content/TST00002.2/install.py"] != before["content/TST00002.2/install.py"]
    # Unchanged content is the same file (hard-linked from the previous build), not a copy.
    for rel in ("content/TST00001.1/setup.py", "content/TST00001.1/sources/image.bin"):
        assert after[rel] == before[rel]
    assert (tmp_path / "site" / "content" / "TST00002.2" / "install.py").read_bytes() == b"print('v2')\n"
    assert _catalog(tmp_path / "site").packages["TST00002"].files[0].size == len(b"print('v2')\n")


def test_a_failed_build_leaves_the_previous_site_untouched(tmp_path: Path) -> None:
    source = write_source(tmp_path / "src")
    build_site(source, tmp_path / "site")
    before = {p: p.read_bytes() for p in (tmp_path / "site").rglob("*") if p.is_file()}
    # A file that changes while it is read, in the middle of the copy.
    big = tmp_path / "src" / "packages" / "pkg0" / "sources" / "image.bin"
    big.write_bytes(os.urandom(3 << 20))

    def grow(done: int, total: int) -> None:
        if done:
            with open(big, "ab") as f:
                f.write(b"more")

    err = _refused(
        source,
        tmp_path / "site",
        "packages.TST00001.source",
        "'sources/image.bin' changed while it was read",
        progress=grow,
    )
    assert err.path == "packages.TST00001.source"
    assert {p: p.read_bytes() for p in (tmp_path / "site").rglob("*") if p.is_file()} == before
    assert not list(tmp_path.glob(".site.*"))


def test_a_source_rewritten_in_place_with_the_same_size_is_caught(tmp_path: Path) -> None:
    source = write_source(tmp_path / "src")
    big = tmp_path / "src" / "packages" / "pkg0" / "sources" / "image.bin"
    big.write_bytes(b"a" * (3 << 20))

    def rewrite(done: int, total: int) -> None:
        if done:
            with open(big, "r+b") as f:
                f.write(b"b")
            st = big.stat()
            os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # even within one clock tick

    _refused(source, tmp_path / "site", "changed while it was read", progress=rewrite)
    assert not (tmp_path / "site").exists()


# --- refusals --------------------------------------------------------------------------------


def _spec_with(tmp_path: Path, **package_fields: Any) -> Path:
    folder = tmp_path / "pkg"
    folder.mkdir(exist_ok=True)
    (folder / "a.txt").write_text("a")
    spec = source_spec({"TST00001": {"name": "P", "version": 1, "source": "pkg", **package_fields}})
    path = tmp_path / "SOURCE.json"
    path.write_text(json.dumps(spec))
    return path


@pytest.mark.parametrize("fields, where, words", [
    ({"source": "missing"}, "packages.TST00001.source", "no folder"),
    ({"source": "pkg/a.txt"}, "packages.TST00001.source", "is not a folder"),
    ({"source": 42}, "packages.TST00001.source", "expected a folder"),
    ({"files": []}, "packages.TST00001.files", "not allowed in SOURCE.json"),
    ({"sauce": "pkg"}, "packages.TST00001.sauce", "unknown field"),
    ({"version": 0}, "packages.TST00001.version", "expected"),
    ({"locations": [{"kind": "cloud", "url": "content/TST00001.2/"}]},
     "packages.TST00001.locations[0].url", "not this package's folder"),
])
def test_bad_package_fields_are_refused_by_path(tmp_path: Path, fields: dict[str, Any], where: str,
                                                words: str) -> None:
    source = _spec_with(tmp_path, **fields)
    err = _refused(source, tmp_path / "site", words)
    assert err.path == where
    assert not (tmp_path / "site").exists()


def test_a_missing_source_field_and_bad_json_are_refused(tmp_path: Path) -> None:
    spec = source_spec({"TST00001": {"name": "P", "version": 1}})
    (tmp_path / "a.json").write_text(json.dumps(spec))
    assert (
        _refused(tmp_path / "a.json", tmp_path / "site", "required field is missing").path == "packages.TST00001.source"
    )
    (tmp_path / "b.json").write_text('{"format": 1, "format": 1}')
    _refused(tmp_path / "b.json", tmp_path / "site", "the key 'format' twice")
    (tmp_path / "c.json").write_text('{"format": NaN}')
    _refused(tmp_path / "c.json", tmp_path / "site", "NaN is not a JSON number")
    (tmp_path / "d.json").write_bytes(b'\xff{"format": 1}')
    _refused(tmp_path / "d.json", tmp_path / "site", "not UTF-8")
    _refused(tmp_path / "missing.json", tmp_path / "site", "cannot read")
    spec["task_sequences"]["TST00100"]["steps"][0]["package"] = "TST09999"  # dangling reference
    spec["packages"]["TST00001"]["source"] = "."
    (tmp_path / "e.json").write_text(json.dumps(spec))
    assert _refused(tmp_path / "e.json", tmp_path / "out", "TST09999").path.startswith("task_sequences.TST00100")


@pytest.mark.parametrize("name, words", [
    ("back\\slash.txt", "backslash"),
    ("tab\there.txt", "control characters"),
    ("C:evil.txt", "drive letter"),
    # names that a Windows or macOS client could not hold as given
    ("CON", "named like a Windows device"),
    ("aux.txt", "named like a Windows device"),
    ("nul.tar.gz", "named like a Windows device"),
    ("trailing.", "ending in a dot or space"),
    ("trailing ", "ending in a dot or space"),
    ("stream:x", "which Windows does not allow"),
    ("invoice\u202etxt.exe", "U+202E, a bidirectional text control"),
])
def test_file_names_the_format_forbids_are_refused(tmp_path: Path, name: str, words: str) -> None:
    source = _spec_with(tmp_path)
    (tmp_path / "pkg" / name).write_text("x")
    err = _refused(source, tmp_path / "site", "cannot be published", words)
    assert err.path == "packages.TST00001.source" and repr(name) in str(err)


@pytest.mark.parametrize("folder", ["", "sub/"])
def test_nfc_and_nfd_twins_in_a_source_folder_are_refused(tmp_path: Path, folder: str) -> None:
    source = _spec_with(tmp_path)
    (tmp_path / "pkg" / folder).mkdir(exist_ok=True)
    (tmp_path / "pkg" / f"{folder}caf\u00e9.txt").write_text("nfc")
    (tmp_path / "pkg" / f"{folder}Cafe\u0301.txt").write_text("nfd")
    err = _refused(source, tmp_path / "site", "duplicate path", "Unicode normalization")
    assert err.path == "packages.TST00001.source"
    assert not (tmp_path / "site").exists()


def test_a_device_name_as_a_folder_is_refused(tmp_path: Path) -> None:
    source = _spec_with(tmp_path)
    (tmp_path / "pkg" / "Lpt1").mkdir()
    (tmp_path / "pkg" / "Lpt1" / "x.txt").write_text("x")
    _refused(source, tmp_path / "site", "'Lpt1/x.txt' cannot be published", "named like a Windows device")


def test_names_that_clash_ignoring_case_or_are_not_utf8_are_refused(tmp_path: Path) -> None:
    source = _spec_with(tmp_path)
    (tmp_path / "pkg" / "A.TXT").write_text("x")
    _refused(source, tmp_path / "site", "duplicate path", "ignoring case")
    (tmp_path / "pkg" / "A.TXT").unlink()
    (tmp_path / "pkg" / os.fsdecode(b"bad-\xff.txt")).write_text("x")
    _refused(source, tmp_path / "site", "not valid UTF-8")


def test_empty_source_folders_and_litter(tmp_path: Path) -> None:
    source = _spec_with(tmp_path)
    (tmp_path / "pkg" / "a.txt").unlink()
    (tmp_path / "pkg" / "empty").mkdir()
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "x.pyc").write_text("x")
    (tmp_path / "pkg" / ".DS_Store").write_text("x")
    _refused(source, tmp_path / "site", "the source folder holds no files")
    (tmp_path / "pkg" / "empty" / "real.txt").write_text("r")
    build_site(source, tmp_path / "site")
    assert [f.path for f in _catalog(tmp_path / "site").packages["TST00001"].files] == ["empty/real.txt"]


def test_symbolic_links_may_not_leave_their_source_folder(tmp_path: Path) -> None:
    source = _spec_with(tmp_path)
    pkg = tmp_path / "pkg"
    (tmp_path / "secret.txt").write_text("secret")
    (pkg / "inside").mkdir()
    (pkg / "inside" / "b.txt").write_text("b")
    (pkg / "link-to-a.txt").symlink_to("a.txt")
    (pkg / "link-to-inside").symlink_to("inside")
    build_site(source, tmp_path / "site")  # links inside the folder are followed and copied
    files = {f.path for f in _catalog(tmp_path / "site").packages["TST00001"].files}
    assert files == {"a.txt", "inside/b.txt", "link-to-a.txt", "link-to-inside/b.txt"}
    assert not (tmp_path / "site" / "content" / "TST00001.1" / "link-to-a.txt").is_symlink()

    (pkg / "escape.txt").symlink_to(tmp_path / "secret.txt")
    _refused(source, tmp_path / "site2", "'escape.txt' is a symbolic link leading outside the source folder")
    (pkg / "escape.txt").unlink()
    (pkg / "inside" / "up").symlink_to("../..")
    _refused(source, tmp_path / "site2", "/up' is a symbolic link leading outside")
    (pkg / "inside" / "up").unlink()
    (pkg / "inside" / "loop").symlink_to("..")
    _refused(source, tmp_path / "site2", "'inside/loop'", "loop")
    (pkg / "inside" / "loop").unlink()
    (pkg / "dangling").symlink_to("nowhere")
    _refused(source, tmp_path / "site2", "'dangling' is a symbolic link to nothing")
    (pkg / "dangling").unlink()
    os.mkfifo(pkg / "pipe")
    _refused(source, tmp_path / "site2", "'pipe' is not a regular file or folder")
    assert not (tmp_path / "site2").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file: no unreadable source to make")
def test_an_unreadable_source_file_is_refused(tmp_path: Path) -> None:
    source = _spec_with(tmp_path)
    (tmp_path / "pkg" / "a.txt").chmod(0)
    _refused(source, tmp_path / "site", "cannot read 'a.txt'", "Permission denied")


def test_the_output_folder_must_be_a_site_or_new_and_apart_from_the_sources(tmp_path: Path) -> None:
    source = write_source(tmp_path / "src")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("precious")
    _refused(source, tmp_path / "home", "not empty and holds no catalog.json")
    assert (tmp_path / "home" / "notes.txt").read_text() == "precious"
    (tmp_path / "afile").write_text("x")
    _refused(source, tmp_path / "afile", "is not a folder")
    (tmp_path / "link").symlink_to(tmp_path / "home")
    _refused(source, tmp_path / "link", "is a symbolic link")
    _refused(source, tmp_path / "src" / "packages" / "pkg0" / "out", "overlap")
    _refused(source, tmp_path / "src", "overlap")
    key = tmp_path / "src" / "packages" / "pkg1" / "site.key"
    key.write_text("k")
    _refused(source, tmp_path / "site", "the key file", "would be published",
             key=Ed25519PrivateKey.generate(), key_file=key)
    (tmp_path / "empty").mkdir()
    assert build_site(source, tmp_path / "empty").changed  # an empty folder is fine


def test_files_that_are_not_the_builds_are_dropped_from_a_previous_site(tmp_path: Path) -> None:
    source = write_source(tmp_path / "src")
    build_site(source, tmp_path / "site")
    (tmp_path / "site" / "stray.txt").write_text("x")
    assert build_site(source, tmp_path / "site").changed
    assert not (tmp_path / "site" / "stray.txt").exists()


def test_stale_staging_folders_are_removed(tmp_path: Path) -> None:
    source = write_source(tmp_path / "src")
    old = tmp_path / ".site.old-deadbeef"
    old.mkdir()
    stale = tmp_path / ".site.build-x"
    stale.mkdir()
    os.utime(stale, (0, 0))
    fresh = tmp_path / ".site.build-y"  # another build may be running right now
    fresh.mkdir()
    build_site(source, tmp_path / "site")
    assert not old.exists() and not stale.exists() and fresh.exists()


# --- the command line ----------------------------------------------------------------------


def test_cli_build_refusal_and_unchanged_rerun(tmp_path: Path) -> None:
    source = write_source(tmp_path / "src")
    first = run_cli("site", "build", str(source), str(tmp_path / "site"))
    assert first.rc == 0 and "Built the site" in first.stderr and "not signed" in first.stderr
    again = run_cli("site", "build", str(source), str(tmp_path / "site"))
    assert again.rc == 0 and "up to date" in again.stderr and "nothing was rewritten" in again.stderr
    shutil.rmtree(tmp_path / "src" / "packages" / "pkg1")
    refused = run_cli("site", "build", str(source), str(tmp_path / "site"))
    assert refused.rc == 2 and refused.stdout == ""
    assert "site build refused: packages.TST00002.source: no folder" in refused.stderr
    bad_key = run_cli("site", "build", str(source), str(tmp_path / "site"), "--key", str(source))
    assert bad_key.rc == 2 and "--key:" in bad_key.stderr


def test_a_package_given_twice_in_source_json_is_refused_with_its_path(tmp_path: Path) -> None:
    spec = source_spec({"TST00001": {"name": "P", "version": 1, "source": "p"}})
    text = json.dumps(spec).replace(
        '"packages": {', '"packages": {"TST00001": {"name": "Q", "version": 2, "source": "q"}, ', 1
    )
    (tmp_path / "a.json").write_text(text)
    err = _refused(tmp_path / "a.json", tmp_path / "site", "the key 'TST00001' twice")
    assert err.path == "packages.TST00001"
