"""The details pane agrees with the verdict, on the real window reading a real site through
its agent: where the content of a refused deployment is, a scheduled one's start date, the
deadline with the time left and its urgency, a failed deployment's error code, and no
"Nothing was started" before anything was tried."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core import Refusal
from core.runstate import HistoryEntry, append_history
from ui.deployment_model import Roles
from ui.style import Accent, accent_color

pytestmark = pytest.mark.asyncio


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def dated_site(tmp_path: Path, demo_site: Path) -> Path:
    """The demo site with deadlines close to now: one in two days and a half, one past."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "content").symlink_to(demo_site / "content", target_is_directory=True)
    catalog = json.loads((demo_site / "catalog.json").read_text())
    now = datetime.now(UTC)
    for dep in catalog["deployments"]:
        if dep["id"] == "NWT20006":
            dep["deadline"] = iso(now + timedelta(days=2, hours=12))
        elif dep["id"] == "NWT20004":
            dep["deadline"] = iso(now - timedelta(hours=1))
    (site / "catalog.json").write_text(json.dumps(catalog))
    return site


def fact(window: Any, key: str) -> Any:
    return window.catalog_page.details._fact_values[key]


def shown(window: Any, key: str) -> bool:
    return fact(window, key).isVisibleTo(window.catalog_page.details)


async def test_details_agree_with_the_verdict(make_window: Any, dated_site: Path, data_dir: Path) -> None:
    append_history(data_dir, HistoryEntry(
        "r1", "NWT20008", "Windows 11 24H2 upgrade (legacy apps pilot)", "2026-05-01T09:00:00+00:00",
        "2026-05-01T09:40:00+00:00", "failed", "the program exited with code 0xC1900208", 0xC1900208,
        301_989_888, "program_failed"))
    window = await make_window(site=str(dated_site))
    page = window.catalog_page
    details = page.details
    palette = details.palette()

    # Refused because some content is only on the corporate network: not "Cloud".
    model = page.model
    refused = next(model.index(r).data(Roles.ID) for r in range(model.rowCount())
                   if model.index(r).data(Roles.REFUSAL) == Refusal.CONTENT_NOT_ON_INTERNET)
    assert page.select(refused)
    source = fact(window, "source").text()
    assert "on-premises" in source and not source.startswith("Cloud (")
    # ... and nothing was tried yet: the explanation does not say "Nothing was started".
    assert details.refusal_label.isVisibleTo(details)
    assert "Nothing was started" not in details.refusal_label.text()

    # Not available yet: its start date.
    assert page.select("NWT20009")
    assert shown(window, "start") and "2099" in fact(window, "start").text()
    assert page.select("NWT20001")  # available since January: no start date
    assert not shown(window, "start")

    # Deadlines: the time left, in the warning color when close; "overdue" in the error color.
    assert page.select("NWT20006")
    assert "(in 2 days)" in fact(window, "deadline").text()
    assert accent_color(Accent.WARNING, palette).name() in fact(window, "deadline").styleSheet()
    assert page.select("NWT20004")
    assert "(overdue)" in fact(window, "deadline").text()
    assert accent_color(Accent.NEGATIVE, palette).name() in fact(window, "deadline").styleSheet()
    assert page.select("NWT20001")
    assert fact(window, "deadline").text() == "No deadline" and not fact(window, "deadline").styleSheet()

    # A failed deployment: its last attempt with the error code.
    assert page.select("NWT20008")
    assert shown(window, "last")
    assert "0xC1900208" in fact(window, "last").text()
    assert page.select("NWT20001")
    assert not shown(window, "last")
