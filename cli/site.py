"""`software-center site build|keygen|verify|import-ts`: an admin's tools for publishing a site.

    site build SOURCE.json OUT_DIR [--key KEYFILE]   package sources -> a static site
    site keygen KEYFILE                              a new Ed25519 key; prints the public key
    site verify OUT_DIR --public-key KEY             signature, catalog and every content file
    site import-ts SEQUENCE.xml [--unsupported disable] [--program PKG:NAME=COMMAND]...
                                                     ConfigMgr/MDT task-sequence XML -> the
                                                     site format's task sequence (stdout)

docs/ADMIN.md walks through publishing with them. Exit codes: 0 done, 2 refused (one line
on standard error saying why). Only the public key (keygen) and nothing else goes to
standard output, so `site keygen site.key > site.pub` keeps the public key in a file;
`site import-ts` prints the task sequence's JSON there and its report on standard error.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import stat
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin

from .exits import EXIT_OK
from .exits import fail as _fail

__all__ = ["add_site_parser", "site_command"]

# Sources at least this large get a progress bar (when standard error is a terminal).
PROGRESS_BAR_BYTES = 32 * 1024 * 1024
_SITE_BASE = "https://site.invalid/site/"


def add_site_parser(sub: Any) -> None:
    """Add `site` and its three commands to the top-level sub-parsers."""
    site = sub.add_parser("site", help="admin tools: build, sign and verify a site; import task sequences")
    cmds = site.add_subparsers(dest="site_command", metavar="SITE_COMMAND", required=True)

    p = cmds.add_parser("build", help="turn package source folders into a site (catalog.json + content/)")
    p.add_argument("source", metavar="SOURCE.json", type=Path,
                   help="a version-1 catalog whose packages name a source folder instead of files")
    p.add_argument("out_dir", metavar="OUT_DIR", type=Path, help="the site folder to create or update")
    p.add_argument("--key", metavar="KEYFILE", type=Path, help="sign the catalog with this private key")

    p = cmds.add_parser("import-ts", help="turn a ConfigMgr or MDT task-sequence XML export into the site "
                        "format's task sequence (JSON on standard output)")
    p.add_argument("sequence", metavar="SEQUENCE.xml", type=Path,
                   help="a <sequence> export, a ConfigMgr export's object.xml, or an MDT ts.xml")
    p.add_argument("--unsupported", choices=("refuse", "disable"), default="refuse",
                   help="what cannot be carried over: refuse the import (default), or keep those steps "
                        "disabled")
    p.add_argument("--program", action="append", default=[], metavar="PKG:NAME=COMMAND",
                   help="the command line of an Install Package step's program (repeatable)")
    p.add_argument("--name", help="the task sequence's name (default: the one in the file, else its file name)")

    p = cmds.add_parser("keygen", help="make an Ed25519 signing key; prints its public key")
    p.add_argument("keyfile", metavar="KEYFILE", type=Path, help="where to write the private key (mode 0600)")

    p = cmds.add_parser("verify", help="check a built site: signature, catalog and every content file")
    p.add_argument("out_dir", metavar="OUT_DIR", type=Path)
    p.add_argument("--public-key", required=True, metavar="KEY",
                   help="the public key that `site keygen` printed, or a file holding it")


def site_command(args: argparse.Namespace) -> int:
    if args.site_command == "build":
        return _build(args.source, args.out_dir, args.key)
    if args.site_command == "keygen":
        return _keygen(args.keyfile)
    if args.site_command == "verify":
        return _verify(args.out_dir, args.public_key)
    if args.site_command == "import-ts":
        return _import_ts(args.sequence, args.unsupported == "disable", args.program, args.name)
    raise AssertionError(args.site_command)  # argparse only lets known commands through


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


# --- import-ts -------------------------------------------------------------------------


def _import_ts(sequence: Path, disable: bool, program_args: list[str], name: str | None) -> int:
    import json

    from core import MAX_XML_BYTES, TaskSequenceImportError, import_task_sequence, read_regular_file

    programs: dict[str, str] = {}
    for given in program_args:
        key, sep, line = given.partition("=")
        if not sep or ":" not in key or not line.strip():
            return _fail(f"--program {given!r}: expected PACKAGEID:Program name=command line")
        programs[key] = line
    try:
        data = read_regular_file(sequence, MAX_XML_BYTES + 1)
    except OSError as exc:
        return _fail(f"cannot read {sequence}: {exc.strerror or exc}")
    try:
        result = import_task_sequence(data, disable_unsupported=disable, programs=programs,
                                      default_name=sequence.stem)
    except TaskSequenceImportError as exc:
        return _fail(f"{sequence}: cannot import it: {exc}")
    if name is not None:
        if not name.strip():
            return _fail("--name: expected a non-empty name")
        result.task_sequence["name"] = name
    ts_name = result.task_sequence["name"]
    print(f"{sequence}: \"{ts_name}\": {result.summary()}.", file=sys.stderr)
    for note in result.notes:
        print(f"  note: {note}", file=sys.stderr)
    if result.unsupported:
        print(f"Not supported here ({len(result.unsupported)}):", file=sys.stderr)
        for item in result.unsupported:
            never = "" if item.blocking else " [never ran in the source: disabled]"
            print(f"  {item.path}: {item.reason}{never}", file=sys.stderr)
    if result.refused:
        return _fail(f"import refused: {len(result.blocking)} steps cannot be carried over faithfully "
                     "(listed above); give --unsupported disable to keep them as disabled steps")
    if result.unsupported:
        print(f"{len(result.unsupported)} steps are kept as disabled steps that say what they were.",
              file=sys.stderr)
    print(json.dumps(result.task_sequence, indent=2, ensure_ascii=False), flush=True)
    return EXIT_OK


# --- keygen ----------------------------------------------------------------------------


def _keygen(keyfile: Path) -> int:
    from core import generate_key_file

    try:
        public = generate_key_file(keyfile)
    except FileExistsError:
        return _fail(f"{keyfile} already exists: refusing to overwrite a key (sites signed with it "
                     "would no longer verify); choose another file name")
    except OSError as exc:
        return _fail(f"cannot write the key file {keyfile}: {exc.strerror or exc}")
    print(f"Wrote the private key to {keyfile} (readable by you only). Keep it secret and backed up;\n"
          "sign with `software-center site build SOURCE.json OUT_DIR --key KEYFILE`.\n"
          "The public key, to pin on clients (--site-key, or \"site_key\" in the options file):",
          file=sys.stderr)
    print(public, flush=True)
    return EXIT_OK


# --- build -----------------------------------------------------------------------------


def _build(source: Path, out_dir: Path, keyfile: Path | None) -> int:
    from core import (
        KeyFileError,
        SiteBuildError,
        build_site,
        load_private_key,
        public_key_text,
    )

    key = None
    if keyfile is not None:
        try:
            key = load_private_key(keyfile)
        except KeyFileError as exc:
            return _fail(f"--key: {exc}")
        _warn_if_shared(keyfile)
    with _ProgressBar("Building the site") as bar:
        try:
            report = build_site(source, out_dir, key=key, key_file=keyfile, progress=bar.update)
        except SiteBuildError as exc:
            bar.stop()
            return _fail(f"site build refused: {exc}")
    what = f"{report.packages} packages, {report.files} files, {_size(report.total_bytes)}"
    if not report.changed:
        print(f"The site in {report.out_dir} is up to date ({what}): nothing was rewritten.", file=sys.stderr)
    else:
        print(f"Built the site in {report.out_dir}: {what} ({_size(report.copied_bytes)} copied, "
              "the rest unchanged).", file=sys.stderr)
    if key is not None:
        print(f"catalog.json is signed; clients pin the public key {public_key_text(key)}", file=sys.stderr)
    else:
        print("catalog.json is not signed (give --key KEYFILE to sign it).", file=sys.stderr)
    return EXIT_OK


def _warn_if_shared(keyfile: Path) -> None:
    try:
        mode = keyfile.stat().st_mode
    except OSError:
        return
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f"software-center: warning: the private key {keyfile} can be read by other users "
              f"(mode {stat.S_IMODE(mode):04o}); `chmod 600 {keyfile}`", file=sys.stderr)


class _ProgressBar:
    """A rich progress bar on standard error, shown for large sources on a terminal only."""

    def __init__(self, description: str) -> None:
        self.description = description
        self._progress: Any = None
        self._task: Any = None
        self._stopped = False

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def update(self, done: int, total: int) -> None:
        if self._stopped:
            return
        if self._progress is None:
            if total < PROGRESS_BAR_BYTES or not sys.stderr.isatty():
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(binary_units=True),
                TransferSpeedColumn(), TimeRemainingColumn(),
                console=Console(stderr=True), transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=total)
        self._progress.update(self._task, completed=done, total=total)

    def stop(self) -> None:
        if self._progress is not None and not self._stopped:
            self._progress.stop()
        self._stopped = True


# --- verify ----------------------------------------------------------------------------


def _verify(out_dir: Path, public_key: str) -> int:
    from core import (
        MAX_CATALOG_BYTES,
        MAX_SIGNATURE_BYTES,
        SIGNATURE_NAME,
        CatalogError,
        KeyFileError,
        UntrustedSiteError,
        parse_catalog,
        parse_public_key,
        read_regular_file,
        verify_catalog,
    )

    try:
        key = parse_public_key(public_key)
    except KeyFileError as exc:
        return _fail(f"--public-key: {exc}")
    catalog_path = out_dir / "catalog.json"
    try:
        data = read_regular_file(catalog_path, MAX_CATALOG_BYTES + 1)  # parse_catalog refuses more
    except OSError as exc:
        return _fail(f"cannot read {catalog_path}: {exc.strerror or exc}")
    try:
        sig: bytes | None = read_regular_file(out_dir / SIGNATURE_NAME, MAX_SIGNATURE_BYTES + 1)
    except FileNotFoundError:
        sig = None
    except OSError as exc:
        return _fail(f"cannot read {out_dir / SIGNATURE_NAME}: {exc.strerror or exc}")
    try:
        verify_catalog(key, data, sig)
    except UntrustedSiteError as exc:
        return _fail(f"{catalog_path}: {exc}")
    try:
        catalog = parse_catalog(data, _SITE_BASE + "catalog.json")
    except CatalogError as exc:
        return _fail(f"{catalog_path} is signed but invalid: {exc}")

    problems: list[str] = []
    files = size = 0
    for pid, pkg in catalog.packages.items():
        for loc in pkg.locations:
            url = urljoin(_SITE_BASE, loc.url)
            if not url.startswith(_SITE_BASE):
                continue  # another host or outside the site: not in this folder
            folder = out_dir.joinpath(*[unquote(p) for p in url[len(_SITE_BASE):].split("/") if p])
            for spec in pkg.files:
                path = folder.joinpath(*spec.path.split("/"))
                files += 1
                size += spec.size
                if (problem := _check_file(path, spec.size, spec.sha256)) is not None:
                    problems.append(f"{pid}: {spec.path}: {problem}")
    if problems:
        shown = "\n  ".join(problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        return _fail(f"the catalog's signature is good, but {len(problems)} of {files} content files "
                     f"do not match it:\n  {shown}{more}")
    print(f"{out_dir}: good signature; {len(catalog.packages)} packages, {files} content files "
          f"({_size(size)}) match the catalog.", file=sys.stderr)
    return EXIT_OK


def _check_file(path: Path, size: int, sha256: str) -> str | None:
    from core import NotRegularFileError, open_regular_file

    try:
        with os.fdopen(open_regular_file(path), "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_size != size:
                return f"{st.st_size} bytes, the catalog says {size}"
            digest = hashlib.sha256()
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except NotRegularFileError:
        return "not a file"
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    if digest.hexdigest() != sha256:
        return "its SHA-256 does not match the catalog"
    return None
