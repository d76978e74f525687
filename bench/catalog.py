"""Catalog scale: parse and list a 5,000-deployment catalog, and list 5,000 and 40,000.

Builds a large, valid catalog in memory (deterministic), then prints a table of medians:
the size in bytes, `parse_catalog` time, and "list" time (for every deployment, the total
download bytes of the packages its task sequence references), first right after a parse
(package totals and references not yet cached) and again. Plain `json.loads` of the same
bytes is measured in the same run as a peer, since machines here are noisy.

Then the list as `software-center list` and the window build it (`SoftwareCenter.listings`:
every listed deployment with its verdict and sizes) for catalogs of 5,000 and 40,000
deployments (`--list-sizes`). These share 1,000 packages and task sequences and have
one-line descriptions, so 40,000 deployments fit in the 32 MiB a catalog may have. Each
figure is also given as a ratio against `json.loads` of the same catalog's bytes: a list
that grows with the square of the deployments shows as a ratio that grows with them.

    .venv/bin/python bench/catalog.py [--deployments 5000] [--runs 9]
                                      [--list-sizes 5000,40000] [--list-runs 5]

Target: parse <= 1 s. Not a test; run by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.catalog import Catalog, parse_catalog, referenced_packages
from core.center import SoftwareCenter

CATALOG_URL = "https://sc.example/site/catalog.json"
PARSE_TARGET_S = 1.0

WORDS = (
    "upgrade install update driver security feature runtime office client portal agent "
    "network printer browser language pack cumulative servicing stack framework visual"
).split()


def _id(prefix: str, n: int) -> str:
    return f"{prefix}{n:06d}"


def _sha(n: int) -> str:
    return hashlib.sha256(n.to_bytes(8, "little")).hexdigest()


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


def _package(rng: random.Random, pid: str, serial: int) -> dict[str, Any]:
    # Most packages are small apps; about one in ten is a driver pack or an OS image with
    # hundreds of files.
    n_files = rng.randint(100, 400) if rng.random() < 0.1 else rng.randint(1, 12)
    files = [
        {
            "path": f"{rng.choice(['bin', 'drivers/net', 'drivers/video', 'sources', 'x64'])}/"
            f"{rng.choice(WORDS)}_{i}.{rng.choice(['dll', 'inf', 'cab', 'msi', 'wim', 'py'])}",
            "size": rng.randint(1_000, 400_000_000),
            "sha256": _sha(serial * 1_000 + i),
        }
        for i in range(n_files)
    ]
    return {
        "name": _text(rng, 4),
        "version": rng.randint(1, 20),
        "files": files,
        "locations": [
            {"kind": "dp", "url": f"http://dp{rng.randint(1, 9):02d}.corp.example/content/{pid}/"},
            {"kind": "cloud", "url": f"content/{pid}/"},
        ],
    }


def _steps(rng: random.Random, package_ids: list[str]) -> list[dict[str, Any]]:
    pkgs = rng.sample(package_ids, rng.randint(2, 6))
    condition = {
        "any": [
            {"variable": "_SMSTSLastActionSucceeded", "op": "equals", "value": "false"},
            {"not": {"variable": "OSDSkipLogs", "op": "exists"}},
        ]
    }
    return [
        {
            "type": "group",
            "name": "Prepare",
            "steps": [
                {"type": "check_readiness", "name": "Check Readiness", "min_free_disk_mb": 20_480},
                {"type": "set_variable", "name": "Set mode", "variable": "MODE", "value": "upgrade"},
            ],
        },
        {"type": "download_package_content", "name": "Download", "packages": pkgs[:2], "path_variable": "PKG"},
        *(
            {
                "type": "install_package",
                "name": f"Install {i}",
                "package": pid,
                "command": ["%PYTHON%", "install.py", "/quiet"],
            }
            for i, pid in enumerate(pkgs[2:])
        ),
        {"type": "upgrade_os", "name": "Upgrade", "package": pkgs[0], "command": ["%PYTHON%", "setup.py"]},
        {"type": "restart", "name": "Restart"},
        {"type": "run_command", "name": "Logs", "command": ["%PYTHON%", "-c", "pass"], "condition": condition},
    ]


def build_catalog(deployments: int, seed: int = 1, *, packages: int | None = None,
                  task_sequences: int | None = None, description_paragraphs: int = 3) -> dict[str, Any]:
    """A valid catalog: `deployments` deployments over deployments/5 task sequences and
    deployments/2 packages unless given (deployments share task sequences, as collections do)."""
    rng = random.Random(seed)
    package_ids = [_id("PS1", n) for n in range(max(packages or deployments // 2, 6))]
    ts_ids = [_id("PS2", n) for n in range(max(task_sequences or deployments // 5, 1))]
    return {
        "format": 1,
        "site": {"code": "PS1", "name": "Contoso", "organization": "Contoso IT"},
        "packages": {pid: _package(rng, pid, n) for n, pid in enumerate(package_ids)},
        "task_sequences": {tid: {"name": _text(rng, 5), "steps": _steps(rng, package_ids)} for tid in ts_ids},
        "deployments": [
            {
                "id": _id("PS3", n),
                "task_sequence": rng.choice(ts_ids),
                "name": _text(rng, 6),
                "publisher": "Contoso IT",
                "version": f"{rng.randint(1, 30)}.{rng.randint(0, 9)}",
                "description": "\n\n".join(_text(rng, 30) for _ in range(description_paragraphs)),
                "purpose": rng.choice(["available", "required"]),
                "available_to": rng.choice(["clients", "clients_media_pxe"]),
                "allow_internet": rng.random() < 0.7,
                "download": rng.choice(["on_demand", "all_before_start", "direct"]),
                "high_impact": rng.random() < 0.2,
                "restart_required": rng.random() < 0.5,
                "estimated_minutes": rng.randint(1, 180),
                "available_from": "2026-01-01T00:00:00Z",
                "expires": None,
                "deadline": "2026-06-30T18:00:00+02:00" if rng.random() < 0.3 else None,
            }
            for n in range(deployments)
        ],
    }


def list_download_bytes(catalog: Catalog) -> dict[str, int]:
    """What the list shows per deployment: total bytes of the packages it may download."""
    return {
        dep.id: sum(
            catalog.packages[pid].total_bytes
            for pid in referenced_packages(catalog.task_sequences[dep.task_sequence])
        )
        for dep in catalog.deployments
    }


def listed_rows(catalog: Catalog, data_dir: Path) -> int:
    """`SoftwareCenter.listings()` on `catalog` (the rows of `list`); returns the row count."""
    center = SoftwareCenter(data_dir, site="https://sc.example/site/", connection="internet")
    center.catalog = catalog
    center.connection = "internet"
    try:
        return len(center.listings())
    finally:
        asyncio.run(center.aclose())


def list_figures(sizes: list[int], runs: int) -> list[tuple[int, int, float, float]]:
    """(deployments, catalog bytes, median list seconds, median json.loads seconds) per size."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            data = json.dumps(build_catalog(n, packages=1000, task_sequences=1000,
                                            description_paragraphs=1)).encode()
            catalog = parse_catalog(data, CATALOG_URL)
            lists, peers = [], []
            for _ in range(runs):
                t, rows = timed(lambda: listed_rows(catalog, Path(tmp)))  # noqa: B023 - called at once
                assert rows > 0
                lists.append(t)
                peers.append(timed(lambda: json.loads(data))[0])  # noqa: B023
            out.append((n, len(data), statistics.median(lists), statistics.median(peers)))
    return out


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deployments", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--list-sizes", default="5000,40000", help="deployments of each list catalog")
    ap.add_argument("--list-runs", type=int, default=5)
    args = ap.parse_args()

    doc = build_catalog(args.deployments)
    data = json.dumps(doc).encode()
    del doc
    parse_catalog(data, CATALOG_URL)  # warm-up

    parses, firsts, agains, peers = [], [], [], []
    for _ in range(args.runs):
        t, catalog = timed(lambda: parse_catalog(data, CATALOG_URL))
        parses.append(t)
        t, totals = timed(lambda: list_download_bytes(catalog))  # noqa: B023 - called at once
        firsts.append(t)
        assert len(totals) == args.deployments
        agains.append(timed(lambda: list_download_bytes(catalog))[0])  # noqa: B023
        peers.append(timed(lambda: json.loads(data))[0])
    parse, first, again, peer = map(statistics.median, (parses, firsts, agains, peers))
    files = sum(len(p.files) for p in catalog.packages.values())

    rows = [
        ("deployments", f"{len(catalog.deployments):,}", ""),
        ("task sequences", f"{len(catalog.task_sequences):,}", ""),
        ("packages (files)", f"{len(catalog.packages):,} ({files:,})", ""),
        ("catalog bytes", f"{len(data):,}", f"{len(data) / 2**20:.1f} MiB"),
        ("parse_catalog", f"{parse * 1000:.1f} ms", f"target <= {PARSE_TARGET_S * 1000:.0f} ms"),
        ("list, first (bytes per deployment)", f"{first * 1000:.1f} ms", "right after the parse"),
        ("list, again", f"{again * 1000:.1f} ms", ""),
        ("peer: json.loads", f"{peer * 1000:.1f} ms", f"parse = {parse / peer:.2f} x json.loads"),
    ]
    print(f"catalog scale, median of {args.runs} runs (worst parse {max(parses) * 1000:.0f} ms)")
    width = max(len(r[0]) for r in rows)
    for what, figure, note in rows:
        print(f"  {what:<{width}}  {figure:>18}  {note}")
    sizes = [int(n) for n in args.list_sizes.split(",") if n.strip()]
    if sizes:
        print(f"list (SoftwareCenter.listings), median of {args.list_runs} runs")
        for n, size, listing, peer in list_figures(sizes, args.list_runs):
            print(f"  {n:>7,} deployments ({size / 2**20:4.1f} MiB)  list {listing * 1000:9.1f} ms  "
                  f"json.loads {peer * 1000:7.1f} ms  list = {listing / peer:6.2f} x json.loads")
    print("PASS" if parse <= PARSE_TARGET_S else "FAIL", f"parse {parse:.3f} s (target <= {PARSE_TARGET_S} s)")


if __name__ == "__main__":
    main()
