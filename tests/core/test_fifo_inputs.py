"""Files a user names by path are read only when they are regular files: a FIFO (or a
device) given as a key file, as `site build`'s SOURCE.json or one of its source files, or
inside a site that `site verify` reads, is refused in words instead of blocking forever.

The CLI cases run the real command with a timeout; the in-process cases run with a
watchdog that opens the FIFO for writing after a while, so a reader that blocked is
released (and the test fails on its message) instead of hanging the suite.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.fsutil import NotRegularFileError, open_regular_file, read_regular_file
from core.signing import KeyFileError, generate_key_file, load_private_key, parse_public_key
from core.sitebuild import copy_file, scan_source
from tests.core.helpers.publish import run_cli, write_source
from tests.core.sites import deployment, run_tool, tool_files, write_site

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")

CLI_TIMEOUT = 30


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.fixture
def release_after() -> Iterator[list[Path]]:
    """FIFOs appended to the list are opened for writing after 5 s, unless the test ended."""
    fifos: list[Path] = []
    done = threading.Event()

    def release() -> None:
        if done.wait(5):
            return
        for path in fifos:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                continue  # no reader: nothing to release
            os.close(fd)

    watchdog = threading.Thread(target=release, daemon=True)
    watchdog.start()
    yield fifos
    done.set()
    watchdog.join()


# --- the mechanism -----------------------------------------------------------------------


def test_open_regular_file_refuses_a_fifo_a_folder_and_a_device_without_blocking(
    tmp_path: Path, release_after: list[Path]
) -> None:
    pipe = fifo(tmp_path / "pipe")
    release_after.append(pipe)
    for path, kind in ((pipe, "a FIFO"), (tmp_path, "a folder"), (Path(os.devnull), "a device")):
        with pytest.raises(NotRegularFileError) as err:
            open_regular_file(path)
        assert err.value.strerror == f"not a regular file ({kind}" + (" (named pipe))" if kind == "a FIFO" else ")")
        assert isinstance(err.value, OSError)
    (tmp_path / "file").write_bytes(b"0123456789")
    assert read_regular_file(tmp_path / "file", 4) == b"0123"
    os.symlink(tmp_path / "file", tmp_path / "link")
    assert read_regular_file(tmp_path / "link", 100) == b"0123456789"
    os.symlink(pipe, tmp_path / "link-to-pipe")
    with pytest.raises(NotRegularFileError):
        open_regular_file(tmp_path / "link-to-pipe")
    with pytest.raises(FileNotFoundError):
        open_regular_file(tmp_path / "missing")


def test_a_fifo_key_file_is_refused_by_the_key_loaders(tmp_path: Path, release_after: list[Path]) -> None:
    pipe = fifo(tmp_path / "site.key")
    release_after.append(pipe)
    with pytest.raises(KeyFileError, match=r"not a regular file \(a FIFO"):
        load_private_key(pipe)
    with pytest.raises(KeyFileError, match=r"is not a regular file \(a FIFO \(named pipe\)\), not a public key file"):
        parse_public_key(str(pipe))
    with pytest.raises(KeyFileError, match=r"is not a regular file \(a device\)"):
        parse_public_key(os.devnull)


def test_a_source_file_replaced_by_a_fifo_after_listing_is_not_read(tmp_path: Path, release_after: list[Path]) -> None:
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "a.bin").write_bytes(b"data")
    [listed] = scan_source(folder, "packages.X.source")
    (folder / "a.bin").unlink()
    release_after.append(fifo(folder / "a.bin"))
    with pytest.raises(OSError, match="not a regular file"):
        copy_file(listed, tmp_path / "out.bin", where="packages.X.source")


# --- through the real command ------------------------------------------------------------


def test_site_build_refuses_a_fifo_source_json_and_a_fifo_key(tmp_path: Path) -> None:
    source = write_source(tmp_path / "src")
    pipe = fifo(tmp_path / "SOURCE.json")
    result = run_cli("site", "build", str(pipe), str(tmp_path / "site"), timeout=CLI_TIMEOUT)
    assert result.rc == 2 and "not a regular file (a FIFO" in result.stderr, result.stderr

    key = fifo(tmp_path / "site.key")
    result = run_cli("site", "build", str(source), str(tmp_path / "site"), "--key", str(key), timeout=CLI_TIMEOUT)
    assert result.rc == 2, result.stderr
    assert "--key: cannot read the key file" in result.stderr and "not a regular file" in result.stderr
    assert not (tmp_path / "site").exists()


def test_site_verify_refuses_a_fifo_public_key_and_fifos_in_the_site(tmp_path: Path) -> None:
    keyfile = tmp_path / "site.key"
    public = generate_key_file(keyfile)
    source = write_source(tmp_path / "src")
    site = tmp_path / "site"
    assert run_cli("site", "build", str(source), str(site), "--key", str(keyfile), timeout=CLI_TIMEOUT).rc == 0

    pipe = fifo(tmp_path / "site.pub")
    result = run_cli("site", "verify", str(site), "--public-key", str(pipe), timeout=CLI_TIMEOUT)
    assert result.rc == 2 and "--public-key:" in result.stderr and "not a regular file" in result.stderr

    content = next(p for p in (site / "content").rglob("*") if p.is_file())
    content.unlink()
    fifo(content)
    result = run_cli("site", "verify", str(site), "--public-key", public, timeout=CLI_TIMEOUT)
    assert result.rc == 2 and "not a file" in result.stderr, result.stderr

    for name in ("catalog.json.sig", "catalog.json"):
        (site / name).unlink()
        fifo(site / name)
        result = run_cli("site", "verify", str(site), "--public-key", public, timeout=CLI_TIMEOUT)
        assert result.rc == 2 and f"cannot read {site / name}: not a regular file" in result.stderr, result.stderr
        (site / name).unlink()
        (site / name).write_bytes(b"")


def test_a_fifo_site_key_is_refused_by_list(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", packages={"TOOLS": tool_files()},
                      task_sequences={"TS1": [run_tool("Hello", "--print", "hi")]},
                      deployments=[deployment("DEP1", "TS1")])
    pipe = fifo(tmp_path / "site.pub")
    result = run_cli("list", "--site", str(site), "--site-key", str(pipe), "--data-dir", str(tmp_path / "d"),
                     timeout=CLI_TIMEOUT)
    assert result.rc == 2 and "--site-key:" in result.stderr and "not a regular file" in result.stderr, result.stderr



def test_a_fifo_as_ca_bundle_is_refused_in_words(tmp_path: Path, release_after: list[Path]) -> None:
    """OpenSSL used to open the CA bundle itself, and blocked on a FIFO."""
    from core.errors import SiteUnreachableError
    from core.http import HttpSession

    release_after.append(fifo(tmp_path / "ca.pem"))
    session = HttpSession(ca_bundle=tmp_path / "ca.pem")
    with pytest.raises(SiteUnreachableError, match="not a regular file"):
        session.check_trust_settings()
