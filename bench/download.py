"""Download throughput, CPU, memory and resume (docs/FIGURES.md), against curl in the same run.

Starts nginx (Debian `nginx-light`, sendfile on) on a loopback port with its config and
root in a temp folder, generates a 512 MiB file there (deterministic, never committed),
then, several times: `curl -o FILE` of the URL (the peer), and our `ContentStore.fetch`
of the same file as a one-file package in a child process (SHA-256 verified, written,
fsynced, renamed). The child measures its own CPU (user+sys) and peak RSS around the
fetch only (interpreter start-up and imports excluded; the peak is reset just before).

Two resume rows (256 MiB file):
  cut   the connection is closed after 90 % by a fault-injecting server (the test
        suite's ContentServer); the same fetch retries with Range/If-Range.
  kill  the child is SIGKILLed once its .part passes 90 % (nginx at full speed); a
        second child resumes. Bytes counted by nginx ($body_bytes_sent).
Figure: body bytes the server sent in total / file size.

    .venv/bin/python bench/download.py [--runs 3] [--size-mib 512] [--resume-mib 256]

`curl -o FILE + sync FILE` is shown as a second peer: we fsync before the rename, curl
does not, and on a disk slower than loopback the fsync is a third of our wall time.

Targets: >= 0.5 x curl, <= 2 CPU s/GiB, peak RSS growth <= 40 MiB, resume <= 1.02.
Not a test; run by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import msgspec  # noqa: E402

from core.catalog import Location, Package, PackageFile  # noqa: E402
from tests.core.helpers.content_server import ContentServer, Fault  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CURL = shutil.which("curl") or "/usr/bin/curl"
MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass
class Row:
    client: str
    seconds: float
    cpu_s: float
    bytes: int
    rss_delta: int | None = None

    @property
    def mbps(self) -> float:
        return self.bytes / self.seconds / 1e6

    @property
    def cpu_per_gib(self) -> float:
        return self.cpu_s / (self.bytes / GIB)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_file(path: Path, size: int, seed: int) -> str:
    """Deterministic pseudo-random bytes (incompressible); returns the SHA-256."""
    digest = hashlib.sha256()
    block = 8 * MIB
    with open(path, "wb") as f:
        for i in range(0, size, block):
            chunk = random.Random(seed * 1_000_003 + i).randbytes(min(block, size - i))
            digest.update(chunk)
            f.write(chunk)
    os.chmod(path, 0o644)
    return digest.hexdigest()


def add_generated_package(root: Path, pid: str, name: str, size: int, seed: int) -> Path:
    """Add to the site at `root` a package `pid` of one generated file `name` (cloud
    location `content/<pid>.1/`), written by `make_file`; returns the file's path."""
    folder = root / "content" / f"{pid}.1"
    folder.mkdir(parents=True)
    sha = make_file(folder / name, size, seed)
    catalog = json.loads((root / "catalog.json").read_text())
    catalog["packages"][pid] = {"name": pid.title(), "version": 1,
                                "files": [{"path": name, "size": size, "sha256": sha}],
                                "locations": [{"kind": "cloud", "url": f"content/{pid}.1/"}]}
    (root / "catalog.json").write_text(json.dumps(catalog))
    return folder / name


def warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(16 * MIB):
            pass


class Nginx:
    def __init__(self, workdir: Path, root: Path) -> None:
        self.workdir = workdir
        self.root = root
        self.port = free_port()
        self.access_log = workdir / "access.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Nginx:
        conf = self.workdir / "nginx.conf"
        temp = self.workdir / "temp"
        temp.mkdir()
        conf.write_text(
            f"""
worker_processes 1;
daemon off;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/error.log;
events {{ worker_connections 64; }}
http {{
    log_format bytes '$request_uri $status $body_bytes_sent';
    access_log {self.access_log} bytes;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    server {{
        listen 127.0.0.1:{self.port};
        root {self.root};
    }}
}}
"""
        )
        self.proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(self.workdir)], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError as exc:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    why = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    raise SystemExit(f"nginx did not start: {why}") from exc
                time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def body_bytes(self, uri: str) -> int:
        total = 0
        for line in self.access_log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == uri:
                total += int(parts[2])
        return total


def run_curl(url: str, out: Path, size: int, *, sync: bool = False) -> Row:
    """curl -o FILE (the target's peer); with `sync`, then `sync FILE` (fsync, as we do)."""
    out.unlink(missing_ok=True)
    began = time.perf_counter()
    proc = subprocess.Popen([CURL, "-s", "-f", "-o", str(out), url])
    _, status, usage = os.wait4(proc.pid, 0)
    cpu = usage.ru_utime + usage.ru_stime
    if os.waitstatus_to_exitcode(status) != 0 or out.stat().st_size != size:
        raise SystemExit("curl failed")
    if sync:
        proc = subprocess.Popen(["sync", str(out)])
        _, status, usage = os.wait4(proc.pid, 0)
        cpu += usage.ru_utime + usage.ru_stime
    seconds = time.perf_counter() - began
    out.unlink()
    return Row("curl -o FILE + sync" if sync else "curl -o FILE", seconds, cpu, size)


def write_package(work: Path, name: str, size: int, sha: str, url: str) -> tuple[str, Path]:
    pkg = Package(
        name="bench",
        version=1,
        files=[PackageFile(path=name, size=size, sha256=sha)],
        locations=[Location(kind="cloud", url=url)],
    )
    spec = work / f"{name}.package.json"
    spec.write_bytes(msgspec.json.encode(pkg))
    return "BENCH01", spec


def child(cache: Path, catalog_url: str, pid: str, spec: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.core.helpers.fetch_child", str(cache), catalog_url, pid, str(spec)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def run_ours(cache: Path, catalog_url: str, pid: str, spec: Path, size: int) -> Row:
    shutil.rmtree(cache, ignore_errors=True)
    proc = child(cache, catalog_url, pid, spec)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"fetch failed: {err.decode()}")
    done = [json.loads(line) for line in out.splitlines() if b"child_done" in line][-1]
    shutil.rmtree(cache, ignore_errors=True)
    rss = None
    if done["rss_before"] is not None and done["rss_peak"] is not None:
        rss = done["rss_peak"] - done["rss_before"]
    return Row("ContentStore.fetch", done["seconds"], done["cpu_s"], size, rss)


def resume_cut(work: Path, size: int) -> float:
    root = work / "cut-root"
    root.mkdir()
    name = "resume.bin"
    sha = make_file(root / name, size, seed=2)
    warm(root / name)
    with ContentServer(root, chunk_size=MIB) as server:
        server.add_fault(name, Fault(cut_after=int(size * 0.9)))
        pid, spec = write_package(work, name, size, sha, server.url)
        run_ours(work / "cache-cut", server.url, pid, spec, size)
        return server.bytes_sent(name) / size


def resume_kill(work: Path, nginx: Nginx, root: Path, size: int) -> tuple[float, float]:
    name = "resume-kill.bin"
    sha = make_file(root / name, size, seed=3)
    warm(root / name)
    pid, spec = write_package(work, name, size, sha, nginx.url)
    cache = work / "cache-kill"
    part = cache / f"{pid}.1" / f"{name}.part"
    proc = child(cache, nginx.url, pid, spec)
    while not (part.exists() and part.stat().st_size >= size * 0.9):
        if proc.poll() is not None:
            raise SystemExit("the child finished before it could be killed; use a bigger --resume-mib")
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    at = part.stat().st_size / size
    time.sleep(0.2)  # nginx logs the aborted request
    proc = child(cache, nginx.url, pid, spec)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"resume failed: {err.decode()}")
    time.sleep(0.2)
    return at, nginx.body_bytes(f"/{name}") / size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size-mib", type=int, default=512)
    ap.add_argument("--resume-mib", type=int, default=256)
    args = ap.parse_args()
    size = args.size_mib * MIB
    resume_size = args.resume_mib * MIB

    work = Path(tempfile.mkdtemp(prefix="sc-bench-"))
    os.chmod(work, 0o755)  # nginx's worker may run as nobody
    try:
        root = work / "root"
        root.mkdir()
        os.chmod(root, 0o755)
        print(f"generating {args.size_mib} MiB ...", file=sys.stderr)
        sha = make_file(root / "big.bin", size, seed=1)
        warm(root / "big.bin")
        with Nginx(work, root) as nginx:
            url = nginx.url + "big.bin"
            pid, spec = write_package(work, "big.bin", size, sha, nginx.url)
            run_curl(url, work / "warmup.bin", size)
            rows: list[tuple[int, Row, Row, Row]] = []
            for i in range(args.runs):
                print(f"run {i + 1} of {args.runs} ...", file=sys.stderr)
                peer = run_curl(url, work / "curl.bin", size)
                synced = run_curl(url, work / "curl.bin", size, sync=True)
                ours = run_ours(work / "cache", nginx.url, pid, spec, size)
                rows.append((i + 1, peer, synced, ours))
            print("resume rows ...", file=sys.stderr)
            kill_at, kill_ratio = resume_kill(work, nginx, root, resume_size)
        cut_ratio = resume_cut(work, resume_size)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nDownload of {args.size_mib} MiB from loopback nginx (sendfile); CPU = user+sys of the client")
    print(f"{'run':>3}  {'client':<20} {'MB/s':>7} {'x curl':>7} {'CPU s/GiB':>10} {'peak RSS +MiB':>14}")
    for i, peer, synced, ours in rows:
        for row in (peer, synced):
            ratio = row.mbps / peer.mbps
            print(f"{i:>3}  {row.client:<20} {row.mbps:7.0f} {ratio:7.2f} {row.cpu_per_gib:10.2f} {'-':>14}")
        rss = f"{ours.rss_delta / MIB:.1f}" if ours.rss_delta is not None else "?"
        ratio = ours.mbps / peer.mbps
        print(f"{i:>3}  {ours.client:<20} {ours.mbps:7.0f} {ratio:7.2f} {ours.cpu_per_gib:10.2f} {rss:>14}")
    ratios = [ours.mbps / peer.mbps for _, peer, _, ours in rows]
    synced_ratios = [ours.mbps / synced.mbps for _, _, synced, ours in rows]
    cpus = [ours.cpu_per_gib for *_, ours in rows]
    peers_cpu = [peer.cpu_per_gib for _, peer, _, _ in rows]
    rss_all = [ours.rss_delta for *_, ours in rows if ours.rss_delta is not None]
    print(
        f"median: ContentStore {statistics.median(o.mbps for *_, o in rows):.0f} MB/s = "
        f"{statistics.median(ratios):.2f} x curl (target >= 0.5), "
        f"{statistics.median(synced_ratios):.2f} x curl + sync; "
        f"CPU {statistics.median(cpus):.2f} s/GiB (target <= 2; curl itself {statistics.median(peers_cpu):.2f}); "
        f"peak RSS +{max(rss_all) / MIB if rss_all else float('nan'):.1f} MiB (target <= 40)"
    )
    print(f"\nResume of {args.resume_mib} MiB, bytes sent by the server / file size (target <= 1.02)")
    print(f"  cut at 90 % (fault server closes the connection): {cut_ratio:.4f}")
    print(f"  SIGKILL at {kill_at * 100:.0f} % (nginx, full speed), then a new process: {kill_ratio:.4f}")
    print(f"\nmachine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}; "
          f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")


if __name__ == "__main__":
    main()
