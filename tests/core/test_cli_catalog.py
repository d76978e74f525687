"""The catalog and site rules as a user meets them through the real `software-center`
command: a bad `--site`, catalogs whose URLs the HTTP client could not use, huge IDs.
Every run is a subprocess against a real site folder served on loopback, and is checked
for a traceback (harness.cli).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.sites import deployment, run_tool, tool_files, write_site
from tests.core.sites.harness import cli


def small_site(root: Path, locations: list[dict[str, str]] | None = None) -> Path:
    return write_site(
        root,
        packages={"TOOLS": tool_files()},
        task_sequences={"TS1": [run_tool("Hello", "--print", "hi")]},
        deployments=[deployment("DEP1", "TS1")],
        locations={"TOOLS": locations} if locations is not None else None,
    )


def run_args(site: Path | str, data: Path, deployment_id: str = "DEP1") -> list[str]:
    return ["run", deployment_id, "--site", str(site), "--data-dir", str(data), "--connection", "internet", "--yes"]


@pytest.mark.asyncio
async def test_a_huge_unknown_deployment_id_is_refused_with_a_short_message(tmp_path: Path) -> None:
    site = small_site(tmp_path / "site")
    result = await cli(*run_args(site, tmp_path / "data", "X" * 20_000))
    assert result.rc == 3, result.stderr
    out = result.stdout + result.stderr
    assert "X" * 40 + "... (20,000 characters)" in out
    assert len(out) < 2_000, len(out)
