"""Render the window's main pages to PNG in docs/ (offscreen; for the README).

    .venv/bin/python scripts/screenshots.py [--out docs] [--scale 1]

Uses the real window on the embedded demo site, in a throw-away data folder (the demo
site itself is built once into the system temp folder and reused). Pictures:

    catalog.png          Operating Systems, list view, the happy-path upgrade selected
    catalog-tiles.png    the same in the tile view
    details-refused.png  a refused deployment: Install disabled, the reason beside it
    progress.png         a run mid-download (per-step download bytes, rate, time left)
    failure.png          a run stopped by Windows Setup's compatibility block
    status.png           Installation status after those runs
    options.png          Options
    catalog-es.png       the catalog in Spanish
    catalog-dark.png     the catalog with a dark system palette
    narrow.png           an 800×600 window: the navigation on its icons, names elided
    restart.png          the restart countdown: Restart now and Snooze
    deadline.png         a required upgrade's countdown at the top, with Install now

`--scale 2` renders at twice the pixels (HiDPI), to check that icons and text stay crisp.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "docs")
    p.add_argument("--scale", type=float, default=1.0, help="device pixel ratio (QT_SCALE_FACTOR)")
    return p.parse_args()


async def _until(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            raise TimeoutError("the window did not get there in time")
        await asyncio.sleep(0.02)


async def _settle() -> None:
    """Let layouts and paints catch up before a grab. The qasync loop processes Qt's events
    while this waits; a nested processEvents() here would step other tasks re-entrantly."""
    for _ in range(5):
        await asyncio.sleep(0.03)


def _dark_palette():  # type: ignore[no-untyped-def]
    """What a desktop in dark mode hands Qt (close to Fusion's dark scheme)."""
    from PySide6.QtGui import QColor, QPalette

    p = QPalette()
    c = QPalette.ColorRole
    for role, color in (
        (c.Window, "#202124"), (c.WindowText, "#e8eaed"), (c.Base, "#17181a"), (c.AlternateBase, "#2a2b2e"),
        (c.ToolTipBase, "#2a2b2e"), (c.ToolTipText, "#e8eaed"), (c.Text, "#e8eaed"), (c.Button, "#2d2e31"),
        (c.ButtonText, "#e8eaed"), (c.BrightText, "#ffffff"), (c.Highlight, "#3d7bd9"),
        (c.HighlightedText, "#ffffff"), (c.Link, "#8ab4f8"), (c.PlaceholderText, "#9aa0a6"),
        (c.Mid, "#4a4c50"), (c.Dark, "#111213"), (c.Light, "#3c3d40"), (c.Midlight, "#333437"),
        (c.Shadow, "#000000"),
    ):
        p.setColor(role, QColor(color))
    for role in (c.WindowText, c.Text, c.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6f7378"))
    return p


async def _main(out: Path, data_root: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from core.demo import build_demo_site
    from ui import create_main_window
    from ui.i18n import apply_language
    from ui.main_window import Page
    from ui.step_model import Roles as StepRoles

    out.mkdir(parents=True, exist_ok=True)
    shared = Path(tempfile.gettempdir()) / "software-center-tests" / "demo-site"
    await asyncio.to_thread(build_demo_site, shared)

    def fresh_data(name: str) -> Path:
        d = data_root / name
        d.mkdir(parents=True)
        (d / "demo-site").symlink_to(shared, target_is_directory=True)
        (d / "options.json").write_text('{"language": "en"}')
        return d

    async def window_for(data: Path, connection: str = "auto"):  # type: ignore[no-untyped-def]
        w = create_main_window(None, data, connection)  # type: ignore[arg-type]
        w.resize(1180, 760)
        w.show()
        await asyncio.wait_for(w.loaded, 30)
        await _settle()
        return w

    def save(w, name: str) -> None:  # type: ignore[no-untyped-def]
        path = out / name
        w.grab().save(str(path))
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    # Catalog, tiles, a refusal, Options.
    data = fresh_data("main")
    w = await window_for(data)
    w.catalog_page.select("NWT20001")
    await _settle()
    save(w, "catalog.png")
    w.catalog_page.tile_button.click()
    await _settle()
    save(w, "catalog-tiles.png")
    w.catalog_page.list_button.click()
    w.catalog_page.select("NWT20004")
    await _settle()
    save(w, "details-refused.png")
    w.resize(800, 600)
    await _settle()
    save(w, "narrow.png")
    w.resize(1180, 760)
    await _settle()

    # A run, caught mid-download; watchable because the demo site is rate-limited here.
    w.catalog_page.select("NWT20001")
    controller = w.controller
    controller.problem.connect(lambda text: print("problem:", text))
    controller.start("NWT20001", {"DemoSetupSeconds": "8"})
    w.show_page(Page.PROGRESS)
    # Catch the 256 MiB upgrade image part-way through, so bytes, rate and time left show.
    model = controller.model

    def image_half_way() -> bool:
        for r in range(model.rowCount()):
            d = model.index(r).data(StepRoles.DOWNLOAD)
            if d is not None and d.package == "NWT00012" and d.rate_bps and 0.4 < d.fraction < 0.8:
                return True
        return False

    await _until(image_half_way, 30)
    await _settle()
    save(w, "progress.png")
    await controller.cancel()
    await _settle()

    # The restart step's countdown (the agent restarts by itself at its end, in user mode
    # a simulated restart).
    w.close()
    await w.shutdown()
    w = await window_for(fresh_data("restart"))
    controller = w.controller
    w.catalog_page.select("NWT20001")
    controller.start("NWT20001", {"DemoSetupSeconds": "1"})
    w.show_page(Page.PROGRESS)
    await _until(lambda: w.progress_page.countdown.isVisible(), 120)
    await asyncio.sleep(1.2)
    await _settle()
    save(w, "restart.png")
    await controller.cancel()
    await _settle()

    # A failure: Windows Setup's compatibility block (0xC1900208).
    w.close()
    await w.shutdown()
    data = fresh_data("failure")
    w = await window_for(data)
    controller = w.controller
    w.catalog_page.select("NWT20008")
    controller.start("NWT20008", {"DemoSetupSeconds": "2"})
    w.show_page(Page.PROGRESS)
    await _until(lambda: controller.last_result is not None, 120)
    await _settle()
    save(w, "failure.png")
    w.show_page(Page.STATUS)
    await _settle()
    save(w, "status.png")
    w.show_page(Page.OPTIONS)
    await asyncio.sleep(0.3)
    await _settle()
    save(w, "options.png")

    # Spanish.
    w.show_page(Page.CATALOG)
    w.set_language("es")
    w.catalog_page.select("NWT20004")
    await _settle()
    save(w, "catalog-es.png")
    w.set_language("en")
    w.close()
    await w.shutdown()

    # A required upgrade's countdown: a demo site of its own, built now (its deadline 20
    # minutes on), and a notice period longer than that, so the countdown shows at once.
    d = data_root / "deadline"
    d.mkdir()
    (d / "options.json").write_text('{"language": "en", "notice_minutes": 30}')
    await asyncio.to_thread(build_demo_site, d / "demo-site")
    w = await window_for(d)
    w.catalog_page.select("NWT20006")
    await _until(lambda: w.deadline_banner.isVisible(), 30)
    await asyncio.sleep(1.2)
    await _settle()
    save(w, "deadline.png")
    w.close()
    await w.shutdown()

    # Dark palette (what a desktop in dark mode gives the app).
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setStyle("Fusion")
    app.setPalette(_dark_palette())
    w = await window_for(fresh_data("dark"))
    w.catalog_page.select("NWT20001")
    await _settle()
    save(w, "catalog-dark.png")
    w.close()
    await w.shutdown()
    apply_language("en")


def main() -> int:
    args = _parse()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["QT_SCALE_FACTOR"] = str(args.scale)
    os.environ.setdefault("SOFTWARE_CENTER_DEMO_RATE", "40")  # a download slow enough to catch mid-way
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)
    data_root = Path(tempfile.mkdtemp(prefix="sc-screenshots-"))
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            loop.run_until_complete(_main(args.out.resolve(), data_root))
    finally:
        asyncio.set_event_loop(None)
        shutil.rmtree(data_root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
