"""Type hints everywhere: mypy --strict on core/ (the engine the rest relies on), the window
(ui/) and the command line (cli/). One exception, in pyproject.toml: qasync ships no type
information, so its imports are not analysed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_core_ui_and_cli_pass_mypy_strict(tmp_path: Path) -> None:
    """One run over the three: the window and the command line import the engine, so
    three runs analysed core/ three times."""
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), "core", "ui", "cli"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
