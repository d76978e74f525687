"""Eligibility: each refusal code with its rule, over the combinations that matter (table-driven)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from core.catalog import parse_catalog
from core.eligibility import LaunchMode, Refusal, check_eligibility, is_listed

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SHA = "0" * 64


def _catalog(**overrides: Any) -> Any:
    """One deployment PS120001 over task sequence PS100020 using packages CLOUD1 and DPONLY1."""
    dep: dict[str, Any] = {
        "id": "PS120001",
        "task_sequence": "PS100020",
        "name": "Upgrade",
        "publisher": "IT",
        "version": "1",
        "description": "",
        "purpose": "available",
        "available_to": "clients",
        "allow_internet": True,
        "download": "on_demand",
        "high_impact": False,
        "restart_required": True,
        "estimated_minutes": 60,
    }
    uses_dp_only = overrides.pop("uses_dp_only", False)
    dep.update(overrides)
    steps: list[dict[str, Any]] = [
        {"type": "upgrade_os", "name": "Upgrade", "package": "CLOUD1", "command": ["x"]},
    ]
    if uses_dp_only:
        steps.insert(0, {"type": "download_package_content", "name": "Drivers", "packages": ["DPONLY1"]})
    doc = {
        "format": 1,
        "site": {"code": "PS1", "name": "Site", "organization": "Org"},
        "packages": {
            "CLOUD1": {
                "name": "Image",
                "version": 1,
                "files": [{"path": "setup.py", "size": 1, "sha256": SHA}],
                "locations": [{"kind": "dp", "url": "http://dp/x/"}, {"kind": "cloud", "url": "content/x/"}],
            },
            "DPONLY1": {
                "name": "Drivers",
                "version": 1,
                "files": [{"path": "a.inf", "size": 1, "sha256": SHA}],
                "locations": [{"kind": "dp", "url": "http://dp/y/"}],
            },
        },
        "task_sequences": {"PS100020": {"name": "TS", "steps": steps}},
        "deployments": [dep],
    }
    return parse_catalog(json.dumps(doc).encode(), "http://site/catalog.json")


SC = LaunchMode.SOFTWARE_CENTER

# (deployment overrides, connection, launch mode, expected refusal or None)
TABLE: list[tuple[dict[str, Any], str, LaunchMode, Refusal | None]] = [
    # the happy path, both connections
    ({}, "internet", SC, None),
    ({}, "intranet", SC, None),
    ({"download": "all_before_start"}, "internet", SC, None),
    # intranet-only
    ({"allow_internet": False}, "internet", SC, Refusal.INTRANET_ONLY),
    ({"allow_internet": False}, "intranet", SC, None),
    # direct access
    ({"download": "direct"}, "internet", SC, Refusal.DIRECT_ACCESS_ON_INTERNET),
    ({"download": "direct"}, "intranet", SC, None),
    # intranet-only wins over direct (the most fundamental reason is given)
    ({"allow_internet": False, "download": "direct"}, "internet", SC, Refusal.INTRANET_ONLY),
    # content only on an on-premises DP
    ({"uses_dp_only": True}, "internet", SC, Refusal.CONTENT_NOT_ON_INTERNET),
    ({"uses_dp_only": True}, "intranet", SC, None),
    # launch modes
    ({"available_to": "clients_media_pxe"}, "internet", LaunchMode.MEDIA, Refusal.UNSUPPORTED_LAUNCH_MODE),
    ({"available_to": "clients_media_pxe"}, "internet", LaunchMode.PXE, Refusal.UNSUPPORTED_LAUNCH_MODE),
    ({"available_to": "clients_media_pxe", "download": "all_before_start"}, "internet", LaunchMode.MEDIA, None),
    ({"available_to": "clients_media_pxe"}, "intranet", LaunchMode.PXE, None),
    ({"available_to": "clients"}, "intranet", LaunchMode.MEDIA, Refusal.UNSUPPORTED_LAUNCH_MODE),
    # media/PXE-only deployments
    ({"available_to": "media_pxe"}, "intranet", SC, Refusal.MEDIA_PXE_ONLY),
    ({"available_to": "media_pxe_hidden"}, "internet", SC, Refusal.MEDIA_PXE_ONLY),
    ({"available_to": "media_pxe"}, "intranet", LaunchMode.MEDIA, Refusal.MEDIA_PXE_ONLY),
    # availability window (checked before connection rules)
    ({"available_from": "2026-06-02T00:00:00Z"}, "intranet", SC, Refusal.NOT_YET_AVAILABLE),
    ({"available_from": "2026-06-01T00:00:00Z"}, "intranet", SC, None),
    ({"available_from": "2026-07-01T00:00:00Z", "allow_internet": False}, "internet", SC, Refusal.NOT_YET_AVAILABLE),
    ({"expires": "2026-06-01T00:00:00Z"}, "intranet", SC, Refusal.EXPIRED),
    ({"expires": "2026-06-01T00:00:01Z"}, "intranet", SC, None),
    ({"expires": "2026-01-01T00:00:00+01:00", "download": "direct"}, "internet", SC, Refusal.EXPIRED),
]


@pytest.mark.parametrize(("overrides", "connection", "mode", "expected"), TABLE)
def test_eligibility_table(
    overrides: dict[str, Any], connection: str, mode: LaunchMode, expected: Refusal | None
) -> None:
    catalog = _catalog(**overrides)
    verdict = check_eligibility(catalog, "PS120001", connection, mode, now=NOW)  # type: ignore[arg-type]
    assert verdict.refusal == expected
    assert verdict.eligible == (expected is None)
    if expected is None:
        assert verdict.message is None and verdict.log is None
    else:
        # every refusal has a sentence for people and a log line naming the deployment
        assert verdict.message and verdict.message.endswith(".")
        assert verdict.log and "PS120001" in verdict.log


def test_unknown_deployment() -> None:
    verdict = check_eligibility(_catalog(), "PS199999", "internet", now=NOW)
    assert verdict.refusal is Refusal.UNKNOWN_DEPLOYMENT
    assert "PS199999" in (verdict.message or "")


def test_content_refusal_names_the_packages() -> None:
    verdict = check_eligibility(_catalog(uses_dp_only=True), "PS120001", "internet", now=NOW)
    assert verdict.packages == ("DPONLY1",)
    assert "DPONLY1" in (verdict.message or "") and "DPONLY1" in (verdict.log or "")


def test_listing_hides_media_pxe_only() -> None:
    for available_to, listed in [
        ("clients", True),
        ("clients_media_pxe", True),
        ("media_pxe", False),
        ("media_pxe_hidden", False),
    ]:
        dep = _catalog(available_to=available_to).deployments[0]
        assert is_listed(dep) is listed


def test_refusal_codes_match_the_cli_contract() -> None:
    assert {r.value for r in Refusal} == {
        "intranet_only",
        "direct_access_on_internet",
        "content_not_on_internet",
        "unsupported_launch_mode",
        "not_yet_available",
        "expired",
        "media_pxe_only",
        "unknown_deployment",
    }


def test_a_huge_unknown_id_is_cut_short_in_the_message_and_log() -> None:
    huge = "X" * 20_000
    verdict = check_eligibility(_catalog(), huge, "internet", now=NOW)
    assert verdict.refusal is Refusal.UNKNOWN_DEPLOYMENT
    assert verdict.deployment_id == huge  # the machine-readable field keeps it whole
    for text in (verdict.message or "", verdict.log or ""):
        assert len(text) < 200, len(text)
        assert "X" * 40 + "... (20,000 characters)" in text


def test_control_and_bidi_characters_of_an_unknown_id_are_escaped_in_the_message() -> None:
    verdict = check_eligibility(_catalog(), "PS1\n\u202eevil", "internet", now=NOW)
    assert verdict.message == "There is no deployment PS1\\n\\u202eevil in this site's catalog."
    assert "\n" not in (verdict.log or "") and "\u202e" not in (verdict.log or "")
