"""The agent's background work, against peers measured in the same run.

Builds a site whose one required deployment needs a package (a deterministic
incompressible file, never committed), served by nginx (Debian `nginx-light`) on loopback,
starts `software-center agent --precache-delay 0` for a temp data folder, then measures:

  pre-cache  the throttled background download of the required content at
             `precache_rate_mbps` RATE, from the agent's start to the content complete in
             the cache (as `GET /v1/deployments` says), against `curl --limit-rate` of the
             same file at the same rate: how closely each keeps to the limit.
  refresh    `POST /v1/refresh` of an unchanged catalog (a conditional GET answered 304),
             against the same with the catalog changed each time (the whole catalog read,
             parsed and put in force), and against `curl` of the catalog alone; the bytes
             nginx sent for each, from its access log.

    .venv/bin/python bench/schedule.py [--runs 3] [--size-mib 24] [--rate-mbps 80] [--pad 5000]

Medians; each figure also as a ratio to its peer. Not a test; run by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.download import CURL, MIB, Nginx, add_generated_package  # noqa: E402
from core import AgentClient  # noqa: E402
from tests.core.sites import deployment, write_site  # noqa: E402

SC = [sys.executable, "-m", "cli.main"]


def build_site(root: Path, size: int, pad: int) -> None:
    write_site(root, packages={"TINY": {"t.txt": b"tiny\n"}},
               task_sequences={"UPG": [{"type": "download_package_content", "name": "Get the image",
                                        "packages": ["IMAGE"]}]},
               deployments=[deployment("REQUPG", "UPG", purpose="required", deadline="2099-01-01T00:00:00Z")])
    add_generated_package(root, "IMAGE", "image.bin", size, seed=11)
    catalog = json.loads((root / "catalog.json").read_text())
    for i in range(pad):  # available deployments of the same sequence: a catalog of a real size
        catalog["deployments"].append(deployment(f"AVL{i:05d}", "UPG", description="An available upgrade. " * 20))
    (root / "catalog.json").write_text(json.dumps(catalog))


def start_agent(data: Path, sock: Path, site: str, rate_mbps: float) -> subprocess.Popen[bytes]:
    data.mkdir(parents=True)
    (data / "options.json").write_text(json.dumps({"precache_rate_mbps": rate_mbps, "poll_minutes": 10080}))
    agent = subprocess.Popen([*SC, "agent", "--data-dir", str(data), "--socket", str(sock), "--site", site,
                              "--connection", "internet", "--precache-delay", "0"], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not sock.exists():
        if time.monotonic() > deadline or agent.poll() is not None:
            raise SystemExit("the agent did not start")
        time.sleep(0.01)
    return agent


async def precached(sock: Path, began: float) -> float:
    async with AgentClient(sock, timeout_s=60) as agent:
        while True:
            rows = {row["id"]: row for row in await agent.deployments()}
            if rows["REQUPG"]["download_bytes"] == 0:
                return time.perf_counter() - began
            await asyncio.sleep(0.02)


async def refreshes(sock: Path, site: Path, runs: int, *, change: bool) -> list[float]:
    out = []
    async with AgentClient(sock, timeout_s=60) as agent:
        for i in range(runs):
            if change:
                catalog = json.loads((site / "catalog.json").read_text())
                # Another length each time: nginx's ETag is the size and the mtime in whole
                # seconds, so two catalogs of one size published within a second look alike.
                catalog["deployments"][0]["description"] = "Changed" + "!" * (i + 1)
                (site / "catalog.json").write_text(json.dumps(catalog))
            began = time.perf_counter()
            answer = await agent.refresh()
            out.append(time.perf_counter() - began)
            if answer["changed"] is not change:
                raise SystemExit(f"the refresh said changed={answer['changed']}")
    return out


def sent_for(log: Path, path: str, status: str) -> list[int]:
    return [int(b) for uri, st, b in (line.split() for line in log.read_text().splitlines())
            if uri == path and st == status]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=24)
    parser.add_argument("--rate-mbps", type=float, default=80.0)
    parser.add_argument("--pad", type=int, default=5000, help="available deployments added to the catalog")
    args = parser.parse_args()
    size = args.size_mib * MIB
    rate_bps = args.rate_mbps * 1e6 / 8
    with tempfile.TemporaryDirectory(prefix="sc-bench-", dir="/tmp") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # nginx's workers read the site as another user
        site = work / "site"
        build_site(site, size, args.pad)
        (work / "nginx").mkdir()
        with Nginx(work / "nginx", site) as nginx:
            ours, curls = [], []
            for i in range(args.runs):
                began = time.perf_counter()
                subprocess.run([CURL, "-s", "-f", "-o", str(work / "curl.out"), "--limit-rate",
                                str(int(rate_bps)), nginx.url + "content/IMAGE.1/image.bin"], check=True)
                curls.append(time.perf_counter() - began)
                sock = work / f"a{i}.sock"
                began = time.perf_counter()
                agent = start_agent(work / f"data{i}", sock, nginx.url, args.rate_mbps)
                try:
                    ours.append(asyncio.run(precached(sock, began)))
                finally:
                    agent.terminate()
                    agent.wait(10)
            sock = work / "r.sock"
            agent = start_agent(work / "refresh", sock, nginx.url, args.rate_mbps)
            try:
                unchanged = asyncio.run(refreshes(sock, site, args.runs * 5, change=False))
                changed = asyncio.run(refreshes(sock, site, args.runs * 5, change=True))
            finally:
                agent.terminate()
                agent.wait(10)
            catalog_s = []
            for _ in range(args.runs * 5):
                began = time.perf_counter()
                subprocess.run([CURL, "-s", "-f", "-o", "/dev/null", nginx.url + "catalog.json"], check=True)
                catalog_s.append(time.perf_counter() - began)
            not_modified = sent_for(nginx.access_log, "/catalog.json", "304")
            whole = sent_for(nginx.access_log, "/catalog.json", "200")
        shutil.rmtree(work / "nginx", ignore_errors=True)
    med = statistics.median
    mb = size / 1e6
    print(f"pre-cache of {args.size_mib} MiB at {args.rate_mbps:g} Mbit/s ({rate_bps / 1e6:.1f} MB/s), median of "
          f"{args.runs}")
    limit = rate_bps / 1e6
    print(f"  curl --limit-rate            {mb / med(curls):6.2f} MB/s   {mb / med(curls) / limit:.2f} x the limit")
    print(f"  the agent's pre-cache        {mb / med(ours):6.2f} MB/s   {mb / med(ours) / limit:.2f} x the limit"
          f"   (agent start included; {med(curls) / med(ours):.2f} x curl)")
    print(f"catalog refresh through the agent ({args.pad + 1} deployments), median of {args.runs * 5}")
    print(f"  curl of catalog.json         {med(catalog_s) * 1000:6.1f} ms")
    print(f"  changed (200, parsed)        {med(changed) * 1000:6.1f} ms   body bytes sent: {max(whole, default=0)}")
    print(f"  unchanged (304)              {med(unchanged) * 1000:6.1f} ms   body bytes sent: "
          f"{max(not_modified, default=0)}   {med(unchanged) / med(changed):.2f} x the changed one's time")


if __name__ == "__main__":
    main()
