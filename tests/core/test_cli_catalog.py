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


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://xn--/content/", "is not a valid host name"),
        (f"http://{'a' * 64}/content/", "is not a valid host name"),
        ("content/TOOLS.1/?sig=X", "a query (?...) cannot be part of a folder URL"),
    ],
)
async def test_a_location_the_client_cannot_fetch_is_refused_by_its_field_before_the_run(
    tmp_path: Path, url: str, words: str
) -> None:
    site = small_site(tmp_path / "site", [{"kind": "cloud", "url": url}])
    result = await cli(*run_args(site, tmp_path / "data"), "--json")
    assert result.rc == 2, result.stderr
    assert "packages.TOOLS.locations[0].url" in result.stderr and words in result.stderr
    assert not result.events  # nothing started


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("site", "words"),
    [
        ("ftp://files.example/site/", "unsupported scheme 'ftp'"),
        ("sftp://files.example/site", "unsupported scheme 'sftp'"),
        ("smb://server/share/site", "unsupported scheme 'smb'"),
        ("http://xn--/site/", "is not a valid host name"),
        (f"https://{'a' * 64}.example/site/", "is not a valid host name"),
        ("https://sc.example/site/?sig=X", "a query (?...) cannot be part of a folder URL"),
        ("http:site", "expected an absolute http or https URL"),
    ],
)
async def test_a_site_address_the_client_cannot_use_is_refused_in_words(tmp_path: Path, site: str, words: str) -> None:
    for command in (["list", "--site", site, "--data-dir", str(tmp_path / "d")], run_args(site, tmp_path / "d")):
        result = await cli(*command)
        assert result.rc == 2, result.stderr
        assert words in result.stderr, result.stderr
        assert "no catalog.json" not in result.stderr


@pytest.mark.asyncio
async def test_a_windows_drive_and_a_file_url_stay_local_folders(tmp_path: Path) -> None:
    for site in ("C:\\Sites\\contoso", "C:/Sites/contoso", "file:///nonexistent/site"):
        result = await cli("list", "--site", site, "--data-dir", str(tmp_path / "d"))
        assert result.rc == 2 and "no catalog.json in the folder" in result.stderr, result.stderr
    site = small_site(tmp_path / "site")
    listed = await cli("list", "--site", site.as_uri(), "--data-dir", str(tmp_path / "d"), "--json")
    assert listed.rc == 0, listed.stderr
    assert [e["id"] for e in listed.events] == ["DEP1"]
