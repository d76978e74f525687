"""`software-center resume` of a saved run whose connection setting is not one it knows: a
sentence naming the setting, exit 2, no traceback (harness.cli checks it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.demo import build_demo_site
from tests.core.sites.harness import cli, state_file


@pytest.mark.asyncio
async def test_an_unknown_saved_connection_setting_is_named(tmp_path: Path) -> None:
    site = build_demo_site(tmp_path / "site", scale=1 / 256)
    data = tmp_path / "data"
    pending = await cli("run", "NWT20001", "--site", str(site), "--data-dir", str(data), "--connection", "internet",
                        "--yes", "--json", "--variable", "DemoSetupSeconds=0.3")
    assert pending.rc == 5  # restart pending: the run is saved
    saved = json.loads(state_file(data).read_text())
    saved["connection_setting"] = "satellite"
    state_file(data).write_text(json.dumps(saved))
    resumed = await cli("resume", "--data-dir", str(data), "--json")
    assert resumed.rc == 2 and resumed.events == []
    assert "unknown connection_setting 'satellite'" in resumed.stderr
