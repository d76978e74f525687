"""The policy refresh: the catalog is read again with a conditional GET (an unchanged one
costs a 304 and no body), a new one comes into force whole or not at all, and the agent
does it every `poll_minutes` by itself and on `software-center refresh`, so clients list a
newly published deployment without anyone restarting anything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import AgentClient, CatalogError, SoftwareCenter, UntrustedSiteError
from core.signing import SIGNATURE_NAME, public_key_text, sign_catalog
from tests.core.helpers.content_server import ContentServer
from tests.core.sites import deployment, run_tool, tool_files, write_site
from tests.core.sites.harness import cli
from tests.core.test_agent import agent_args, agent_process, short_dir, wait_until

short_dir = short_dir  # a fixture shared with the agent's tests


def publish(root: Path, *deployment_ids: str) -> Path:
    """The test site with these deployments (each runs the same one-step sequence)."""
    return write_site(root, packages={"TOOLS": tool_files()},
                      task_sequences={"SEQ": [run_tool("Hello", "--print", "hi")]},
                      deployments=[deployment(d, "SEQ") for d in deployment_ids])


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return publish(tmp_path / "site", "DEP1")


@pytest.fixture
def server(site: Path) -> Iterator[ContentServer]:
    with ContentServer(site) as srv:
        yield srv


def catalog_requests(server: ContentServer) -> list[int]:
    return [r.status for r in server.requests_for("catalog.json")]


async def opened(data: Path, server: ContentServer, **kwargs: Any) -> SoftwareCenter:
    center = SoftwareCenter(data, site=server.url, connection="internet", **kwargs)
    await center.open()
    return center


@pytest.mark.asyncio
async def test_an_unchanged_catalog_costs_a_304_and_a_new_one_comes_into_force(
        server: ContentServer, site: Path, tmp_path: Path) -> None:
    center = await opened(tmp_path / "data", server)
    try:
        assert await center.refresh() is False
        assert await center.refresh() is False
        assert catalog_requests(server) == [200, 304, 304]
        again = server.requests_for("catalog.json")[1]
        assert again.headers.get("If-None-Match") and again.sent == 0
        publish(site, "DEP1", "DEP2")
        assert await center.refresh() is True
        assert [item.deployment.id for item in center.listings()] == ["DEP1", "DEP2"]
        assert catalog_requests(server)[-1] == 200
        assert await center.refresh() is False  # the new copy's validators are the ones sent now
        assert catalog_requests(server)[-1] == 304
    finally:
        await center.aclose()


@pytest.mark.asyncio
async def test_without_validators_the_catalog_is_read_whole_and_compared(site: Path, tmp_path: Path) -> None:
    with ContentServer(site, validators=False) as server:
        center = await opened(tmp_path / "data", server)
        try:
            assert await center.refresh() is False
            publish(site, "DEP1", "DEP3")
            assert await center.refresh() is True
            assert catalog_requests(server) == [200, 200, 200]
            assert "If-None-Match" not in server.requests_for("catalog.json")[1].headers
        finally:
            await center.aclose()


@pytest.mark.asyncio
async def test_a_new_catalog_that_does_not_load_leaves_the_last_good_one_in_force(
        server: ContentServer, site: Path, tmp_path: Path) -> None:
    center = await opened(tmp_path / "data", server)
    good = center.catalog_bytes
    try:
        (site / "catalog.json").write_text('{"format": 1, "site": ')
        with pytest.raises(CatalogError):
            await center.refresh()
        assert center.catalog_bytes == good and [i.deployment.id for i in center.listings()] == ["DEP1"]
        publish(site, "DEP1", "DEP4")
        assert await center.refresh() is True
        assert [i.deployment.id for i in center.listings()] == ["DEP1", "DEP4"]
    finally:
        await center.aclose()


@pytest.mark.asyncio
async def test_a_signed_site_refreshes_with_a_304_and_refuses_a_new_catalog_with_a_bad_signature(
        server: ContentServer, site: Path, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()

    def sign() -> None:
        (site / SIGNATURE_NAME).write_bytes(sign_catalog(key, (site / "catalog.json").read_bytes()))

    sign()
    center = await opened(tmp_path / "data", server, site_key=public_key_text(key))
    try:
        assert center.catalog_signed is True
        assert await center.refresh() is False
        assert catalog_requests(server) == [200, 304]
        publish(site, "DEP1", "DEP5")  # published without signing it again
        with pytest.raises(UntrustedSiteError):
            await center.refresh()
        assert [i.deployment.id for i in center.listings()] == ["DEP1"] and center.catalog_signed is True
        sign()
        assert await center.refresh() is True
        assert [i.deployment.id for i in center.listings()] == ["DEP1", "DEP5"]
    finally:
        await center.aclose()


# --- the agent -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_agent_polls_the_catalog_and_its_clients_list_a_new_deployment(
        server: ContentServer, site: Path, tmp_path: Path, short_dir: Path) -> None:
    data, sock = tmp_path / "data", short_dir / "a.sock"
    async with agent_process(*agent_args(server, data, sock)) as agent:
        async with AgentClient(agent.socket) as client:
            status = await client.status()
            assert status["policy"]["version"] == 0 and status["policy"]["error"] is None
            # An admin (the agent's own user, in user mode) sets a short interval: 1.2 s.
            settings = await cli("settings", "poll_minutes", "0.02", "--agent", str(sock))
            assert settings.rc == 0, settings.stderr

            async def polled(times: int) -> bool:
                return catalog_requests(server).count(304) >= times

            await wait_until(lambda: polled(2), timeout=20)
            assert [d["id"] for d in await client.deployments()] == ["DEP1"]

            publish(site, "DEP1", "DEP2")  # an admin publishes a new deployment

            async def listed() -> bool:
                return [d["id"] for d in await client.deployments()] == ["DEP1", "DEP2"]

            await wait_until(listed, timeout=20)  # no refresh asked for: the agent's own poll
            status = await client.status()
            assert status["policy"]["version"] == 1 and status["policy"]["changed_at"]

            # A broken catalog is reported, and the last good one stays in force.
            (site / "catalog.json").write_text("not json")

            async def reported() -> bool:
                return (await client.status())["policy"]["error"] is not None

            await wait_until(reported, timeout=20)
            error = (await client.status())["policy"]["error"]
            assert "catalog" in error["message"] and error["code"]
            assert [d["id"] for d in await client.deployments()] == ["DEP1", "DEP2"]

            refused = await cli("refresh", "--agent", str(sock))
            assert refused.rc == 2 and "catalog" in refused.stderr and "Traceback" not in refused.stderr

            publish(site, "DEP1", "DEP2", "DEP3")
            result = await cli("refresh", "--json", "--agent", str(sock))
            assert result.rc == 0, result.stderr
            answer = json.loads(result.stdout)
            # The poll may have seen the new catalog first; either way it is in force now.
            assert answer["event"] == "refreshed" and answer["deployments"] == 3
            again = await cli("refresh", "--agent", str(sock))
            assert again.rc == 0 and again.stdout.strip() == "The catalog is unchanged (3 deployments)."
            assert (await client.status())["policy"]["error"] is None


@pytest.mark.asyncio
async def test_poll_minutes_is_checked_like_every_setting(
        server: ContentServer, tmp_path: Path, short_dir: Path) -> None:
    data, sock = tmp_path / "data", short_dir / "a.sock"
    async with agent_process(*agent_args(server, data, sock)):
        for bad in ("0", "-1", "soon", "20000"):
            result = await cli("settings", "poll_minutes", bad, "--agent", str(sock))
            assert result.rc == 2 and "poll_minutes: expected a number of minutes" in result.stderr, result.stderr
        ok = await cli("settings", "poll_minutes", "30", "--agent", str(sock), "--json")
        assert ok.rc == 0 and json.loads(ok.stdout)["poll_minutes"] == 30
