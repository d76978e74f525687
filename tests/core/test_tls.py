"""HTTPS: certificates are always verified, against the system trust store plus `--ca-bundle`;
an untrusted certificate is refused in words; redirects follow docs/SITE-FORMAT.md.

Real HTTPS servers on loopback with certificates from test CAs made by `cryptography`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.center import SoftwareCenter
from core.errors import SiteUnreachableError, UntrustedCertificateError
from core.http import HttpSession
from core.options import Options, save_options
from core.sitebuild import build_site
from tests.core.helpers.publish import run_cli, write_source
from tests.core.helpers.testca import HttpsServer, TestCA

pytestmark = pytest.mark.usefixtures("fail_on_loop_errors")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two CAs; `good` issued the servers' certificates, `other` did not."""
    d = tmp_path_factory.mktemp("pki")
    good, other = TestCA("Good Test Root"), TestCA("Other Test Root")
    cert, key = good.issue(d, ["127.0.0.1", "localhost"])
    cert2, key2 = good.issue(d, ["127.0.0.2"], name="second")
    named, named_key = good.issue(d, ["localhost"], name="named")  # no IP SAN: wrong for 127.0.0.1
    by_other, by_other_key = other.issue(d, ["127.0.0.1"], name="other")
    return {
        "ca": good.write(d / "ca.pem"), "other_ca": other.write(d / "other-ca.pem"),
        "cert": cert, "key": key, "cert2": cert2, "key2": key2,
        "named": named, "named_key": named_key, "by_other": by_other, "by_other_key": by_other_key,
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("www")
    build_site(write_source(root / "src"), root / "site")
    return root


@pytest.fixture
def server(site: Path, pki: dict[str, Path]) -> Iterator[HttpsServer]:
    with HttpsServer(site, pki["cert"], pki["key"]) as s:
        yield s


# --- the session ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_private_ca_bundle_makes_the_server_trusted(server: HttpsServer, pki: dict[str, Path]) -> None:
    async with HttpSession(ca_bundle=pki["ca"]) as s:
        data = await s.get_bytes(server.url + "site/catalog.json", max_bytes=1 << 20)
    assert json.loads(data)["site"]["code"] == "TST"


@pytest.mark.asyncio
async def test_a_bundle_with_non_ascii_comments_is_read(server: HttpsServer, pki: dict[str, Path],
                                                         tmp_path: Path) -> None:
    """System bundles label certificates in UTF-8 (`# Issuer: CN=TÜBİTAK …`); only the
    certificates themselves are read."""
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes("# Issuer: CN=TÜBİTAK Kamu SM SSL Kök Sertifikası\n".encode() + pki["ca"].read_bytes())
    async with HttpSession(ca_bundle=bundle) as s:
        data = await s.get_bytes(server.url + "site/catalog.json", max_bytes=1 << 20)
    assert json.loads(data)["site"]["code"] == "TST"


@pytest.mark.asyncio
@pytest.mark.parametrize("bundle", [None, "other_ca"])
async def test_an_untrusted_certificate_is_refused_in_words(
    server: HttpsServer, pki: dict[str, Path], bundle: str | None
) -> None:
    async with HttpSession(ca_bundle=pki[bundle] if bundle else None) as s:
        with pytest.raises(UntrustedCertificateError) as err:
            await s.get_bytes(server.url + "site/catalog.json?token=SECRET", max_bytes=1 << 20)
    text = str(err.value)
    assert "the server's certificate is not trusted" in text
    assert "--ca-bundle" in text and "127.0.0.1" in text and "SECRET" not in text
    assert isinstance(err.value, SiteUnreachableError)
    assert server.requests == []  # not a byte of HTTP went to an unverified server


@pytest.mark.asyncio
async def test_a_certificate_for_another_name_is_refused(site: Path, pki: dict[str, Path]) -> None:
    with HttpsServer(site, pki["named"], pki["named_key"]) as named:
        async with HttpSession(ca_bundle=pki["ca"]) as s:
            with pytest.raises(UntrustedCertificateError, match="not trusted.*(?i:mismatch|match)"):
                await s.get_bytes(named.url + "site/catalog.json", max_bytes=1 << 20)


@pytest.mark.asyncio
async def test_the_ca_bundle_adds_to_the_system_trust_store(
    site: Path, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # OpenSSL's system store honours SSL_CERT_FILE: make the "other" CA the system's only one.
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["other_ca"]))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with HttpsServer(site, pki["by_other"], pki["by_other_key"]) as by_system, \
            HttpsServer(site, pki["cert2"], pki["key2"], host="127.0.0.2") as by_bundle:
        async with HttpSession(ca_bundle=pki["ca"]) as s:
            assert await s.get_bytes(by_system.url + "site/catalog.json", max_bytes=1 << 20)
            assert await s.get_bytes(by_bundle.url + "site/catalog.json", max_bytes=1 << 20)
        async with HttpSession() as s:  # the system store alone
            assert await s.get_bytes(by_system.url + "site/catalog.json", max_bytes=1 << 20)
            with pytest.raises(UntrustedCertificateError):
                await s.get_bytes(by_bundle.url + "site/catalog.json", max_bytes=1 << 20)


@pytest.mark.asyncio
@pytest.mark.parametrize("content, words", [
    (None, "does not exist"),
    (b"not a certificate\n", "no usable certificate"),
])
async def test_an_unusable_ca_bundle_is_reported_in_words(
    server: HttpsServer, tmp_path: Path, content: bytes | None, words: str
) -> None:
    bundle = tmp_path / "ca.pem"
    if content is not None:
        bundle.write_bytes(content)
    async with HttpSession(ca_bundle=bundle) as s:
        with pytest.raises(SiteUnreachableError, match=words):
            await s.get_bytes(server.url + "site/catalog.json", max_bytes=1 << 20)


# --- redirects (docs/SITE-FORMAT.md "Content") ----------------------------------------------------


@pytest.mark.asyncio
async def test_redirects_to_https_elsewhere_are_followed_and_to_http_elsewhere_refused(
    site: Path, pki: dict[str, Path], server: HttpsServer
) -> None:
    with HttpsServer(site, pki["cert2"], pki["key2"], host="127.0.0.2") as other:
        server.redirects["/moved/"] = other.url + "site/"
        server.redirects["/plain-elsewhere/"] = "http://127.0.0.2:9/site/"
        server.redirects["/plain-same-host/"] = "http://127.0.0.1:9/site/"
        server.redirects["/loop/"] = server.url + "loop/"
        for i in range(7):
            server.redirects[f"/hop{i}/"] = server.url + f"hop{i + 1}/"
        server.redirects["/hop7/"] = server.url + "site/"
        async with HttpSession(ca_bundle=pki["ca"]) as s:
            assert json.loads(await s.get_bytes(server.url + "moved/catalog.json", max_bytes=1 << 20))
            assert [p for p, _ in other.requests] == ["/site/catalog.json"]
            with pytest.raises(SiteUnreachableError, match="refused: only https, or http on the same host"):
                await s.get_bytes(server.url + "plain-elsewhere/catalog.json", max_bytes=1 << 20)
            # http on the same host is allowed by the policy (nothing listens there: cannot connect)
            with pytest.raises(SiteUnreachableError, match="cannot connect"):
                await s.get_bytes(server.url + "plain-same-host/catalog.json", max_bytes=1 << 20)
            with pytest.raises(SiteUnreachableError, match="redirect loop"):
                await s.get_bytes(server.url + "loop/x", max_bytes=1 << 20)
            with pytest.raises(SiteUnreachableError, match="more than 5 redirects"):
                await s.get_bytes(server.url + "hop0/catalog.json", max_bytes=1 << 20)
            assert await s.get_bytes(server.url + "hop3/catalog.json", max_bytes=1 << 20)  # 5 hops: fine


# --- the client and the command line ---------------------------------------------------------


@pytest.mark.asyncio
async def test_software_center_takes_the_ca_from_argument_environment_or_options(
    server: HttpsServer, pki: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOFTWARE_CENTER_CA_BUNDLE", raising=False)
    url = server.url + "site/"
    center = SoftwareCenter(tmp_path / "a", site=url, connection="internet")
    try:
        with pytest.raises(UntrustedCertificateError):
            await center.open()
    finally:
        await center.aclose()
    for how in ("argument", "environment", "options"):
        data = tmp_path / how
        kwargs = {}
        if how == "argument":
            kwargs["ca_bundle"] = pki["ca"]
        elif how == "environment":
            monkeypatch.setenv("SOFTWARE_CENTER_CA_BUNDLE", str(pki["ca"]))
        else:
            monkeypatch.delenv("SOFTWARE_CENTER_CA_BUNDLE")
            save_options(data, Options(ca_bundle=str(pki["ca"])))
        center = SoftwareCenter(data, site=url, connection="internet", **kwargs)  # type: ignore[arg-type]
        try:
            catalog = await center.open()
        finally:
            await center.aclose()
        assert catalog.site.code == "TST", how
        assert center.catalog_signed is False  # no key pinned: taken unsigned, and it says so


def test_cli_refuses_an_untrusted_server_with_words_and_trusts_ca_bundle(
    server: HttpsServer, pki: dict[str, Path], tmp_path: Path
) -> None:
    url = server.url + "site/"
    data = str(tmp_path / "data")
    bad = run_cli("list", "--site", url, "--data-dir", data, "--connection", "internet")
    assert bad.rc == 2
    assert "the server's certificate is not trusted" in bad.stderr
    good = run_cli("list", "--site", url, "--data-dir", data, "--ca-bundle", str(pki["ca"]), "--json",
                   "--connection", "internet")
    assert good.rc == 0, good.stderr
    assert [e["id"] for e in good.events()] == ["TST20001"]
    missing = run_cli("list", "--site", url, "--data-dir", data, "--ca-bundle", str(tmp_path / "nope.pem"))
    assert missing.rc == 2 and "--ca-bundle: no file" in missing.stderr


@pytest.mark.asyncio
async def test_the_intranet_probe_is_reachable_at_any_status_and_never_raises(
    server: HttpsServer, pki: dict[str, Path]
) -> None:
    async with HttpSession(ca_bundle=pki["ca"]) as s:
        assert await s.probe(server.url + "missing-page", timeout=2.0)  # a 404 is an answer
        assert not await s.probe("http://127.0.0.1:9/ping", timeout=2.0)  # nothing listens
        assert not await s.probe("not a url", timeout=2.0)
    async with HttpSession() as s:  # an untrusted server does not count as the intranet
        assert not await s.probe(server.url, timeout=2.0)
