"""The window says whether the catalog is signed, and refuses an untrusted site in words."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.signing import SIGNATURE_NAME, public_key_text, sign_catalog

from .conftest import MakeWindow


def _site_copy(demo_site: Path, tmp_path: Path) -> Path:
    """A local-folder site with the demo's catalog (content is not needed to list)."""
    site = tmp_path / "site"
    site.mkdir()
    shutil.copyfile(demo_site / "catalog.json", site / "catalog.json")
    return site


def _pin(data_dir: Path, key: str) -> None:
    opts = json.loads((data_dir / "options.json").read_text())
    opts["site_key"] = key
    (data_dir / "options.json").write_text(json.dumps(opts))


@pytest.mark.asyncio
async def test_a_site_without_a_pinned_key_is_shown_as_unsigned(
    make_window: MakeWindow, demo_site: Path, tmp_path: Path
) -> None:
    window = await make_window(site=str(_site_copy(demo_site, tmp_path)))
    assert window.trust_chip.isVisible()
    assert window.trust_chip.text() == "Unsigned catalog"
    assert window.catalog_page.model.rowCount() > 0


@pytest.mark.asyncio
async def test_a_catalog_signed_by_the_pinned_key_is_shown_as_signed(
    make_window: MakeWindow, demo_site: Path, tmp_path: Path, data_dir: Path
) -> None:
    site = _site_copy(demo_site, tmp_path)
    key = Ed25519PrivateKey.generate()
    (site / SIGNATURE_NAME).write_bytes(sign_catalog(key, (site / "catalog.json").read_bytes()))
    _pin(data_dir, public_key_text(key))
    window = await make_window(site=str(site))
    assert window.trust_chip.text() == "Signed catalog"
    assert window.catalog_page.model.rowCount() > 0


@pytest.mark.asyncio
async def test_a_tampered_catalog_is_refused_as_an_untrusted_site(
    make_window: MakeWindow, demo_site: Path, tmp_path: Path, data_dir: Path
) -> None:
    site = _site_copy(demo_site, tmp_path)
    key = Ed25519PrivateKey.generate()
    (site / SIGNATURE_NAME).write_bytes(sign_catalog(key, (site / "catalog.json").read_bytes()))
    # An attacker changes one byte of the catalog after it was signed.
    data = (site / "catalog.json").read_bytes().replace(b"Northwind Traders IT", b"Northwind Traders IX", 1)
    (site / "catalog.json").write_bytes(data)
    _pin(data_dir, public_key_text(key))
    window = await make_window(site=str(site))
    assert window.error_title.text() == "This site is not trusted."
    assert window.error_title.isVisible()
    assert window.catalog_page.model.rowCount() == 0
    assert not window.trust_chip.isVisible()
