"""Helpers for the publishing tests: a small SOURCE.json with real files, and the real CLI.

    source = write_source(tmp_path / "src")          # SOURCE.json + two package folders
    result = run_cli("site", "build", str(source), str(out))
    assert result.rc == 0, result.stderr
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CliRun", "run_cli", "source_spec", "write_source"]

_SCRIPT = Path(sys.executable).with_name("software-center")


def source_spec(packages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A version-1 catalog around `packages` (ID -> fields incl. `source`), one deployment each."""
    steps = [
        {"type": "install_package", "name": f"Install {pid}", "package": pid,
         "command": ["%PYTHON%", "-c", "print('ok')"]}
        for pid in packages
    ] or [{"type": "run_command", "name": "Nothing", "command": ["%PYTHON%", "-c", "pass"]}]
    return {
        "format": 1,
        "site": {"code": "TST", "name": "Test site", "organization": "Test IT"},
        "packages": packages,
        "task_sequences": {"TST00100": {"name": "Install everything", "steps": steps}},
        "deployments": [{
            "id": "TST20001", "task_sequence": "TST00100", "name": "Everything",
            "publisher": "Test IT", "version": "1", "description": "All test packages.",
            "purpose": "available", "available_to": "clients", "allow_internet": True,
            "download": "on_demand", "high_impact": False, "restart_required": False,
            "estimated_minutes": 1,
        }],
    }


def write_source(root: Path, files: dict[str, dict[str, bytes]] | None = None,
                 extra: dict[str, dict[str, Any]] | None = None) -> Path:
    """Package folders under `root/packages/<folder>` and `root/SOURCE.json`; returns its path.

    `files`: package ID -> {relative path: bytes}; default two small packages.
    `extra`: package ID -> more fields (e.g. locations).
    """
    files = files if files is not None else {
        "TST00001": {"setup.py": b"print('setup')\n", "sources/image.bin": bytes(range(256)) * 300},
        "TST00002": {"install.py": b"print('install')\n"},
    }
    packages: dict[str, dict[str, Any]] = {}
    for n, (pid, content) in enumerate(files.items()):
        folder = root / "packages" / f"pkg{n}"
        folder.mkdir(parents=True, exist_ok=True)
        for rel, data in content.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        packages[pid] = {"name": f"Package {pid}", "version": n + 1, "source": f"packages/pkg{n}",
                         **(extra or {}).get(pid, {})}
    source = root / "SOURCE.json"
    source.write_text(json.dumps(source_spec(packages), indent=2), encoding="utf-8")
    return source


@dataclass
class CliRun:
    rc: int
    stdout: str
    stderr: str

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
            cwd: Path | None = None) -> CliRun:
    """Run the installed `software-center` (or `python -m cli.main`); never a traceback."""
    cmd = [str(_SCRIPT), *args] if _SCRIPT.exists() else [sys.executable, "-m", "cli.main", *args]
    base = {k: v for k, v in os.environ.items() if not k.startswith("SOFTWARE_CENTER_")}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**base, **(env or {})},
                          stdin=subprocess.DEVNULL, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return CliRun(proc.returncode, proc.stdout, proc.stderr)
