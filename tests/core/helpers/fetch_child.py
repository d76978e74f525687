"""Run one `ContentStore.fetch` in a child process: for kill/resume tests and bench/download.py.

    python -m tests.core.helpers.fetch_child CACHE_DIR CATALOG_URL PACKAGE_ID PACKAGE_JSON

Prints one JSON line per event on stdout (flushed), then a `child_done` line with the
fetch's wall time, CPU seconds (user+sys of this process, fetch only) and RSS figures
(`rss_before` and `rss_peak`, bytes; the peak is reset just before the fetch on Linux).
Exit 0 on success, 1 on a ContentError (its message on stderr).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path

import msgspec

from core.catalog import Package
from core.content import ContentStore, RetryPolicy
from core.errors import ContentError
from core.events import Event, to_json
from core.http import HttpSession


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def main(cache: Path, catalog_url: str, package_id: str, package: Package) -> int:
    def sink(event: Event) -> None:
        sys.stdout.write(json.dumps(to_json(event)) + "\n")
        sys.stdout.flush()

    async with HttpSession(read_timeout=float(os.environ.get("SC_READ_TIMEOUT", "30"))) as session:
        store = ContentStore(cache, session)
        retry = RetryPolicy(first_delay_s=0.05, max_delay_s=0.5)
        rss_before = _status_kib("VmRSS")
        peak_reset = _reset_peak()
        cpu0, t0 = _cpu(), time.perf_counter()
        try:
            await store.fetch(package_id, package, catalog_url, "internet", on_event=sink, retry=retry)
        except ContentError as exc:
            print(f"fetch failed: {exc}", file=sys.stderr)
            return 1
        seconds, cpu = time.perf_counter() - t0, _cpu() - cpu0
        peak = _status_kib("VmHWM") if peak_reset else None
        if peak is None:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        sink_done = {
            "event": "child_done",
            "seconds": seconds,
            "cpu_s": cpu,
            "rss_before": rss_before,
            "rss_peak": peak,
        }
        sys.stdout.write(json.dumps(sink_done) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    cache_dir, url, pid, package_json = sys.argv[1:5]
    pkg = msgspec.json.decode(Path(package_json).read_bytes(), type=Package)
    sys.exit(asyncio.run(main(Path(cache_dir), url, pid, pkg)))
