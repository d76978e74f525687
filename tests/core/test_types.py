"""Type hints everywhere: mypy --strict on core/ (the engine the rest relies on), the window
(ui/) and the command line (cli/). One exception, in pyproject.toml: qasync ships no type
information, so its imports are not analysed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("package", ["core", "ui", "cli"])
def test_passes_mypy_strict(tmp_path: Path, package: str) -> None:
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), package],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
