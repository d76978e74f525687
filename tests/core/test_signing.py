"""Signed catalogs: keys, `catalog.json.sig`, `site keygen/verify`, and the client refusing
an unsigned or tampered catalog when a site key is pinned.

Real files, a real loopback server (a local site folder is served over HTTP by the client
itself) and the real command line.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.center import SoftwareCenter
from core.errors import SiteUnreachableError, UntrustedSiteError
from core.options import Options, save_options
from core.signing import (
    SIGNATURE_NAME,
    KeyFileError,
    generate_key_file,
    load_private_key,
    parse_public_key,
    public_key_text,
    sign_catalog,
    verify_catalog,
)
from core.sitebuild import build_site
from tests.core.helpers.content_server import ContentServer, Fault
from tests.core.helpers.publish import run_cli, write_source

pytestmark = pytest.mark.usefixtures("fail_on_loop_errors")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    d = tmp_path_factory.mktemp("keys")
    pub = generate_key_file(d / "site.key")
    other = generate_key_file(d / "other.key")
    (d / "site.pub").write_text(pub + "\n")
    return {"key": d / "site.key", "pub": pub, "pub_file": d / "site.pub", "other_pub": other}


@pytest.fixture(scope="module")
def signed_site(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, Path | str]) -> Path:
    root = tmp_path_factory.mktemp("signed")
    key_path = keys["key"]
    assert isinstance(key_path, Path)
    build_site(write_source(root / "src"), root / "site", key=load_private_key(key_path))
    return root / "site"


# --- keys and signatures ---------------------------------------------------------------------


def test_keygen_writes_a_private_key_for_its_owner_only_and_never_overwrites(tmp_path: Path) -> None:
    old = os.umask(0)  # even a careless umask cannot widen it
    try:
        pub = generate_key_file(tmp_path / "k")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert (tmp_path / "k").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert len(pub) == 44 and len(base64.b64decode(pub)) == 32
    assert public_key_text(load_private_key(tmp_path / "k")) == pub
    before = (tmp_path / "k").read_bytes()
    with pytest.raises(FileExistsError):
        generate_key_file(tmp_path / "k")
    assert (tmp_path / "k").read_bytes() == before


def test_the_public_key_is_accepted_as_text_a_file_or_pem(tmp_path: Path, keys: dict[str, Path | str]) -> None:
    pub = str(keys["pub"])
    key_path = keys["key"]
    assert isinstance(key_path, Path)
    pem = load_private_key(key_path).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "pub.pem").write_bytes(pem)
    for form in (pub, f"  {pub}\n", str(keys["pub_file"]), str(tmp_path / "pub.pem")):
        assert public_key_text(parse_public_key(form)) == pub, form


@pytest.mark.parametrize("value, words", [
    ("", "not an Ed25519 public key"),
    ("AAAA", "not an Ed25519 public key"),
    ("A" * 43 + "==", "not an Ed25519 public key"),
    ("/nonexistent/site.pub", "not an Ed25519 public key"),
    ("{key}", "is a private key"),
])
def test_a_bad_public_key_is_refused_in_words(value: str, words: str, keys: dict[str, Path | str]) -> None:
    with pytest.raises(KeyFileError, match=words):
        parse_public_key(value.format(key=keys["key"]))


def test_only_ed25519_private_keys_are_loaded(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ec.key").write_bytes(ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(KeyFileError, match="not Ed25519"):
        load_private_key(tmp_path / "ec.key")
    (tmp_path / "enc.key").write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw")))
    with pytest.raises(KeyFileError, match="encrypted"):
        load_private_key(tmp_path / "enc.key")
    with pytest.raises(KeyFileError, match="cannot read"):
        load_private_key(tmp_path / "missing.key")


def test_the_signature_covers_every_byte_of_the_catalog() -> None:
    key = Ed25519PrivateKey.generate()
    catalog = b'{"format": 1}\n'
    sig = sign_catalog(key, catalog)
    assert sig.endswith(b"\n") and len(sig) == 89 and sign_catalog(key, catalog) == sig  # deterministic
    verify_catalog(key.public_key(), catalog, sig)
    verify_catalog(key.public_key(), catalog, b"\r\n " + sig.strip() + b"\t\n")  # whitespace is fine
    for changed in (catalog + b" ", catalog[:-1], b'{"format": 2}\n', b""):
        with pytest.raises(UntrustedSiteError, match="does not match the pinned site key") as err:
            verify_catalog(key.public_key(), changed, sig)
        assert err.value.reason == "bad_signature"
    with pytest.raises(UntrustedSiteError, match="does not match"):
        verify_catalog(Ed25519PrivateKey.generate().public_key(), catalog, sig)
    with pytest.raises(UntrustedSiteError, match="not signed") as err:
        verify_catalog(key.public_key(), catalog, None)
    assert err.value.reason == "unsigned"


# --- the client --------------------------------------------------------------------------


async def _open(data_dir: Path, site: str, **kwargs: object) -> SoftwareCenter:
    center = SoftwareCenter(data_dir, site=site, connection="internet", **kwargs)  # type: ignore[arg-type]
    try:
        await center.open()
    finally:
        await center.aclose()
    return center


@pytest.mark.asyncio
async def test_a_pinned_key_accepts_its_signed_catalog(
    signed_site: Path, keys: dict[str, Path | str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOFTWARE_CENTER_SITE_KEY", raising=False)
    center = await _open(tmp_path / "a", str(signed_site), site_key=str(keys["pub"]))
    assert center.catalog_signed is True
    save_options(tmp_path / "b", Options(site_key=str(keys["pub_file"])))
    assert (await _open(tmp_path / "b", str(signed_site))).catalog_signed is True
    monkeypatch.setenv("SOFTWARE_CENTER_SITE_KEY", str(keys["pub"]))
    assert (await _open(tmp_path / "c", str(signed_site))).catalog_signed is True
    monkeypatch.delenv("SOFTWARE_CENTER_SITE_KEY")
    unpinned = await _open(tmp_path / "d", str(signed_site))
    assert unpinned.catalog_signed is False  # no key: the window says "unsigned"


@pytest.mark.asyncio
async def test_a_pinned_key_refuses_tampered_unsigned_and_foreign_catalogs(
    signed_site: Path, keys: dict[str, Path | str], tmp_path: Path
) -> None:
    def copy(name: str) -> Path:
        dst = tmp_path / name
        dst.mkdir()
        for f in ("catalog.json", SIGNATURE_NAME):
            (dst / f).write_bytes((signed_site / f).read_bytes())
        return dst

    tampered = copy("tampered")
    data = (tampered / "catalog.json").read_bytes()
    (tampered / "catalog.json").write_bytes(data.replace(b'"Test IT"', b'"Evil IT"', 1))
    unsigned = copy("unsigned")
    (unsigned / SIGNATURE_NAME).unlink()
    garbage = copy("garbage")
    (garbage / SIGNATURE_NAME).write_bytes(b"\x00\xff" * 40)
    oversized = copy("oversized")
    (oversized / SIGNATURE_NAME).write_bytes((signed_site / SIGNATURE_NAME).read_bytes() * 20)
    cases = [
        (tampered, str(keys["pub"]), "bad_signature", "does not match the pinned site key"),
        (signed_site, str(keys["other_pub"]), "bad_signature", "does not match the pinned site key"),
        (unsigned, str(keys["pub"]), "unsigned", "not signed"),
        (garbage, str(keys["pub"]), "bad_signature", "not an Ed25519 signature"),
        (oversized, str(keys["pub"]), "bad_signature", "larger than 1024 bytes"),
        (signed_site, "not-a-key", "bad_key", "pinned site key cannot be used"),
    ]
    for site, key, reason, words in cases:
        with pytest.raises(UntrustedSiteError, match=words) as err:
            await _open(tmp_path / "data", str(site), site_key=key)
        assert err.value.reason == reason
        assert str(err.value).startswith("untrusted site: ")


@pytest.mark.asyncio
async def test_a_signature_that_cannot_be_read_is_a_site_error_not_unsigned(
    content_server: ContentServer, content_root: Path, signed_site: Path, keys: dict[str, Path | str],
    tmp_path: Path,
) -> None:
    for f in ("catalog.json", SIGNATURE_NAME):
        (content_root / f).write_bytes((signed_site / f).read_bytes())
    content_server.add_fault(SIGNATURE_NAME, Fault(status=503, times=None))
    with pytest.raises(SiteUnreachableError, match="503"):
        await _open(tmp_path, content_server.url, site_key=str(keys["pub"]))
    content_server.clear_faults()
    center = await _open(tmp_path, content_server.url, site_key=str(keys["pub"]))
    assert center.catalog_signed is True
    # The signature is fetched from the catalog's folder, right after the catalog.
    assert [r.path for r in content_server.requests[-2:]] == ["catalog.json", SIGNATURE_NAME]


@pytest.mark.asyncio
async def test_a_site_republished_between_the_two_reads_is_read_again(
    content_server: ContentServer, content_root: Path, signed_site: Path, keys: dict[str, Path | str],
    tmp_path: Path,
) -> None:
    new = (signed_site / "catalog.json").read_bytes()
    (content_root / "catalog.json").write_bytes(new)
    (content_root / SIGNATURE_NAME).write_bytes((signed_site / SIGNATURE_NAME).read_bytes())
    # The first read of the catalog still gets the previous version; the signature is new.
    content_server.add_fault("catalog.json", Fault(body=new.replace(b"Everything", b"Old version")))
    center = SoftwareCenter(tmp_path, site=content_server.url, connection="internet", site_key=str(keys["pub"]))
    try:
        await center.open()
    finally:
        await center.aclose()
    assert center.catalog_signed is True and center.catalog_bytes == new
    paths = [r.path for r in content_server.requests]
    assert paths == ["catalog.json", SIGNATURE_NAME, "catalog.json", SIGNATURE_NAME]


# --- the command line --------------------------------------------------------------------


def test_cli_keygen_build_verify_and_a_pinned_client(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "site.key"
    key.parent.mkdir()
    made = run_cli("site", "keygen", str(key))
    assert made.rc == 0, made.stderr
    pub = made.stdout.strip()
    assert len(pub) == 44 and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert pub not in made.stderr and "site_key" in made.stderr
    again = run_cli("site", "keygen", str(key))
    assert again.rc == 2 and "refusing to overwrite" in again.stderr

    out = tmp_path / "site"
    built = run_cli("site", "build", str(write_source(tmp_path / "src")), str(out), "--key", str(key))
    assert built.rc == 0, built.stderr
    assert pub in built.stderr and (out / SIGNATURE_NAME).is_file()
    good = run_cli("site", "verify", str(out), "--public-key", pub)
    assert good.rc == 0 and "good signature" in good.stderr, good.stderr

    content = next((out / "content").rglob("*.bin"))
    content.write_bytes(content.read_bytes()[:-1] + b"!")
    broken = run_cli("site", "verify", str(out), "--public-key", pub)
    assert broken.rc == 2 and "SHA-256 does not match" in broken.stderr and "image.bin" in broken.stderr

    data = str(tmp_path / "data")
    (out / "catalog.json").write_bytes((out / "catalog.json").read_bytes().replace(b"Everything", b"Evrything"))
    tampered = run_cli("list", "--site", str(out), "--site-key", pub, "--data-dir", data, "--json")
    assert tampered.rc == 2 and tampered.stdout == ""
    assert "untrusted site" in tampered.stderr and "does not match" in tampered.stderr
