"""`software-center site build`: package source folders -> a static site (docs/SITE-FORMAT.md).

    build_site(source_json, out_dir, key=None, progress=None) -> BuildReport
    scan_source(folder, where) / copy_file(...)   shared with the demo site's builder

SOURCE.json is a version-1 catalog in which each package names a folder instead of
listing its files:

    "packages": {"PS100012": {"name": "...", "version": 3, "source": "packages/win11",
                              "locations": [...optional...]}}

`source` is relative to SOURCE.json. Without `locations` a package gets one cloud
location, `content/<ID>.<version>/`. The build:

 1. reads SOURCE.json (UTF-8 JSON, no duplicate keys) and lists every source folder:
    symbolic links may point only inside their own source folder, only regular files and
    folders are taken, `SKIPPED_NAMES` and `*.pyc` are left out, file names must be UTF-8;
 2. checks the whole catalog with the client's own `parse_catalog` on a draft (real paths
    and sizes, placeholder hashes), so every rule of the format (path segments, control
    and bidirectional-text characters, backslashes, drive letters, names Windows cannot
    hold such as CON or "a.", twins ignoring case and Unicode normalization, IDs,
    references...) is enforced with its field path before a single byte is copied;
 3. copies every file to `content/<ID>.<version>/<path>` in a staging folder beside
    OUT_DIR, hashing as it reads. A file whose size, mtime or inode moves while it is read
    is refused ("changed while it was read"). A file already in OUT_DIR with the same
    bytes (compared, not assumed) is hard-linked instead of copied;
 4. writes `catalog.json` (checked by `parse_catalog` again) and, with a key,
    `catalog.json.sig` (core/signing.py);
 5. if OUT_DIR already holds exactly these files, bytes and catalog, drops the staging
    folder and changes nothing. Otherwise swaps the staging folder in: with Linux's
    renameat2(RENAME_EXCHANGE) in one atomic step, elsewhere by two renames (OUT_DIR is
    briefly absent, never half-built). OUT_DIR is wholly the build's: files that the build
    did not make are not kept.

Refusals are `SiteBuildError`s naming the SOURCE.json field (`packages.PS100012.source`)
and the file, in words. OUT_DIR must be a new or empty folder or an earlier site (it has
a catalog.json): the build never replaces a folder that holds something else.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import hashlib
import json
import logging
import os
import secrets
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .catalog import MAX_CATALOG_BYTES, duplicate_key_path, parse_catalog
from .errors import CatalogError, SiteBuildError, TaskSequenceImportError
from .fsutil import fsync_dir, open_regular_file, read_regular_file
from .signing import SIGNATURE_NAME, sign_catalog
from .tsimport import MAX_XML_BYTES, import_task_sequence

__all__ = [
    "SKIPPED_NAMES",
    "BuildReport",
    "SourceFile",
    "build_site",
    "copy_file",
    "remove_leftovers",
    "scan_source",
]

log = logging.getLogger("software_center.sitebuild")

# Operating-system litter and Python byte code (the demo's sources are importable).
SKIPPED_NAMES = frozenset({"__pycache__", ".DS_Store", "Thumbs.db", "desktop.ini"})
_CHUNK = 1 << 20
_STALE_BUILD_S = 3600.0
_PACKAGE_FIELDS = ("name", "version", "source", "locations")
_PLACEHOLDER_SHA256 = "0" * 64
_SITE_BASE = "https://site.invalid/site/"  # to resolve relative locations against

Progress = Callable[[int, int], None]  # (bytes done, bytes in total)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file of a source folder, as listed before copying."""

    rel: str  # its path in the package (POSIX, as the catalog will list it)
    path: Path  # where to read it (through a symbolic link inside the folder, if it is one)
    size: int
    identity: tuple[int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns when listed


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build did."""

    out_dir: Path
    changed: bool  # False: OUT_DIR already held this exact site and was not touched
    packages: int
    files: int
    total_bytes: int  # of every package file
    copied_bytes: int  # written anew (the rest was hard-linked from the previous build)
    signed: bool


# --- listing a source folder -----------------------------------------------------------


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def scan_source(folder: Path, where: str) -> list[SourceFile]:
    """Every file under `folder`, sorted by path. Raises SiteBuildError at `where`.

    Refuses symbolic links that lead outside `folder` (or nowhere, or in a loop), entries
    that are neither files nor folders, and names that are not valid UTF-8.
    """
    try:
        root = folder.resolve(strict=True)
        if not root.is_dir():
            raise SiteBuildError(where, f"{folder} is not a folder")
    except FileNotFoundError:
        raise SiteBuildError(where, f"no folder {folder}") from None
    except OSError as exc:
        raise SiteBuildError(where, f"cannot open the folder {folder}: {exc.strerror or exc}") from None
    except RuntimeError:  # a symlink loop in the folder's own path (Python < 3.13)
        raise SiteBuildError(where, f"cannot open the folder {folder}: symbolic link loop") from None

    files: list[SourceFile] = []
    root_st = os.stat(root)
    # (folder on disk, its path in the package, the (dev, inode) of it and its parents)
    stack: list[tuple[Path, str, frozenset[tuple[int, int]]]] = [
        (root, "", frozenset({(root_st.st_dev, root_st.st_ino)}))
    ]
    while stack:
        directory, prefix, ancestors = stack.pop()
        shown = prefix.rstrip("/") or "."
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise SiteBuildError(
                where, f"cannot read the folder {shown!r} in {folder}: {exc.strerror or exc}"
            ) from None
        subfolders: list[tuple[Path, str, frozenset[tuple[int, int]]]] = []
        for entry in entries:
            name = entry.name
            if name in SKIPPED_NAMES or name.endswith(".pyc"):
                continue
            rel = prefix + name
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                raise SiteBuildError(
                    where, f"the file name {rel!r} is not valid UTF-8, so it cannot be published"
                ) from None
            try:
                if entry.is_symlink():
                    try:
                        target = Path(entry.path).resolve(strict=True)
                    except FileNotFoundError:
                        raise SiteBuildError(
                            where, f"{rel!r} is a symbolic link to nothing ({os.readlink(entry.path)!r})"
                        ) from None
                    except RuntimeError:
                        raise SiteBuildError(where, f"{rel!r} is a symbolic link loop") from None
                    if not target.is_relative_to(root):
                        raise SiteBuildError(
                            where, f"{rel!r} is a symbolic link leading outside the source folder (to {target})"
                        )
                    st = os.stat(entry.path)
                else:
                    st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise SiteBuildError(where, f"{rel!r} is a symbolic link loop") from None
                raise SiteBuildError(where, f"cannot read {rel!r}: {exc.strerror or exc}") from None
            if stat.S_ISDIR(st.st_mode):
                node = (st.st_dev, st.st_ino)
                if node in ancestors:
                    raise SiteBuildError(where, f"{rel!r} is a symbolic link to a folder that contains it (a loop)")
                subfolders.append((Path(entry.path), rel + "/", ancestors | {node}))
            elif stat.S_ISREG(st.st_mode):
                files.append(SourceFile(rel, Path(entry.path), st.st_size, _identity(st)))
            else:
                raise SiteBuildError(where, f"{rel!r} is not a regular file or folder (a device, socket or pipe)")
        stack.extend(reversed(subfolders))  # depth first, in name order: the first problem is reported
    files.sort(key=lambda f: f.rel)
    return files


# --- copying ---------------------------------------------------------------------------


class _Changed(Exception):
    """The source file moved while it was read."""


def _open_source(src: SourceFile) -> int:
    # Listed as a regular file, but it may have been replaced since: never block on a FIFO.
    fd = open_regular_file(src.path)
    try:
        if _identity(os.fstat(fd)) != src.identity:
            raise _Changed()
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_chunks(fd: int, src: SourceFile) -> Iterator[bytes]:
    """The file's bytes from offset 0; raises _Changed if it is not exactly what was listed."""
    os.lseek(fd, 0, os.SEEK_SET)
    remaining = src.size
    while True:
        chunk = os.read(fd, min(_CHUNK, remaining) if remaining else 1)
        if not chunk:
            break
        if len(chunk) > remaining:
            raise _Changed()  # it grew
        remaining -= len(chunk)
        yield chunk
    if remaining or _identity(os.fstat(fd)) != src.identity:
        raise _Changed()


def _same_bytes(fd: int, src: SourceFile, existing: Path, on_bytes: Callable[[int], None]) -> str | None:
    """SHA-256 of the source if `existing` holds exactly its bytes, else None."""
    try:
        other = os.fdopen(open_regular_file(existing), "rb")
    except OSError:
        return None
    digest = hashlib.sha256()
    with other:
        for chunk in _read_chunks(fd, src):
            if other.read(len(chunk)) != chunk:
                return None
            digest.update(chunk)
            on_bytes(len(chunk))
        if other.read(1):
            return None
    return digest.hexdigest()


def copy_file(src: SourceFile, dst: Path, *, where: str, on_bytes: Callable[[int], None] | None = None,
              reuse: Path | None = None) -> tuple[str, bool]:
    """Copy `src` to the new file `dst`, hashing it; return (SHA-256, reused).

    `reuse`: a file of an earlier build at the same place; when it holds the same bytes it
    is hard-linked to `dst` instead (reused=True). Raises SiteBuildError at `where` when
    the source changes or disappears while it is read, OSError when something cannot be
    read or written.
    """
    try:
        return _copy_file(src, dst, on_bytes or (lambda n: None), reuse)
    except _Changed:
        raise SiteBuildError(where, f"{src.rel!r} changed while it was read; build again once "
                             "the source is no longer being written") from None
    except FileNotFoundError as exc:
        if exc.filename is not None and os.fspath(exc.filename) == os.fspath(src.path):
            raise SiteBuildError(where, f"{src.rel!r} disappeared while the site was built") from None
        raise


def _copy_file(src: SourceFile, dst: Path, count: Callable[[int], None], reuse: Path | None) -> tuple[str, bool]:
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd = _open_source(src)
    try:
        if reuse is not None:
            try:
                st = os.lstat(reuse)
            except OSError:
                st = None
            if st is not None and stat.S_ISREG(st.st_mode) and st.st_size == src.size:
                done = 0

                def counting(n: int) -> None:
                    nonlocal done
                    done += n
                    count(n)

                digest = _same_bytes(fd, src, reuse, counting)
                if digest is not None:
                    try:
                        os.link(reuse, dst, follow_symlinks=False)
                        return digest, True
                    except OSError:  # no hard links here: copy after all
                        pass
                count(-done)
        hasher = hashlib.sha256()
        out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        try:
            for chunk in _read_chunks(fd, src):
                hasher.update(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view):]
                count(len(chunk))
            os.fsync(out)
        finally:
            os.close(out)
        return hasher.hexdigest(), False
    finally:
        os.close(fd)


# --- reading SOURCE.json -------------------------------------------------------------------


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise SiteBuildError("", f"SOURCE.json is not valid JSON ({name} is not a JSON number)")


def _read_source_json(path: Path) -> dict[str, Any]:
    try:
        data = read_regular_file(path, MAX_CATALOG_BYTES + 1)
    except OSError as exc:
        raise SiteBuildError("", f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_CATALOG_BYTES:
        raise SiteBuildError("", f"{path} is larger than {MAX_CATALOG_BYTES >> 20} MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SiteBuildError("", f"{path} is not UTF-8 text (byte {exc.start})") from None
    try:
        spec = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _DuplicateKey as dup:
        raise SiteBuildError(duplicate_key_path(text) or "", f"SOURCE.json has the key {dup.key!r} twice "
                             "in one object") from None
    except ValueError as exc:
        raise SiteBuildError("", f"{path} is not valid JSON ({exc})") from None
    except RecursionError:
        raise SiteBuildError("", f"{path} nests arrays and objects too deeply") from None
    if not isinstance(spec, dict):
        raise SiteBuildError("", f"{path} must hold a JSON object (a version-1 catalog with sources)")
    packages = spec.get("packages")
    if not isinstance(packages, dict):
        raise SiteBuildError("packages", "expected an object of packages, each with a source folder")
    for pid, pkg in packages.items():
        where = f"packages.{pid}"
        if not isinstance(pkg, dict):
            raise SiteBuildError(where, "expected an object")
        for name in pkg:
            if name == "files":
                raise SiteBuildError(f"{where}.files", "not allowed in SOURCE.json: the build lists "
                                     "a package's files from its source folder")
            if name not in _PACKAGE_FIELDS:
                raise SiteBuildError(f"{where}.{name}", f"unknown field (a source package has "
                                     f"{', '.join(_PACKAGE_FIELDS)})")
        source = pkg.get("source")
        if source is None:
            raise SiteBuildError(f"{where}.source", "required field is missing")
        if not isinstance(source, str) or not source.strip() or "\0" in source:
            raise SiteBuildError(f"{where}.source", "expected a folder, relative to SOURCE.json")
    if isinstance(spec.get("task_sequences"), dict):
        for tid, ts in spec["task_sequences"].items():
            if isinstance(ts, dict) and "import" in ts:
                spec["task_sequences"][tid] = _import_ts(ts, f"task_sequences.{tid}", path.parent)
    return spec


_IMPORT_FIELDS = ("name", "import", "unsupported", "programs")


def _import_ts(ts: dict[str, Any], where: str, base: Path) -> dict[str, Any]:
    """A task sequence given as `"import": "PATH.xml"` (ConfigMgr or MDT XML) instead of
    its steps, read by core/tsimport.py; `"unsupported": "disable"` keeps what cannot be
    carried over as disabled steps, else the build is refused naming every such step."""
    for key in ts:
        if key not in _IMPORT_FIELDS:
            raise SiteBuildError(f"{where}.{key}", "not allowed next to \"import\" (an imported task "
                                 f"sequence has {', '.join(_IMPORT_FIELDS)})")
    source = ts["import"]
    if not isinstance(source, str) or not source.strip() or "\0" in source:
        raise SiteBuildError(f"{where}.import", "expected the path of a task-sequence XML file, relative to "
                             "SOURCE.json")
    mode = ts.get("unsupported", "refuse")
    if mode not in ("refuse", "disable"):
        raise SiteBuildError(f"{where}.unsupported", "expected refuse or disable")
    programs = ts.get("programs", {})
    if not isinstance(programs, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in programs.items()):
        raise SiteBuildError(f"{where}.programs", "expected an object of \"PACKAGEID:Program name\": "
                             "\"command line\"")
    given_name = ts.get("name")
    if given_name is not None and (not isinstance(given_name, str) or not given_name.strip()):
        raise SiteBuildError(f"{where}.name", "expected a non-empty string")
    xml_path = base / source
    try:
        data = read_regular_file(xml_path, MAX_XML_BYTES + 1)
    except OSError as exc:
        raise SiteBuildError(f"{where}.import", f"cannot read {xml_path}: {exc.strerror or exc}") from None
    try:
        result = import_task_sequence(data, disable_unsupported=mode == "disable", programs=programs,
                                      default_name=xml_path.stem)
    except TaskSequenceImportError as exc:
        at = f" at {exc.path}" if exc.path else ""
        raise SiteBuildError(f"{where}.import", f"{source}{at}: {exc.problem}") from None
    if result.refused:
        items = "; ".join(str(u) for u in result.blocking)
        raise SiteBuildError(f"{where}.import", f"{source}: {len(result.blocking)} steps cannot be carried over "
                             "faithfully (set \"unsupported\": \"disable\" to keep them as disabled steps): "
                             f"{items}")
    imported = dict(result.task_sequence)
    if given_name is not None:
        imported["name"] = given_name
    return imported


def _encode(catalog: dict[str, Any]) -> bytes:
    try:
        return json.dumps(catalog, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        raise SiteBuildError("", "SOURCE.json holds a string with an unpaired surrogate "
                             "(a \\ud800-\\udfff escape), which is not text") from None


def _catalog(spec: dict[str, Any], files: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The catalog: SOURCE.json with each package's `source` replaced by its `files`."""
    packages: dict[str, Any] = {}
    for pid, pkg in spec["packages"].items():
        entry: dict[str, Any] = {}
        for name, value in pkg.items():
            if name == "source":
                entry["files"] = files[pid]
            elif name != "locations":
                entry[name] = value
        entry["locations"] = pkg.get("locations", [{"kind": "cloud", "url": _folder_url(pid, pkg.get("version"))}])
        packages[pid] = entry
    return {k: (packages if k == "packages" else v) for k, v in spec.items()}


def _folder_url(pid: str, version: Any) -> str:
    return f"content/{pid}.{version}/"


def _check_draft(spec: dict[str, Any], listed: dict[str, list[SourceFile]]) -> None:
    """Every rule of the format, before copying: paths, sizes, IDs, references, locations."""
    files = {
        pid: [{"path": f.rel, "size": f.size, "sha256": _PLACEHOLDER_SHA256} for f in listed[pid]]
        for pid in listed
    }
    data = _encode(_catalog(spec, files))
    try:
        parse_catalog(data, _SITE_BASE + "catalog.json")
    except CatalogError as exc:
        for pid, entries in listed.items():
            prefix = f"packages.{pid}.files"
            if exc.path == prefix:
                raise SiteBuildError(f"packages.{pid}.source", "the source folder holds no files") from None
            if exc.path.startswith(prefix + "["):
                index = int(exc.path[len(prefix) + 1:].split("]", 1)[0])
                rel = entries[index].rel if index < len(entries) else "?"
                raise SiteBuildError(
                    f"packages.{pid}.source", f"{rel!r} cannot be published: {exc.problem}"
                ) from None
        raise SiteBuildError(exc.path, exc.problem) from None
    # A relative location inside the site must be the package's own folder: that is the
    # only place the build puts its files (catches typos that would 404 on every client).
    for pid, pkg in spec["packages"].items():
        own = urljoin(_SITE_BASE, _folder_url(pid, pkg["version"]))
        for i, loc in enumerate(pkg.get("locations") or []):
            url = urljoin(_SITE_BASE, loc["url"])
            if url.startswith(_SITE_BASE) and url != own:
                raise SiteBuildError(
                    f"packages.{pid}.locations[{i}].url",
                    f"{loc['url']!r} is in the site but not this package's folder "
                    f"{_folder_url(pid, pkg['version'])!r}, where the build puts its files",
                )


# --- the output folder -----------------------------------------------------------------


def _check_out_dir(out_dir: Path, source_json: Path, folders: dict[str, Path], key_file: Path | None) -> None:
    if out_dir.is_symlink():
        raise SiteBuildError("", f"{out_dir} is a symbolic link; give the folder itself")
    out = out_dir.resolve()
    for pid, folder in folders.items():
        f = folder.resolve()
        if out.is_relative_to(f) or f.is_relative_to(out):
            raise SiteBuildError(f"packages.{pid}.source", f"the source folder {folder} and the output "
                                 f"folder {out_dir} overlap")
        if key_file is not None and key_file.resolve().is_relative_to(f):
            raise SiteBuildError(f"packages.{pid}.source", f"the key file {key_file} is inside this source "
                                 "folder: it would be published")
    if source_json.resolve().is_relative_to(out):
        raise SiteBuildError("", f"{source_json} is inside the output folder, which the build replaces")
    if key_file is not None and key_file.resolve().is_relative_to(out):
        raise SiteBuildError("", f"the key file {key_file} is inside the output folder, which is published")
    if out_dir.exists():
        if not out_dir.is_dir():
            raise SiteBuildError("", f"{out_dir} exists and is not a folder")
        try:
            empty = not any(out_dir.iterdir())
        except OSError as exc:
            raise SiteBuildError("", f"cannot read {out_dir}: {exc.strerror or exc}") from None
        if not empty and not (out_dir / "catalog.json").is_file():
            raise SiteBuildError(
                "", f"{out_dir} is not empty and holds no catalog.json: refusing to replace a folder "
                "that is not a site (give a new or empty folder)"
            )


def remove_leftovers(out_dir: Path) -> None:
    """Folders of interrupted builds and swaps beside `out_dir` (a fresh build is left alone)."""
    now = time.time()
    for kind in ("build", "old"):
        for path in out_dir.parent.glob(f".{out_dir.name}.{kind}-*"):
            try:
                if kind == "old" or now - path.stat().st_mtime > _STALE_BUILD_S:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass


def _tree(root: Path) -> set[str]:
    """Every entry under `root` as a relative path, folders with a trailing '/'."""
    out: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        out.update(prefix + d + "/" for d in dirnames)
        out.update(prefix + f for f in filenames)
    return out


def _same_tree(new: Path, old: Path) -> bool:
    """`old` holds the same entries as `new` and the same catalog.json and signature."""
    if not old.is_dir():
        return False
    try:
        if _tree(new) != _tree(old):
            return False
        for name in ("catalog.json", SIGNATURE_NAME):
            a, b = new / name, old / name
            if a.exists() != b.exists() or (a.exists() and a.read_bytes() != b.read_bytes()):
                return False
    except OSError:
        return False
    return True


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux renameat2). False where that is not possible."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    result: int = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def _swap_in(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    if _exchange(staging, out_dir):
        shutil.rmtree(staging, ignore_errors=True)  # now the previous site
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{secrets.token_hex(4)}")
    os.rename(out_dir, old)
    try:
        os.rename(staging, out_dir)
    except OSError:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _fsync_dirs(root: Path) -> None:
    for dirpath, _dirs, _files in os.walk(root):
        fsync_dir(Path(dirpath))


# --- the build -------------------------------------------------------------------------


def build_site(source_json: Path, out_dir: Path, *, key: Ed25519PrivateKey | None = None,
               key_file: Path | None = None, progress: Progress | None = None) -> BuildReport:
    """Build the site described by `source_json` into `out_dir` (see the module docstring).

    `key` signs the catalog (`key_file` is where it came from, only to refuse publishing
    it). `progress(done, total)` is called as bytes are read. Raises SiteBuildError.
    """
    source_json = Path(source_json)
    out_dir = Path(os.path.abspath(out_dir))
    spec = _read_source_json(source_json)
    base = source_json.parent
    folders: dict[str, Path] = {}
    listed: dict[str, list[SourceFile]] = {}
    for pid, pkg in spec["packages"].items():
        folder = base / pkg["source"]
        folders[pid] = folder
        listed[pid] = scan_source(folder, f"packages.{pid}.source")
    _check_draft(spec, listed)
    _check_out_dir(out_dir, source_json, folders, key_file)

    total = sum(f.size for files in listed.values() for f in files)
    done = 0

    def on_bytes(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    if progress is not None:
        progress(0, total)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(out_dir)
        staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.build-"))
    except OSError as exc:
        raise SiteBuildError("", f"cannot create the output folder beside {out_dir}: {exc.strerror or exc}") from None
    started = time.monotonic()
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a site is meant to be served
        copied = 0
        files: dict[str, list[dict[str, Any]]] = {}
        for pid, pkg in spec["packages"].items():
            folder_name = f"{pid}.{pkg['version']}"
            entries = []
            for src in listed[pid]:
                at = f"packages.{pid}.source"
                rel_parts = src.rel.split("/")
                dst = staging.joinpath("content", folder_name, *rel_parts)
                previous = out_dir.joinpath("content", folder_name, *rel_parts)
                try:
                    digest, reused = copy_file(src, dst, where=at, on_bytes=on_bytes, reuse=previous)
                except OSError as exc:
                    if exc.filename is not None and Path(exc.filename).is_relative_to(staging):
                        raise SiteBuildError("", f"cannot write the site beside {out_dir}: "
                                             f"{exc.strerror or exc}") from None
                    raise SiteBuildError(at, f"cannot read {src.rel!r}: {exc.strerror or exc}") from None
                copied += 0 if reused else src.size
                entries.append({"path": src.rel, "size": src.size, "sha256": digest})
            files[pid] = entries
        data = _encode(_catalog(spec, files))
        try:
            parse_catalog(data, (staging / "catalog.json").as_uri())
        except CatalogError as exc:  # the draft passed, so this is a bug, not the admin's fault
            raise SiteBuildError(exc.path, f"the built catalog is invalid: {exc.problem}") from None
        (staging / "catalog.json").write_bytes(data)
        if key is not None:
            (staging / SIGNATURE_NAME).write_bytes(sign_catalog(key, data))
        for name in ("catalog.json", SIGNATURE_NAME):
            if (staging / name).exists():
                os.chmod(staging / name, 0o644)
        report = BuildReport(
            out_dir=out_dir, changed=True, packages=len(files),
            files=sum(len(v) for v in files.values()), total_bytes=total, copied_bytes=copied,
            signed=key is not None,
        )
        if _same_tree(staging, out_dir):
            log.info("The site in %s is up to date; nothing rewritten", out_dir)
            return dataclasses.replace(report, changed=False)
        _fsync_dirs(staging)
        try:
            _swap_in(staging, out_dir)
        except OSError as exc:
            raise SiteBuildError("", f"cannot put the new site in place at {out_dir}: {exc.strerror or exc}") from None
        _fsync_parent(out_dir)
        log.info("Built the site in %s: %d files, %.1f MiB (%.1f MiB written) in %.2f s", out_dir,
                 report.files, total / (1 << 20), copied / (1 << 20), time.monotonic() - started)
        return report
    except OSError as exc:
        raise SiteBuildError("", f"cannot write the site beside {out_dir}: {exc.strerror or exc}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _fsync_parent(path: Path) -> None:
    fsync_dir(path.parent)
