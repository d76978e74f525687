"""Hostile input on the client side: random and adversarial signatures and public keys, and a
catalog of 32 MiB + 1 byte, refused while it streams in, before any parsing.

Property tests (hypothesis) on the pure functions, and the same adversarial signature
files through the real client and a real loopback server.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.catalog import MAX_CATALOG_BYTES
from core.center import SoftwareCenter
from core.errors import CatalogError, TooLargeError, UntrustedSiteError
from core.http import HttpSession
from core.signing import KeyFileError, parse_public_key, public_key_text, sign_catalog, verify_catalog
from tests.core.helpers.content_server import ContentServer, Fault
from tests.core.helpers.publish import run_cli

KEY = Ed25519PrivateKey.generate()
CATALOG = b'{"format": 1, "site": {}}\n'
GOOD_SIG = sign_catalog(KEY, CATALOG)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=2048))
def test_random_bytes_are_never_a_signature(sig: bytes) -> None:
    with pytest.raises(UntrustedSiteError) as err:
        verify_catalog(KEY.public_key(), CATALOG, sig)
    assert err.value.reason == "bad_signature"


@FAST
@given(st.binary(min_size=64, max_size=64))
def test_random_64_byte_signatures_in_the_right_format_do_not_verify(raw: bytes) -> None:
    with pytest.raises(UntrustedSiteError, match="does not match"):
        verify_catalog(KEY.public_key(), CATALOG, base64.b64encode(raw) + b"\n")


@FAST
@given(st.binary(min_size=32, max_size=32))
def test_random_public_keys_parse_but_never_verify_our_signature(raw: bytes) -> None:
    text = base64.b64encode(raw).decode()
    key = parse_public_key(text)  # any 32 bytes are a well-formed key ...
    assert public_key_text(key) == text
    if key != KEY.public_key():
        with pytest.raises(UntrustedSiteError):  # ... and none but ours verifies
            verify_catalog(key, CATALOG, GOOD_SIG)


@FAST
@given(st.text(max_size=200))
def test_any_text_as_a_public_key_is_a_key_or_refused_in_words(text: str) -> None:
    try:
        parse_public_key(text)
    except KeyFileError as exc:
        assert str(exc)


@FAST
@given(st.data())
def test_truncated_padded_and_flipped_signatures_are_refused(data: st.DataObject) -> None:
    sig = GOOD_SIG.strip()
    how = data.draw(st.sampled_from(["truncate", "append", "flip"]))
    if how == "truncate":
        bad = sig[: data.draw(st.integers(0, len(sig) - 1))]
    elif how == "append":
        bad = sig + data.draw(st.binary(min_size=1, max_size=1100).filter(lambda b: b.strip(b" \t\r\n")))
    else:
        i = data.draw(st.integers(0, len(sig) - 1))
        bad = sig[:i] + bytes([sig[i] ^ data.draw(st.integers(1, 255))]) + sig[i + 1 :]
        try:
            if base64.b64decode(bad, validate=True) == base64.b64decode(sig):
                return  # a flip in the last character's unused bits decodes to the same bytes
        except ValueError:
            pass
    with pytest.raises(UntrustedSiteError):
        verify_catalog(KEY.public_key(), CATALOG, bad)


# --- the same through the client and a real server -----------------------------------------


def test_adversarial_signature_files_through_the_client(tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "catalog.json").write_bytes(CATALOG)
    pub = public_key_text(KEY)

    async def open_with(sig: bytes | None) -> UntrustedSiteError:
        if sig is None:
            (root / "catalog.json.sig").unlink(missing_ok=True)
        else:
            (root / "catalog.json.sig").write_bytes(sig)
        center = SoftwareCenter(tmp_path / "data", site=server.url, connection="internet", site_key=pub)
        try:
            with pytest.raises(UntrustedSiteError) as err:
                await center.open()
        finally:
            await center.aclose()
        assert center.catalog is None  # nothing of the refused catalog was used
        return err.value

    cases: list[tuple[bytes | None, str]] = [
        (None, "unsigned"), (b"", "bad_signature"), (b"\n", "bad_signature"),
        (GOOD_SIG[:40], "bad_signature"), (GOOD_SIG.strip() + b"A", "bad_signature"),
        (GOOD_SIG * 2, "bad_signature"), (b"=" * 1024, "bad_signature"),
        (b"A" * 1025, "bad_signature"), (b"\xff" * (8 << 20), "bad_signature"),
        (sign_catalog(KEY, CATALOG + b" "), "bad_signature"),
    ]
    with ContentServer(root) as server:
        for sig, reason in cases:
            assert asyncio.run(open_with(sig)).reason == reason, sig[:20] if sig else sig


@settings(max_examples=25, deadline=None)
@given(sig=st.binary(max_size=300))
def test_random_signature_files_through_the_client(sig: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("fuzzsite")
    (root / "catalog.json").write_bytes(CATALOG)
    (root / "catalog.json.sig").write_bytes(sig)

    async def attempt() -> None:
        center = SoftwareCenter(root / "data", site=server.url, connection="internet",
                                site_key=public_key_text(KEY))
        try:
            with pytest.raises(UntrustedSiteError):
                await center.open()
        finally:
            await center.aclose()

    with ContentServer(root) as server:
        asyncio.run(attempt())


# --- 32 MiB + 1 ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oversized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site folder whose catalog.json is 32 MiB + 1 byte of valid-looking JSON."""
    root = tmp_path_factory.mktemp("big")
    head = b'{"format": 1, "padding": "'
    tail = b'"}'
    body = head + b"x" * (MAX_CATALOG_BYTES + 1 - len(head) - len(tail)) + tail
    assert len(body) == MAX_CATALOG_BYTES + 1
    (root / "catalog.json").write_bytes(body)
    return root


@pytest.mark.asyncio
@pytest.mark.usefixtures("fail_on_loop_errors")
async def test_a_catalog_past_32_mib_is_refused_while_it_streams(oversized: Path) -> None:
    with ContentServer(oversized) as server:
        async with HttpSession() as s:
            # Declared by Content-Length: refused from the header, before the body.
            with pytest.raises(TooLargeError, match="^catalog is larger than 32 MiB$"):
                await s.get_bytes(server.url + "catalog.json", max_bytes=MAX_CATALOG_BYTES)
            assert server.bytes_sent("catalog.json") < MAX_CATALOG_BYTES // 2
            # Not declared (chunked): read up to the limit, then the connection is dropped.
            server.add_fault("catalog.json", Fault(chunked=True))
            with pytest.raises(TooLargeError):
                await s.get_bytes(server.url + "catalog.json", max_bytes=MAX_CATALOG_BYTES)
            # Twice as big and chunked: the client stops near the limit, not at the end.
            (oversized / "double.json").write_bytes(b" " * (2 * MAX_CATALOG_BYTES))
            server.add_fault("double.json", Fault(chunked=True))
            with pytest.raises(TooLargeError):
                await s.get_bytes(server.url + "double.json", max_bytes=MAX_CATALOG_BYTES)
            await asyncio.sleep(0.2)  # the server notices the dropped connection
            assert server.bytes_sent("double.json") < 1.5 * MAX_CATALOG_BYTES
            # Exactly 32 MiB is read (and then judged by the parser).
            (oversized / "exact.json").write_bytes(b" " * MAX_CATALOG_BYTES)
            assert len(await s.get_bytes(server.url + "exact.json", max_bytes=MAX_CATALOG_BYTES)) == MAX_CATALOG_BYTES
            (oversized / "double.json").unlink()
            (oversized / "exact.json").unlink()


@pytest.mark.asyncio
@pytest.mark.usefixtures("fail_on_loop_errors")
async def test_a_local_folder_with_a_catalog_past_32_mib_is_refused(oversized: Path, tmp_path: Path) -> None:
    async with HttpSession() as s:  # a local path is read to the limit plus one byte, no further
        with pytest.raises(TooLargeError, match="larger than 32 MiB"):
            await s.get_bytes(str(oversized / "catalog.json"), max_bytes=MAX_CATALOG_BYTES)
    center = SoftwareCenter(tmp_path, site=str(oversized), connection="internet")
    try:
        with pytest.raises(TooLargeError, match="larger than 32 MiB") as err:
            await center.open()
    finally:
        await center.aclose()
    assert isinstance(err.value, CatalogError) and center.catalog is None


def test_cli_refuses_a_catalog_past_32_mib(oversized: Path, tmp_path: Path) -> None:
    result = run_cli("list", "--site", str(oversized), "--data-dir", str(tmp_path), "--json")
    assert result.rc == 2 and result.stdout == ""
    assert "catalog is larger than 32 MiB" in result.stderr
