"""Catalog work that must not grow with the square of the catalog: the list looks every
deployment up by its ID, so a lookup may not scan the deployments.

Counted, never timed: the deployments are wrapped in a tuple that counts how often it is
walked, and the list of N deployments may walk it a fixed number of times, not N.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.catalog import Deployment
from core.center import SoftwareCenter
from tests.core.sites import deployment, run_tool, tool_files, write_site

ROWS = 300


class WalkCountingTuple(tuple[Deployment, ...]):
    """A tuple that counts the walks over it (a scan per lookup shows as one walk per row)."""

    walks = 0

    def __iter__(self) -> Iterator[Deployment]:
        self.walks += 1
        return super().__iter__()


@pytest.mark.asyncio
async def test_the_list_of_n_deployments_walks_them_a_fixed_number_of_times(tmp_path: Path) -> None:
    root = write_site(
        tmp_path / "site",
        packages={"TOOLS": tool_files()},
        task_sequences={"TS1": [run_tool("Hello", "--print", "hi")]},
        deployments=[deployment(f"DEP{n:04d}", "TS1") for n in range(ROWS)],
    )
    center = SoftwareCenter(tmp_path / "data", site=str(root), connection="internet")
    try:
        catalog = await center.open()
        counted = WalkCountingTuple(catalog.deployments)
        center.catalog = dataclasses.replace(catalog, deployments=counted)
        counted.walks = 0

        rows = center.listings()

        assert [r.deployment.id for r in rows] == [f"DEP{n:04d}" for n in range(ROWS)]
        assert all(r.verdict.eligible for r in rows)
        assert counted.walks <= 2, f"{counted.walks} walks over {ROWS} deployments: a scan per lookup"
        assert center.catalog.deployment("DEP0299") is catalog.deployments[-1]
        assert center.catalog.deployment("DEP9999") is None
        assert counted.walks <= 2
    finally:
        await center.aclose()
