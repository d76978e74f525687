"""The window's side of the schedule, from the agent's status: a new catalog noticed, the
countdown banner with Install now (no way to dismiss it), the notifications, and the tray
that routes a clicked notification to its deployment."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from ui.schedule import DeadlineBanner, ScheduleWatch, countdown_text
from ui.tray import Tray


def status(version: int = 1, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"policy": {"version": version, "checked_at": None, "changed_at": None, "error": None},
            "schedule": list(entries)}


def entry(dep: str, state: str, seconds_left: float | None = None, name: str = "Upgrade") -> dict[str, Any]:
    return {"deployment": dep, "name": name, "state": state, "deadline": "2026-12-02T12:00:00Z",
            "starts_at": "2026-12-02T12:00:00Z" if seconds_left is not None else None,
            "seconds_left": seconds_left, "reason": None, "message": None}


def test_countdown_text() -> None:
    assert [countdown_text(s) for s in (0, 0.2, 59, 61, 3600, 3725)] == ["0:00", "0:01", "0:59", "1:01",
                                                                        "1:00:00", "1:02:05"]


def test_a_new_catalog_is_noticed_once_per_version(qtbot: QtBot) -> None:
    watch = ScheduleWatch()
    changed: list[int] = []
    watch.catalogChanged.connect(lambda: changed.append(1))
    watch.update(status(3))
    watch.update(status(3))
    assert changed == []  # the first status is what the window already listed
    watch.update(status(4))
    watch.update(status(4))
    assert changed == [1]


def test_notices_for_a_new_required_deployment_and_for_its_countdown_each_once(qtbot: QtBot) -> None:
    watch = ScheduleWatch()
    said: list[tuple[str, str, str]] = []
    watch.notice.connect(lambda *a: said.append(a))
    watch.update(status(1, entry("OLD1", "scheduled")))
    assert said == []  # what was already there when the window opened is not news
    watch.update(status(1, entry("OLD1", "scheduled"), entry("NEW1", "scheduled", name="New upgrade")))
    assert [(t, d) for t, _, d in said] == [("A new required upgrade", "NEW1")]
    assert "“New upgrade” must be installed by" in said[0][1]
    watch.update(status(1, entry("OLD1", "countdown", 600), entry("NEW1", "scheduled")))
    watch.update(status(1, entry("OLD1", "countdown", 598), entry("NEW1", "scheduled")))
    assert [(t, d) for t, _, d in said][1:] == [("A required upgrade starts soon", "OLD1")]
    assert "starts by itself on" in said[1][1]


def test_the_banner_counts_down_offers_install_now_and_cannot_be_dismissed(qtbot: QtBot) -> None:
    watch = ScheduleWatch()
    banner = DeadlineBanner(watch)
    qtbot.addWidget(banner)
    banner.resize(700, 80)
    watch.update(status(1, entry("REQ1", "scheduled")))
    assert banner.isHidden()
    watch.update(status(1, entry("REQ1", "countdown", 125, name="Windows 11 upgrade")))
    banner.show()
    assert not banner.isHidden()
    assert banner.text.text().startswith("“Windows 11 upgrade” is required: it starts by itself in 2:0")
    assert banner.accessibleName() == banner.text.text()  # read out as it changes
    buttons = [b.objectName() for b in banner.findChildren(type(banner.install_button))]
    assert buttons == ["installNowButton"]  # Install now, and nothing that closes it
    wanted: list[str] = []
    banner.installNow.connect(wanted.append)
    QTest.mouseClick(banner.install_button, Qt.MouseButton.LeftButton)
    assert wanted == ["REQ1"]
    watch.update(status(1, entry("REQ1", "started")))
    assert banner.isHidden()


def test_the_tray_keeps_each_notice_and_a_click_opens_its_deployment(qtbot: QtBot) -> None:
    tray = Tray(QIcon())
    opened: list[str] = []
    tray.openRequested.connect(opened.append)
    tray.notify("A required upgrade starts soon", "“Upgrade” starts by itself at 12:00.", "REQ1")
    assert tray.notices[-1] == ("A required upgrade starts soon", "“Upgrade” starts by itself at 12:00.", "REQ1")
    tray.icon.messageClicked.emit()
    assert opened == ["REQ1"]
    tray.open_action.trigger()
    assert opened == ["REQ1", ""]
    # No notification area here (offscreen): the window is not kept running in one.
    assert tray.keeps_running is tray.icon.isVisible() is tray.available
    tray.close()


def test_a_due_deployment_that_may_not_start_here_says_why_in_the_banner(qtbot: QtBot) -> None:
    watch = ScheduleWatch()
    banner = DeadlineBanner(watch)
    qtbot.addWidget(banner)
    waiting = {**entry("LAN1", "waiting", name="Office upgrade"), "reason": "intranet_only"}
    watch.update(status(1, waiting))
    assert banner.text.text() == ("“Office upgrade” is required, but it cannot start now: Needs the corporate "
                                  "network. It starts by itself when it can.")
    assert banner.install_button.isHidden()  # nothing to install from here
    watch.update(status(1, entry("LAN1", "countdown", 30, name="Office upgrade")))  # the office network is back
    assert not banner.install_button.isHidden() and "starts by itself in 0:30" in banner.text.text()


def test_the_notices_speak_the_users_language(qtbot: QtBot) -> None:
    from ui.i18n import apply_language

    apply_language("es")
    try:
        watch = ScheduleWatch()
        said: list[tuple[str, str, str]] = []
        watch.notice.connect(lambda *a: said.append(a))
        watch.update(status(1))
        watch.update(status(1, entry("REQ1", "countdown", 600, name="Windows 11")))
        assert said[0][0] == "Una actualización obligatoria empieza pronto"
        assert said[0][1].startswith("«Windows 11» empezará sola el ")
    finally:
        apply_language("en")
