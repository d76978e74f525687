"""Signed catalogs: Ed25519 keys, `catalog.json.sig`, and checking a catalog against a pinned key.

An admin makes a key pair once (`software-center site keygen KEYFILE`), `site build --key
KEYFILE` signs each catalog it writes, and clients pin the public key (`--site-key`, the
`site_key` option or `SOFTWARE_CENTER_SITE_KEY`). The signature covers the exact bytes of
`catalog.json` as served, nothing else: package content is covered through the SHA-256 of
every file that the catalog lists.

Formats (all plain text, so they survive copying, e-mail and configuration tools):

    private key file   PEM, PKCS#8, unencrypted ("-----BEGIN PRIVATE KEY-----"),
                       written with mode 0600 and never overwritten
    public key         the 32 raw key bytes in standard base64: 44 characters ending in
                       "=", e.g. "q1mR...Zk0=". Accepted as that text, or as the path of a
                       file holding it, or of a PEM public key file ("BEGIN PUBLIC KEY")
    catalog.json.sig   the 64-byte Ed25519 signature in standard base64 plus a newline
                       (89 bytes); surrounding ASCII whitespace is ignored, anything else
                       (another length, other characters, more than 1 KiB) is refused

The crypto is the `cryptography` package (OpenSSL's Ed25519); nothing here is home-made.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import KeyFileError, UntrustedSiteError
from .fsutil import NotRegularFileError, read_regular_file

__all__ = [
    "MAX_SIGNATURE_BYTES",
    "SIGNATURE_NAME",
    "generate_key_file",
    "load_private_key",
    "parse_public_key",
    "public_key_text",
    "sign_catalog",
    "verify_catalog",
]

SIGNATURE_NAME = "catalog.json.sig"
MAX_SIGNATURE_BYTES = 1024
_MAX_KEY_FILE_BYTES = 64 * 1024
_B64_KEY = re.compile(r"^[A-Za-z0-9+/]{43}=\Z")
_B64_SIG = re.compile(r"^[A-Za-z0-9+/]{86}==\Z")
_WHITESPACE = b" \t\r\n"
_NOT_A_PUBLIC_KEY = ("not an Ed25519 public key: expected the 44-character text that "
                     "`software-center site keygen` prints, or a file holding it")


# --- keys ------------------------------------------------------------------------------


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public key's text form: its 32 raw bytes in standard base64 (44 characters)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def generate_key_file(path: Path) -> str:
    """Write a new Ed25519 private key to `path` (mode 0600, PEM); return the public key text.

    Never overwrites: raises FileExistsError if `path` exists, OSError if it cannot be written.
    """
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        if hasattr(os, "fchmod"):  # an odd umask cannot widen it, and it is never narrower
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            fd = -1
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        if fd != -1:
            os.close(fd)
        path.unlink(missing_ok=True)
        raise
    return public_key_text(key)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file `path`. Raises KeyFileError (in words)."""
    try:
        data = read_regular_file(path, _MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise KeyFileError(f"cannot read the key file {path}: {exc.strerror or exc}") from None
    if len(data) > _MAX_KEY_FILE_BYTES or b"PRIVATE KEY" not in data:
        raise KeyFileError(f"{path} is not a private key file made by `software-center site keygen`")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFileError(f"{path} is encrypted; give an unencrypted Ed25519 key") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{path} is not a readable private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__.removesuffix('PrivateKey')} key, not Ed25519")
    return key


def parse_public_key(value: str) -> Ed25519PublicKey:
    """A pinned public key from its text (44 base64 characters) or from a file holding it.

    The file may also be a PEM public key ("BEGIN PUBLIC KEY"). Raises KeyFileError.
    """
    text = value.strip()
    if _B64_KEY.match(text):
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    try:
        path = Path(value).expanduser()
        data = read_regular_file(path, _MAX_KEY_FILE_BYTES + 1)
    except NotRegularFileError as exc:  # a FIFO or device: a plain open could block forever
        if exc.kind != "folder":  # a folder ("", ".") is most likely a mistyped key
            raise KeyFileError(f"{path} is {exc.strerror}, not a public key file") from None
        raise KeyFileError(_NOT_A_PUBLIC_KEY) from None
    except (OSError, ValueError, RuntimeError):  # ValueError: NUL in the name; RuntimeError: "~nobody"
        raise KeyFileError(_NOT_A_PUBLIC_KEY) from None
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{path} is too large to be a public key file")
    if b"PRIVATE KEY" in data:
        raise KeyFileError(f"{path} is a private key: pin the public key that `site keygen` printed")
    if b"BEGIN PUBLIC KEY" in data:
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyFileError(f"{path} is not a readable public key ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError(f"{path} holds a {type(key).__name__.removesuffix('PublicKey')} key, not Ed25519")
        return key
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        text = ""
    if _B64_KEY.match(text):
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    raise KeyFileError(f"{path} does not hold an Ed25519 public key (expected 44 base64 characters)")


# --- signatures ------------------------------------------------------------------------


def sign_catalog(key: Ed25519PrivateKey, catalog: bytes) -> bytes:
    """The contents of `catalog.json.sig` for these exact catalog bytes (deterministic)."""
    return base64.b64encode(key.sign(catalog)) + b"\n"


def verify_catalog(key: Ed25519PublicKey, catalog: bytes, sig_file: bytes | None) -> None:
    """Check `catalog.json.sig`'s contents against the catalog's exact bytes.

    `sig_file` None means the site has no signature. Raises UntrustedSiteError with
    reason `unsigned` or `bad_signature`; returns None when the signature is good.
    """
    if sig_file is None:
        raise UntrustedSiteError(
            "unsigned",
            "untrusted site: a site key is pinned but the site's catalog is not signed "
            f"(no {SIGNATURE_NAME})",
        )
    if len(sig_file) > MAX_SIGNATURE_BYTES:
        raise UntrustedSiteError(
            "bad_signature", f"untrusted site: {SIGNATURE_NAME} is larger than {MAX_SIGNATURE_BYTES} bytes, "
            "so it is not a signature",
        )
    text = sig_file.strip(_WHITESPACE)
    signature = b""
    if _B64_SIG.match(text.decode("ascii", "replace")):
        try:
            signature = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            signature = b""
    if len(signature) != 64:
        raise UntrustedSiteError(
            "bad_signature",
            f"untrusted site: {SIGNATURE_NAME} is not an Ed25519 signature (expected 88 base64 characters)",
        )
    try:
        key.verify(signature, catalog)
    except InvalidSignature:
        raise UntrustedSiteError(
            "bad_signature",
            "untrusted site: the catalog's signature does not match the pinned site key "
            "(the catalog was changed after it was signed, or signed with another key)",
        ) from None
