"""The command line and downloads through the agent, against peers measured in the same run.

Builds a site with one package (a deterministic incompressible file, never committed)
served by nginx (Debian `nginx-light`) on loopback, starts `software-center agent` for a
temp data folder, then measures:

  download   a run whose one step downloads the package, started through the agent's
             API, from the request to its `download_finished` event (the agent fetches,
             SHA-256-verifies, fsyncs and renames), against `curl -o FILE` of the same
             URL. The agent's cache is emptied between runs.
  list       `software-center list --json` through the running agent, against the same
             command with `--standalone` (the engine in the command's process, as before
             the agent), and against `curl --unix-socket` of `GET /v1/deployments` (the
             API alone, without Python's start-up).
  cold       `software-center list --json` on a fresh data folder: the command starts the
             user's agent on demand and waits for it.

    .venv/bin/python bench/agent.py [--runs 5] [--size-mib 256]

Medians; each figure also as a ratio to its peer. Not a test; run by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.download import CURL, MIB, Nginx, add_generated_package, run_curl, warm  # noqa: E402
from core import AgentClient  # noqa: E402
from tests.core.sites import deployment, write_site  # noqa: E402

SC = [sys.executable, "-m", "cli.main"]


def build_site(root: Path, size: int) -> tuple[Path, str]:
    write_site(root, packages={"TINY": {"t.txt": b"tiny\n"}},
               task_sequences={"GET": [{"type": "download_package_content", "name": "Get Big",
                                        "packages": ["BIGPKG"]}]},
               deployments=[deployment("DEPGET", "GET")])
    big = add_generated_package(root, "BIGPKG", "big.bin", size, seed=7)
    return big, hashlib.sha256((root / "catalog.json").read_bytes()).hexdigest()


async def agent_download(sock: Path, data: Path) -> float:
    shutil.rmtree(data / "cache", ignore_errors=True)
    elapsed = 0.0
    async with AgentClient(sock, timeout_s=600) as agent:
        began = time.perf_counter()
        run_id = await agent.start_run("DEPGET")
        async for event in agent.events(run_id):
            if event["event"] == "download_finished" and event["package"] == "BIGPKG":
                elapsed = time.perf_counter() - began
            if event["event"] == "ts_finished":
                if event["status"] != "succeeded":
                    raise SystemExit(f"the run failed: {event}")
                break
    return elapsed


def timed(argv: list[str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()}")
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size-mib", type=int, default=256)
    args = parser.parse_args()
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="sc-bench-", dir="/tmp") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # nginx's workers read the site as another user
        site = work / "site"
        big, _ = build_site(site, size)
        warm(big)
        (work / "nginx").mkdir()
        with Nginx(work / "nginx", site) as nginx:
            data = work / "data"
            sock = work / "a.sock"
            agent = subprocess.Popen([*SC, "agent", "--data-dir", str(data), "--socket", str(sock), "--site",
                                      nginx.url, "--connection", "internet"], cwd=REPO,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 30
                while not sock.exists():
                    if time.monotonic() > deadline or agent.poll() is not None:
                        raise SystemExit("the agent did not start")
                    time.sleep(0.05)
                time.sleep(0.5)
                curl_s, ours_s = [], []
                for _ in range(args.runs):
                    curl_s.append(run_curl(nginx.url + "content/BIGPKG.1/big.bin", work / "curl.out", size).seconds)
                    ours_s.append(asyncio.run(agent_download(sock, data)))
                via_agent = [timed([*SC, "list", "--agent", str(sock), "--json"]) for _ in range(args.runs)]
                standalone = [timed([*SC, "list", "--standalone", "--site", nginx.url, "--connection", "internet",
                                     "--data-dir", str(work / f"alone{i}"), "--json"]) for i in range(args.runs)]
                raw = [timed([CURL, "-s", "-f", "--unix-socket", str(sock), "http://agent/v1/deployments"])
                       for _ in range(args.runs)]
            finally:
                agent.terminate()
                agent.wait(10)
            cold = []
            for i in range(3):
                fresh = work / f"cold{i}"
                cold.append(timed([*SC, "list", "--site", nginx.url, "--connection", "internet",
                                   "--data-dir", str(fresh), "--json"]))
                timed([*SC, "settings", "--data-dir", str(fresh)])  # it answers; it stops when idle
    med = statistics.median
    mb = size / 1e6
    print(f"download {args.size_mib} MiB from nginx on loopback, median of {args.runs}")
    print(f"  curl -o FILE                {mb / med(curl_s):8.0f} MB/s")
    print(f"  through the agent           {mb / med(ours_s):8.0f} MB/s   {med(curl_s) / med(ours_s):.2f} x curl")
    print(f"list --json, median of {args.runs}")
    print(f"  curl --unix-socket (API)    {med(raw) * 1000:8.0f} ms")
    print(f"  --standalone                {med(standalone) * 1000:8.0f} ms")
    print(f"  through the running agent   {med(via_agent) * 1000:8.0f} ms   "
          f"{med(via_agent) / med(standalone):.2f} x standalone")
    print(f"  agent started on demand     {med(cold) * 1000:8.0f} ms   {med(cold) / med(standalone):.2f} x standalone")


if __name__ == "__main__":
    main()
