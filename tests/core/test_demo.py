"""The embedded demo site: its build, its server, and the programs its packages run.

Real files, a real HTTP server on loopback and real subprocesses; no mocks.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from core.catalog import (
    Catalog,
    CheckReadinessStep,
    DownloadPackageContentStep,
    GroupStep,
    InstallPackageStep,
    RestartStep,
    RunCommandStep,
    SetVariableStep,
    UpgradeOsStep,
    iter_steps,
    parse_catalog,
)
from core.demo import DEMO_SPEC_DIR, DemoServer, build_demo_site, serve_forever
from core.eligibility import Refusal, check_eligibility, is_listed
from core.errors import CatalogError

MiB = 1 << 20
SMALL = 1 / 256  # install.wim 1 MiB, the driver cab 128 KiB

# SHA-256 of the first MiB of the OS image's generated install.wim (seed
# "NWT00012.3 sources/install.wim"). The same on every machine; it changes only if the
# generator or the seed changes, and then every cached demo download is invalid.
INSTALL_WIM_FIRST_MIB_SHA256 = "a8b543e8236010cd3c73a90d84d92a4caa14f3002afe211855ea506cd9b31c6d"

OS_IMAGE, DRIVERS, PORTAL, LEDGER = "NWT00012", "NWT00015", "NWT00018", "NWT00019"
HAPPY, INTRANET_ONLY, DIRECT, DP_ONLY = "NWT20001", "NWT20002", "NWT20003", "NWT20004"
DOWNLOAD_ALL, REQUIRED, MEDIA_PXE, COMPAT_BLOCK, NOT_YET = (
    "NWT20005", "NWT20006", "NWT20007", "NWT20008", "NWT20009")

PROGRESS = re.compile(r"^PROGRESS (\d{1,3}) (\S.*)$")


@pytest.fixture(scope="module")
def default_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real demo site, at its real sizes (~290 MiB, about a second to build)."""
    return build_demo_site(tmp_path_factory.mktemp("default") / "demo-site")


@pytest.fixture(scope="module")
def small_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_site(tmp_path_factory.mktemp("small") / "demo-site", scale=SMALL)


def _catalog(site: Path) -> Catalog:
    return parse_catalog((site / "catalog.json").read_bytes(), (site / "catalog.json").as_uri())


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- the catalog -----------------------------------------------------------------------


def test_default_site_has_every_deployment_kind(default_site: Path) -> None:
    cat = _catalog(default_site)
    assert cat.site.code == "NWT"
    deps = {d.id: d for d in cat.deployments}
    assert len(deps) == len(cat.deployments) == 9

    happy = deps[HAPPY]
    assert (happy.purpose, happy.available_to, happy.allow_internet, happy.download) == (
        "available", "clients", True, "on_demand")
    assert happy.high_impact and happy.restart_required
    assert deps[INTRANET_ONLY].allow_internet is False
    assert deps[DIRECT].download == "direct"
    assert deps[DOWNLOAD_ALL].download == "all_before_start" and deps[DOWNLOAD_ALL].allow_internet
    assert deps[REQUIRED].purpose == "required"
    # 20 minutes after the site was built (the demo's upgrade comes due while one watches)
    built = datetime.fromtimestamp((default_site / "catalog.json").stat().st_mtime, UTC)
    assert deps[REQUIRED].deadline is not None
    assert abs((deps[REQUIRED].deadline - built).total_seconds() - 20 * 60) < 5
    assert deps[MEDIA_PXE].available_to == "media_pxe" and not is_listed(deps[MEDIA_PXE])
    not_yet = deps[NOT_YET].available_from
    assert not_yet is not None and not_yet.year == 2099

    # The DP-only deployment references a package whose only location is an on-premises DP.
    ledger = cat.packages[LEDGER]
    assert [loc.kind for loc in ledger.locations] == ["dp"]
    assert ledger.locations[0].url.startswith("http://dp01.corp.northwind.example/")
    assert LEDGER in {s.package for s in iter_steps(cat.task_sequences[deps[DP_ONLY].task_sequence].steps)
                      if isinstance(s, InstallPackageStep)}

    # Every other package: a cloud location relative to the catalog; the OS image a DP first.
    for pid, pkg in cat.packages.items():
        if pid != LEDGER:
            assert pkg.locations[-1].kind == "cloud"
            assert pkg.locations[-1].url == f"content/{pid}.{pkg.version}/"
    assert [loc.kind for loc in cat.packages[OS_IMAGE].locations] == ["dp", "cloud"]

    # The compatibility-block deployment's upgrade asks setup for 0xC1900208.
    compat = [s for s in iter_steps(cat.task_sequences[deps[COMPAT_BLOCK].task_sequence].steps)
              if isinstance(s, UpgradeOsStep)]
    assert len(compat) == 1
    assert compat[0].command[-2:] == ["/simulate-result", "0xC1900208"]


def test_happy_path_task_sequence_shows_every_feature(default_site: Path) -> None:
    cat = _catalog(default_site)
    ts = cat.task_sequences[cat.deployment(HAPPY).task_sequence]  # type: ignore[union-attr]
    first = ts.steps[0]
    assert isinstance(first, GroupStep) and first.name == "Prepare for Upgrade"
    readiness = next(s for s in first.steps if isinstance(s, CheckReadinessStep))
    assert readiness.min_free_disk_mb == 512 and readiness.min_memory_mb == 256
    duration = next(s for s in first.steps if isinstance(s, SetVariableStep) and s.variable == "DemoSetupSeconds")
    assert duration.value == "60"
    assert duration.condition == {"variable": "DemoSetupSeconds", "op": "not_exists"}

    steps = list(iter_steps(ts.steps))
    drivers = next(s for s in steps if isinstance(s, DownloadPackageContentStep))
    assert drivers.packages == [DRIVERS] and drivers.path_variable == "DRIVERS"
    upgrade = next(s for s in steps if isinstance(s, UpgradeOsStep) and s.enabled)
    assert upgrade.package == OS_IMAGE and not upgrade.compat_scan_only
    assert "%DRIVERS01%" in upgrade.command
    assert upgrade.command[-2:] == ["/duration", "%DemoSetupSeconds%"]
    restart = next(s for s in steps if isinstance(s, RestartStep))
    assert steps.index(drivers) < steps.index(upgrade) < steps.index(restart)  # on demand: just before
    portal = next(s for s in steps if isinstance(s, InstallPackageStep))
    assert portal.package == PORTAL and portal.continue_on_error
    conditional = [s for s in steps if isinstance(s, RunCommandStep) and s.condition is not None]
    assert conditional and conditional[0].condition["variable"] == "_SMSTSLastActionSucceeded"  # type: ignore[index]
    assert any(not s.enabled for s in steps)


def test_each_refusal_is_demonstrated_on_the_internet(default_site: Path) -> None:
    cat = _catalog(default_site)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    verdicts = {d.id: check_eligibility(cat, d.id, "internet", now=now) for d in cat.deployments}
    assert {i: v.refusal for i, v in verdicts.items()} == {
        HAPPY: None,
        INTRANET_ONLY: Refusal.INTRANET_ONLY,
        DIRECT: Refusal.DIRECT_ACCESS_ON_INTERNET,
        DP_ONLY: Refusal.CONTENT_NOT_ON_INTERNET,
        DOWNLOAD_ALL: None,
        REQUIRED: None,
        MEDIA_PXE: Refusal.MEDIA_PXE_ONLY,
        COMPAT_BLOCK: None,
        NOT_YET: Refusal.NOT_YET_AVAILABLE,
    }
    assert verdicts[DP_ONLY].packages == (LEDGER,)


def test_default_site_has_real_sizes_and_matching_hashes(default_site: Path) -> None:
    cat = _catalog(default_site)
    sizes = {(pid, f.path): f.size for pid, p in cat.packages.items() for f in p.files}
    assert sizes[(OS_IMAGE, "sources/install.wim")] == 256 * MiB
    assert sizes[(DRIVERS, "NorthwindLaptop.cab")] == 32 * MiB
    assert any(path.endswith(".inf") for pid, path in sizes if pid == DRIVERS)
    for pid, pkg in cat.packages.items():
        folder = default_site / "content" / f"{pid}.{pkg.version}"
        assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == sorted(
            f.path for f in pkg.files)
        for f in pkg.files:
            digest = hashlib.sha256()
            with open(folder / f.path, "rb") as fh:
                while block := fh.read(8 * MiB):
                    digest.update(block)
            assert (folder / f.path).stat().st_size == f.size
            assert digest.hexdigest() == f.sha256, f"{pid}/{f.path}"


def test_generated_payload_is_deterministic(default_site: Path, small_site: Path) -> None:
    def first_mib(site: Path) -> str:
        with open(site / "content" / f"{OS_IMAGE}.3" / "sources" / "install.wim", "rb") as f:
            return hashlib.sha256(f.read(MiB)).hexdigest()

    # Pinned: the same bytes on every machine, and a smaller build is a prefix of a bigger one.
    assert first_mib(default_site) == INSTALL_WIM_FIRST_MIB_SHA256
    assert first_mib(small_site) == INSTALL_WIM_FIRST_MIB_SHA256
    # No two blocks alike: a resume at a wrong offset cannot go unnoticed.
    with open(default_site / "content" / f"{OS_IMAGE}.3" / "sources" / "install.wim", "rb") as f:
        blocks = [hashlib.sha256(f.read(MiB)).digest() for _ in range(8)]
    assert len(set(blocks)) == 8


# --- building --------------------------------------------------------------------------


def test_second_build_of_default_site_reuses_it(default_site: Path) -> None:
    wim = default_site / "content" / f"{OS_IMAGE}.3" / "sources" / "install.wim"
    before = wim.stat()
    catalog = (default_site / "catalog.json").read_bytes()
    assert build_demo_site(default_site) == default_site
    after = wim.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert (default_site / "catalog.json").read_bytes() == catalog


def test_builds_are_byte_identical(small_site: Path, tmp_path: Path) -> None:
    again = build_demo_site(tmp_path / "elsewhere", scale=SMALL)
    assert _tree(again) == _tree(small_site)
    # Nothing but the site is left next to it.
    assert [p.name for p in tmp_path.iterdir()] == ["elsewhere"]


def _spec_copy(tmp_path: Path) -> Path:
    spec = tmp_path / "spec"
    shutil.copytree(DEMO_SPEC_DIR, spec, ignore=shutil.ignore_patterns("__pycache__"))
    return spec


def test_rebuilds_when_the_spec_or_the_site_changes(tmp_path: Path) -> None:
    spec = _spec_copy(tmp_path)
    out = tmp_path / "site"
    build_demo_site(out, scale=SMALL, spec_dir=spec)
    portal = out / "content" / f"{PORTAL}.1" / "install.py"
    first = _catalog(out).packages[PORTAL].files[0].sha256

    # A changed source file: rebuilt, with the new hash in the catalog.
    src = spec / "packages" / "company-portal" / "install.py"
    src.write_bytes(src.read_bytes() + b"# changed\n")
    build_demo_site(out, scale=SMALL, spec_dir=spec)
    assert portal.read_bytes() == src.read_bytes()
    assert _catalog(out).packages[PORTAL].files[0].sha256 != first

    # A file of the built site lost or truncated: rebuilt.
    wim = out / "content" / f"{OS_IMAGE}.3" / "sources" / "install.wim"
    wim.write_bytes(b"")
    build_demo_site(out, scale=SMALL, spec_dir=spec)
    assert wim.stat().st_size == MiB

    # Another scale is another site.
    build_demo_site(out, scale=SMALL * 2, spec_dir=spec)
    assert wim.stat().st_size == 2 * MiB
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site", "spec"]


def test_broken_spec_names_the_field_and_leaves_the_site_alone(tmp_path: Path) -> None:
    spec = _spec_copy(tmp_path)
    out = tmp_path / "site"
    build_demo_site(out, scale=SMALL, spec_dir=spec)
    good = _tree(out)

    data = json.loads((spec / "site.json").read_text(encoding="utf-8"))
    data["packages"][DRIVERS]["source"] = "packages/no-such-folder"
    (spec / "site.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        build_demo_site(out, scale=SMALL, spec_dir=spec)
    assert err.value.path == f"packages.{DRIVERS}.source"

    data["packages"][DRIVERS]["source"] = "packages/drivers"
    data["packages"][DRIVERS]["version"] = 0  # breaks SITE-FORMAT: caught by parse_catalog
    data["packages"][DRIVERS]["locations"] = [{"kind": "cloud", "url": "content/NWT00015.0/"}]
    (spec / "site.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        build_demo_site(out, scale=SMALL, spec_dir=spec)
    assert err.value.path == f"packages.{DRIVERS}.version"

    assert _tree(out) == good  # the old site is still whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site", "spec"]


# --- serving ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_server_serves_catalog_content_and_ranges(small_site: Path) -> None:
    server = DemoServer(small_site)
    url = server.start()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url)
        async with httpx.AsyncClient(base_url=url) as client:
            r = await client.get("catalog.json")
            assert r.status_code == 200
            assert r.content == (small_site / "catalog.json").read_bytes()
            parse_catalog(r.content, url + "catalog.json")

            path = f"content/{OS_IMAGE}.3/sources/install.wim"
            whole = (small_site / path).read_bytes()
            r = await client.get(path)
            assert r.status_code == 200 and r.content == whole
            assert r.headers["etag"] and r.headers["last-modified"]
            assert r.headers["accept-ranges"] == "bytes"

            r = await client.get(path, headers={"Range": "bytes=1000-"})
            assert r.status_code == 206
            assert r.headers["content-range"] == f"bytes 1000-{len(whole) - 1}/{len(whole)}"
            assert r.content == whole[1000:]

            for missing in ("content/NOPE/x", "content/", "content"):
                r = await client.get(missing)
                assert r.status_code in (403, 404), missing
    finally:
        server.stop()


def _raw_get(port: int, target: str) -> int:
    """Status of a GET sent byte for byte (no client-side path normalisation)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        head = sock.recv(1024).decode("latin-1")
    return int(head.split()[1])


def test_server_never_leaves_its_root(tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "catalog.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("secret")
    try:
        (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    except OSError:  # Windows without the symlink privilege
        pass
    with DemoServer(root) as server:
        assert _raw_get(server.port, "/catalog.json") == 200
        for target in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/link.txt",
                       "/a/../../secret.txt", "/%00"):
            assert _raw_get(server.port, target) in (400, 404), target


def test_server_context_manager_from_sync_code(small_site: Path) -> None:
    with DemoServer(small_site) as server:
        assert server.url is not None
        r = httpx.get(server.url + "catalog.json")
        assert r.status_code == 200
        port = server.port
    # Stopped: the port no longer answers.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/catalog.json", timeout=2)


def test_server_port_in_use_raises_oserror(small_site: Path) -> None:
    with DemoServer(small_site) as first, pytest.raises(OSError):
        DemoServer(small_site, port=first.port).start()


def test_paced_response_hooks_the_pinned_aiohttp() -> None:
    # The rate limit replaces FileResponse._sendfile, a private hook of aiohttp 3.14.
    params = list(inspect.signature(web.FileResponse._sendfile).parameters)
    assert params == ["self", "request", "fobj", "offset", "count"]


@pytest.mark.asyncio
async def test_rate_limit_really_limits_and_keeps_ranges(small_site: Path) -> None:
    rate = 4 * MiB
    server = DemoServer(small_site, rate_bps=rate)
    url = server.start()
    path = f"content/{OS_IMAGE}.3/sources/install.wim"
    whole = (small_site / path).read_bytes()
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            # 2 MiB at 4 MiB/s: at least ~0.4 s (a lower bound only; slow machines are slower).
            started = time.monotonic()
            got = b""
            for part in ("bytes=0-", "bytes=0-"):  # install.wim is 1 MiB here: fetch it twice
                r = await client.get(path, headers={"Range": part})
                assert r.status_code == 206
                got += r.content
            assert time.monotonic() - started >= 0.4
            assert got == whole * 2

            r = await client.get(path, headers={"Range": "bytes=100-299"})
            assert r.status_code == 206
            assert r.headers["content-range"] == f"bytes 100-299/{len(whole)}"
            assert r.content == whole[100:300]
            r = await client.head(path)
            assert r.status_code == 200 and int(r.headers["content-length"]) == len(whole)
    finally:
        server.stop()


def test_stop_cuts_a_download_in_flight(small_site: Path) -> None:
    server = DemoServer(small_site, rate_bps=64 * 1024)  # 1 MiB would take 16 s
    url = server.start()
    errors: list[BaseException] = []
    received = threading.Event()

    def download() -> None:
        try:
            with httpx.stream("GET", url + f"content/{OS_IMAGE}.3/sources/install.wim", timeout=30) as r:
                for _ in r.iter_bytes():
                    received.set()
        except httpx.HTTPError as exc:
            errors.append(exc)

    t = threading.Thread(target=download)
    t.start()
    assert received.wait(10)
    server.stop()
    t.join(30)
    assert not t.is_alive()
    assert errors, "the download should end with an error, not complete"


def test_serve_forever_prints_the_url_and_stops(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # Serve a small pre-built site: the build in serve_forever then finds it up to date.
    from core import demo

    real_build = demo.build_demo_site
    monkeypatch.setattr(demo, "build_demo_site", lambda out: real_build(out, scale=SMALL))
    stop = threading.Event()
    t = threading.Thread(target=serve_forever, args=("127.0.0.1", 0, 50.0, tmp_path), kwargs={"stop": stop})
    t.start()
    try:
        deadline = time.monotonic() + 30
        url = None
        while url is None and time.monotonic() < deadline:
            m = re.search(r"(http://127\.0\.0\.1:\d+/)\n", capsys.readouterr().out)
            url = m.group(1) if m else None
            time.sleep(0.05)
        assert url is not None
        assert httpx.get(url + "catalog.json").status_code == 200
    finally:
        stop.set()
        t.join(30)
    assert (tmp_path / "demo-site" / "catalog.json").is_file()


# --- the programs the packages run ------------------------------------------------------


def _run(folder: Path, *args: str, timeout: float = 60) -> tuple[int, list[str]]:
    proc = subprocess.run([sys.executable, *args], cwd=folder, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert proc.stderr == ""
    return proc.returncode, proc.stdout.splitlines()


def _full_code(returncode: int, lines: list[str]) -> int:
    """The program's exit code: all 32 bits on Windows; on POSIX from its last `RESULT` line."""
    assert lines[-1].startswith("RESULT ")
    code = int(lines[-1].split()[1], 0)
    if os.name == "nt":
        assert returncode == code
    else:  # POSIX keeps the low 8 bits only (and never turns a failure into 0)
        assert returncode == (0 if code == 0 else (code & 0xFF) or 1)
    return code


def _progress(lines: list[str]) -> list[int]:
    percents = []
    for line in lines:
        if line.startswith("PROGRESS"):
            m = PROGRESS.match(line)
            assert m, f"malformed: {line!r}"
            percents.append(int(m.group(1)))
    return percents


def _os_folder(site: Path) -> Path:
    return site / "content" / f"{OS_IMAGE}.3"


def test_setup_upgrade_reports_progress_and_honours_duration(small_site: Path) -> None:
    started = time.monotonic()
    rc, lines = _run(_os_folder(small_site), "setup.py", "/Auto", "Upgrade", "/Quiet", "/NoReboot",
                     "/InstallDrivers", str(small_site), "/duration", "1")
    elapsed = time.monotonic() - started
    assert _full_code(rc, lines) == 0
    percents = _progress(lines)
    assert percents[0] == 0 and percents[-1] == 100
    assert all(a < b for a, b in itertools.pairwise(percents)), "strictly increasing"
    assert elapsed >= 0.9
    text = "\n".join(lines)
    positions = [text.index(f"{phase} phase") for phase in
                 ("Compatibility scan", "Downlevel", "SafeOS", "First boot", "Second boot")]
    assert positions == sorted(positions)


def test_setup_default_duration_for_unexpanded_variable(small_site: Path) -> None:
    # %DemoSetupSeconds% left as is: the default 60 s, so 1% takes 0.6 s.
    proc = subprocess.Popen([sys.executable, "setup.py", "/duration", "%DemoSetupSeconds%"],
                            cwd=_os_folder(small_site), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        started = time.monotonic()
        for line in proc.stdout:
            if line.startswith("PROGRESS 1 "):
                break
        assert time.monotonic() - started >= 0.5
    finally:
        proc.kill()
        proc.communicate()


def test_setup_compatibility_block(small_site: Path) -> None:
    rc, lines = _run(_os_folder(small_site), "setup.py", "/Auto", "Upgrade", "/duration", "0.5",
                     "/simulate-result", "0xC1900208")
    assert _full_code(rc, lines) == 0xC1900208
    if os.name == "nt":
        assert rc == 3247440392  # == 0xC1900208, as Windows reports it
    assert _progress(lines)[-1] == 10  # stops after the compatibility scan
    assert any("incompatible app" in line for line in lines)


def test_setup_compat_scan_only(small_site: Path) -> None:
    rc, lines = _run(_os_folder(small_site), "setup.py", "/Auto", "Upgrade", "/Compat", "ScanOnly",
                     "/duration", "0.3")
    assert _full_code(rc, lines) == 0xC1900210  # what Windows Setup returns: no compatibility issues
    percents = _progress(lines)
    assert percents[0] == 0 and percents[-1] == 100
    assert not any("Downlevel" in line for line in lines)


def test_setup_refuses_without_its_install_image(small_site: Path, tmp_path: Path) -> None:
    shutil.copy(_os_folder(small_site) / "setup.py", tmp_path / "setup.py")
    rc, lines = _run(tmp_path, "setup.py", "/duration", "0")
    assert _full_code(rc, lines) == 0x80070002
    assert rc != 0


def test_company_portal_installer(small_site: Path) -> None:
    folder = small_site / "content" / f"{PORTAL}.1"
    rc, lines = _run(folder, "install.py", "/duration", "0.2")
    assert _full_code(rc, lines) == 0
    percents = _progress(lines)
    assert percents[0] == 0 and percents[-1] == 100
    rc, lines = _run(folder, "install.py", "/duration", "0", "/restart")
    assert _full_code(rc, lines) == 3010
