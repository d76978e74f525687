"""The site's bearer token: sent to the catalog's origin only (never to another host, port or
scheme, including after a redirect to object storage), never logged, and a 401 is
"sign-in required" in words.

Two real HTTPS servers on two loopback addresses (two origins), as a site and its object
storage; the storage records every header it receives.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.catalog import parse_catalog
from core.center import SoftwareCenter
from core.content import ContentStore
from core.errors import ContentUnavailableError, SignInRequiredError, SiteUnreachableError
from core.http import HttpSession, origin_of
from core.options import Options, load_options, save_options
from core.sitebuild import build_site
from tests.core.conftest import MakePackage
from tests.core.helpers.content_server import ContentServer, Fault
from tests.core.helpers.publish import run_cli, write_source
from tests.core.helpers.testca import HttpsServer, TestCA

pytestmark = pytest.mark.usefixtures("fail_on_loop_errors")

TOKEN = "sc-test-token.Zm9vYmFy_42~"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pki")
    ca = TestCA()
    cert, key = ca.issue(d, ["127.0.0.1"])
    cert2, key2 = ca.issue(d, ["127.0.0.2"], name="storage")
    return {"ca": ca.write(d / "ca.pem"), "cert": cert, "key": key, "cert2": cert2, "key2": key2}


@pytest.fixture(scope="module")
def www(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("www")
    build_site(write_source(root / "src"), root / "site")
    return root


@pytest.fixture
def servers(www: Path, pki: dict[str, Path]) -> Iterator[tuple[HttpsServer, HttpsServer]]:
    """(site, storage): the site wants the token and redirects content/ to the storage."""
    with HttpsServer(www, pki["cert"], pki["key"]) as site, \
            HttpsServer(www, pki["cert2"], pki["key2"], host="127.0.0.2") as storage:
        site.require_token = TOKEN
        site.redirects["/site/content/"] = storage.url + "site/content/"
        yield site, storage


def _auth(requests: list[tuple[str, dict[str, str]]]) -> list[str | None]:
    return [headers.get("Authorization") for _, headers in requests]


def test_origins_compare_scheme_host_and_port() -> None:
    assert origin_of("https://Site.Example/a/") == origin_of("https://site.example:443/b?x=1")
    assert origin_of("https://site.example/") != origin_of("https://site.example:8443/")
    assert origin_of("https://site.example/") != origin_of("http://site.example/")
    assert origin_of("https://site.example/") != origin_of("https://cdn.site.example/")
    assert origin_of("file:///tmp/x") is None and origin_of("not a url") is None


@pytest.mark.asyncio
async def test_the_token_goes_to_its_origin_only(pki: dict[str, Path]) -> None:
    async with HttpSession(ca_bundle=pki["ca"]) as s:
        s.authorize("https://site.example/catalog/", TOKEN)
        with_token = s._headers_for(httpx.URL("https://site.example/catalog/content/a.bin"))
        assert with_token == {"Authorization": f"Bearer {TOKEN}"}
        for other in ("https://site.example:8443/x", "http://site.example/x", "https://storage.example/x",
                      "https://site.example.evil/x", "https://evil.example/site.example/x"):
            assert s._headers_for(httpx.URL(other)) == {}, other
        s.authorize(None, None)
        assert s._headers_for(httpx.URL("https://site.example/x")) == {}


@pytest.mark.asyncio
async def test_the_token_never_follows_a_redirect_to_object_storage(
    servers: tuple[HttpsServer, HttpsServer], pki: dict[str, Path], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    site, storage = servers
    caplog.set_level(logging.DEBUG)  # httpx and httpcore trace every request and header block
    center = SoftwareCenter(tmp_path, site=site.url + "site/", connection="internet",
                            ca_bundle=pki["ca"], token=TOKEN)
    try:
        catalog = await center.open()
        for pid, pkg in catalog.packages.items():
            folder = await center.store.fetch(pid, pkg, catalog.url, "internet", on_event=lambda e: None)
            assert sorted(p.name for p in folder.iterdir())
    finally:
        await center.aclose()
    paths = [p for p, _ in site.requests]
    assert paths[0] == "/site/catalog.json" and any(p.startswith("/site/content/") for p in paths)
    assert set(_auth(site.requests)) == {f"Bearer {TOKEN}"}
    assert len(storage.requests) == 3  # every content file came from the storage ...
    assert _auth(storage.requests) == [None, None, None]  # ... which never saw the token
    assert not any(TOKEN in str(h) for _, h in storage.requests)
    assert TOKEN not in caplog.text and "Authorization" not in caplog.text
    assert "Bearer" not in caplog.text


@pytest.mark.asyncio
async def test_401_is_sign_in_required_in_words(
    servers: tuple[HttpsServer, HttpsServer], pki: dict[str, Path], tmp_path: Path
) -> None:
    site, _ = servers
    for token, words in ((None, "needs a token"), ("wrong-token", "refused the token")):
        center = SoftwareCenter(tmp_path, site=site.url + "site/", connection="internet",
                                ca_bundle=pki["ca"], token=token)
        try:
            with pytest.raises(SignInRequiredError) as err:
                await center.open()
        finally:
            await center.aclose()
        assert "sign-in required" in str(err.value) and words in str(err.value)
        assert isinstance(err.value, SiteUnreachableError)
        assert "wrong-token" not in str(err.value)


@pytest.mark.asyncio
async def test_token_from_argument_environment_then_options(
    servers: tuple[HttpsServer, HttpsServer], pki: dict[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site, _ = servers
    save_options(tmp_path, Options(token="from-options"))
    assert "from-options" not in repr(load_options(tmp_path))  # options are logged sometimes
    seen = []
    for env, arg in ((None, None), ("from-env", None), ("from-env", "from-arg")):
        if env:
            monkeypatch.setenv("SOFTWARE_CENTER_TOKEN", env)
        center = SoftwareCenter(tmp_path, site=site.url + "site/", connection="internet",
                                ca_bundle=pki["ca"], token=arg)
        try:
            with pytest.raises(SignInRequiredError):
                await center.open()
        finally:
            await center.aclose()
        seen.append(_auth(site.requests)[-1])
    assert seen == ["Bearer from-options", "Bearer from-env", "Bearer from-arg"]


@pytest.mark.asyncio
async def test_a_token_that_cannot_be_a_header_is_refused_in_words(tmp_path: Path) -> None:
    center = SoftwareCenter(tmp_path, site="https://127.0.0.1:9/", token="two words\r\nX-Evil: 1")
    try:
        with pytest.raises(SignInRequiredError, match="characters a bearer token cannot have"):
            await center.open()
    finally:
        await center.aclose()


def test_cli_sign_in_required_then_token_from_the_environment(
    servers: tuple[HttpsServer, HttpsServer], pki: dict[str, Path], tmp_path: Path
) -> None:
    site, storage = servers
    args = ("list", "--site", site.url + "site/", "--data-dir", str(tmp_path), "--ca-bundle", str(pki["ca"]),
            "--connection", "internet", "--json")
    refused = run_cli(*args)
    assert refused.rc == 2 and "sign-in required" in refused.stderr and refused.stdout == ""
    ok = run_cli(*args, env={"SOFTWARE_CENTER_TOKEN": TOKEN, "SOFTWARE_CENTER_DEBUG": "1"})
    assert ok.rc == 0, ok.stderr
    assert [e["id"] for e in ok.events()] == ["TST20001"]
    assert "HTTP Request" in ok.stderr  # the debug log ran, and still:
    assert TOKEN not in ok.stderr and TOKEN not in ok.stdout
    assert storage.requests == []
    parse_catalog((Path(site.root) / "site" / "catalog.json").read_bytes(), site.url)


@pytest.mark.asyncio
async def test_a_401_on_content_says_sign_in_required(
    content_server: ContentServer, make_package: MakePackage, catalog_url: str, session: HttpSession,
    cache_dir: Path,
) -> None:
    pid, pkg = make_package({"a.bin": b"x" * 100})
    content_server.add_fault(f"content/{pid}.1/a.bin", Fault(status=401, times=None))
    store = ContentStore(cache_dir, session)
    with pytest.raises(ContentUnavailableError) as err:
        await store.fetch(pid, pkg, catalog_url, "internet", on_event=lambda e: None)
    assert any("HTTP 401" in why and "sign-in required" in why for _, why in err.value.attempts)
