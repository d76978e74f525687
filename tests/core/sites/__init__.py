"""Small purpose-built sites for engine and CLI tests: a catalog written from Python data,
package content from bytes, and `tool.py`, the step program the test task sequences run.

    root = write_site(tmp_path / "site",
                      packages={"TOOLS": tool_files()},
                      task_sequences={"TS1": [run_tool("Hello", "--print", "hi")]},
                      deployments=[deployment("DEP1", "TS1")])

Every package gets one `cloud` location (`content/<ID>.1/`, relative to the catalog) unless
`locations` says otherwise; `declared` overrides a file's catalog size (and hash) to
describe content that is not there (a package too big for the disk).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

from core.demo import DEMO_SPEC_DIR

__all__ = [
    "CMTRACE_LINE",
    "PY",
    "SETUP_PY",
    "TOOL",
    "deployment",
    "run_tool",
    "setup_files",
    "tool_files",
    "write_site",
]

TOOL = Path(__file__).with_name("tool.py")
SETUP_PY = DEMO_SPEC_DIR / "packages" / "win11-24h2" / "setup.py"
PY = sys.executable

# One CMTrace entry per line, exactly as docs/ENGINE.md "The log" defines it.
CMTRACE_LINE = re.compile(
    r'<!\[LOG\[(?P<message>[^\r\n]*)\]LOG\]!><time="\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{3}" '
    r'date="\d{2}-\d{2}-\d{4}" component="(?P<component>[A-Za-z][A-Za-z0-9]*)" context="" '
    r'type="(?P<type>[123])" thread="\d+" file="">'
)


def tool_files() -> dict[str, bytes]:
    return {"tool.py": TOOL.read_bytes()}


def setup_files(image_size: int = 4096) -> dict[str, bytes]:
    """The demo's simulated Windows Setup with a small install image."""
    return {"setup.py": SETUP_PY.read_bytes(), "sources/install.wim": bytes(range(256)) * (image_size // 256)}


def run_tool(
    name: str, *args: str, package: str | None = "TOOLS", kind: str = "run_command", **fields: Any
) -> dict[str, Any]:
    """A step that runs tool.py (from the TOOLS package, or by absolute path without one)."""
    script = "tool.py" if package else str(TOOL)
    step: dict[str, Any] = {"type": kind, "name": name, "command": ["%PYTHON%", script, *args]}
    if package:
        step["package"] = package
    step.update(fields)
    return step


def deployment(dep_id: str, ts: str, **overrides: Any) -> dict[str, Any]:
    dep: dict[str, Any] = {
        "id": dep_id,
        "task_sequence": ts,
        "name": f"Deployment {dep_id}",
        "publisher": "Test IT",
        "version": "1",
        "description": "A test deployment.",
        "purpose": "available",
        "available_to": "clients",
        "allow_internet": True,
        "download": "on_demand",
        "high_impact": False,
        "restart_required": False,
        "estimated_minutes": 1,
        "available_from": None,
        "expires": None,
        "deadline": None,
    }
    dep.update(overrides)
    return dep


def write_site(
    root: Path,
    *,
    packages: dict[str, dict[str, bytes]],
    task_sequences: dict[str, list[dict[str, Any]]],
    deployments: list[dict[str, Any]],
    locations: dict[str, list[dict[str, str]]] | None = None,
    declared: dict[tuple[str, str], int] | None = None,
    intranet_probe: str | None = None,
) -> Path:
    """Write `root/catalog.json` and `root/content/<ID>.1/...`; returns `root`."""
    root.mkdir(parents=True, exist_ok=True)
    catalog_packages: dict[str, Any] = {}
    for pid, files in packages.items():
        folder = root / "content" / f"{pid}.1"
        entries = []
        for path, data in files.items():
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            size = (declared or {}).get((pid, path), len(data))
            entries.append({"path": path, "size": size, "sha256": hashlib.sha256(data).hexdigest()})
        catalog_packages[pid] = {
            "name": f"Package {pid}",
            "version": 1,
            "files": entries,
            "locations": (locations or {}).get(pid, [{"kind": "cloud", "url": f"content/{pid}.1/"}]),
        }
    site: dict[str, Any] = {"code": "TST", "name": "Test site", "organization": "Test IT"}
    if intranet_probe:
        site["intranet_probe"] = intranet_probe
    catalog = {
        "format": 1,
        "site": site,
        "packages": catalog_packages,
        "task_sequences": {tid: {"name": f"Sequence {tid}", "steps": steps} for tid, steps in task_sequences.items()},
        "deployments": deployments,
    }
    (root / "catalog.json").write_text(json.dumps(catalog, indent=1))
    return root
