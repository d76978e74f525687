"""What trusting the cache costs: the stat check against the package record, against
hashing every file again, on the demo site's biggest package (the ~288 MB image).

Builds the demo site (core/demo.py) under a temporary folder (or --work), downloads its
biggest package into a cache through ContentStore from the demo server on loopback, then
times, as medians of --runs, interleaved in one run:

    stat check   ContentStore.is_complete(): load the record, lstat every file and compare
                 size, mtime, ctime, inode and device
    re-hash      SHA-256 of every file of the package, read in 4 MiB chunks (what the store
                 does for a file its record does not vouch for)
    sha256sum    the coreutils tool over the same files: the peer for the re-hash

Each is printed in ms and as a ratio to sha256sum. The files are in the page cache (just
written), so the re-hash figures are CPU-bound: a cold cache adds the disk's read time.

    .venv/bin/python bench/cache_verify.py [--runs 7] [--work DIR]

Not a test; run by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from core.catalog import Package, parse_catalog
from core.content import ContentStore
from core.demo import DemoServer, build_demo_site
from core.http import HttpSession

CHUNK = 4 * 1024 * 1024


def rehash(paths: list[Path]) -> None:
    for path in paths:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        h.hexdigest()


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


async def fill_cache(site: Path, cache: Path) -> tuple[ContentStore, str, Package, list[Path]]:
    data = (site / "catalog.json").read_bytes()
    with DemoServer(site) as server:
        assert server.url is not None
        url = server.url
        catalog = parse_catalog(data, url + "catalog.json")
        pid, pkg = max(catalog.packages.items(), key=lambda kv: kv[1].total_bytes)
        session = HttpSession()
        store = ContentStore(cache, session)
        try:
            folder = await store.fetch(pid, pkg, url + "catalog.json", "internet", on_event=lambda e: None)
        finally:
            await session.aclose()
    paths = [folder.joinpath(*f.path.split("/")) for f in pkg.files]
    return store, pid, pkg, paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--work", type=Path, default=None, help="folder for the site and the cache (kept)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="sc-bench-cache-"))
    try:
        site = build_demo_site(work / "site")
        cache = work / "cache"
        store, pid, pkg, paths = asyncio.run(fill_cache(site, cache))
        size = sum(p.stat().st_size for p in paths)
        assert store.is_complete(pid, pkg), "the fresh download should be trusted"
        results: dict[str, list[float]] = {"stat check": [], "re-hash": [], "sha256sum": []}
        for _ in range(args.runs):
            results["stat check"].append(timed(lambda: store.is_complete(pid, pkg)))
            results["re-hash"].append(timed(lambda: rehash(paths)))
            results["sha256sum"].append(timed(lambda: subprocess.run(
                ["sha256sum", *map(str, paths)], check=True, stdout=subprocess.DEVNULL)))
        peer = statistics.median(results["sha256sum"])
        print(f"package {pid}: {len(paths)} files, {size / 1e6:.0f} MB; medians of {args.runs} runs")
        print(f"{'':12} {'ms':>10} {'x sha256sum':>12}")
        for name, values in results.items():
            m = statistics.median(values)
            print(f"{name:12} {m * 1000:10.3f} {m / peer:12.5f}")
        print(json.dumps({k: statistics.median(v) for k, v in results.items()}))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
