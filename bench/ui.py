"""Window figures (docs/FIGURES.md): time to window and filter per keystroke.

    .venv/bin/python bench/ui.py [--runs 7] [--deployments 5000] [--only window,filter]

window  process start → main window shown with the catalog listed (embedded demo site,
        offscreen), median of `--runs` fresh processes after one warm-up (which builds
        the demo site once). The window is a client of the user's agent for its data
        folder: measured with that agent already running, and with the agent started on
        demand by the window (no agent answers before each run; it is stopped after).
        Peer in the same run: a bare PySide6 window shown. The project's modules are
        byte-compiled first (`compileall`), as an installed app's are: with
        PYTHONDONTWRITEBYTECODE set and an editable install, every start would otherwise
        compile them again (~0.1 s).
filter  5,000 deployments (bench/catalog.py's generator, real verdicts) in the real
        Operating Systems page, list and tile views: a query typed keystroke by keystroke
        and erased again; per keystroke the proxy's re-filter alone (its rows mapped), and the whole
        keystroke until the list is repainted. Peer: Qt's own QSortFilterProxyModel
        (setFilterFixedString, all C++) over a QStringListModel of the same names.
The third window figure, a 10 ms timer's lateness during a 512 MiB download, is
bench/ui_responsiveness.py.

Targets: window <= 0.5 s median with the agent running (<= 1.0 s when the window starts
the agent itself); filter <= 30 ms per keystroke (judged on the 95th
percentile: the machines are shared and noisy; the maximum is printed too). Not a test;
run by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["SOFTWARE_CENTER_DEMO_RATE"] = "0"

FILTER_TARGET_MS = 30.0
WINDOW_TARGET_S = 0.5  # the agent already running
WINDOW_ON_DEMAND_TARGET_S = 1.0  # the window starts the user's agent

# --- time to window ------------------------------------------------------------------------

_CHILD_WINDOW = r"""
import asyncio, sys, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
import qasync
app = QApplication([])
from ui import create_main_window
async def main():
    w = create_main_window(None, Path(sys.argv[1]), "internet")
    w.show()
    await w.loaded
    app.processEvents()  # paint the listed catalog
    print(time.time(), w.catalog_page.model.rowCount(), flush=True)
    w.close()
    await w.shutdown()
loop = qasync.QEventLoop(app)
with loop:
    loop.run_until_complete(main())
"""

_CHILD_BARE = r"""
import time
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
w = QLabel("Software Center")
w.show()
app.processEvents()
print(time.time(), 0, flush=True)
"""


def _spawn_timed(code: str, *args: str) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SOFTWARE_CENTER_DEMO_RATE="0")
    start = time.time()
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True,
                         cwd=REPO, env=env).stdout.split()
    return float(out[0]) - start


def _agent_pid(data: Path) -> int | None:
    import asyncio

    from core import AgentClient, AgentError, default_socket_path

    async def ask() -> int | None:
        try:
            async with AgentClient(default_socket_path(data), timeout_s=5) as agent:
                return int((await agent.status())["pid"])
        except AgentError:
            return None

    return asyncio.run(ask())


def _stop_agent(data: Path) -> None:
    import signal

    pid = _agent_pid(data)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(400):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.025)


def _start_agent(data: Path) -> subprocess.Popen[bytes]:
    from core import default_socket_path

    env = dict(os.environ, SOFTWARE_CENTER_DEMO_RATE="0")
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "agent", "--user", "--data-dir", str(data),
                             "--socket", str(default_socket_path(data))], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        if _agent_pid(data) is not None:
            return proc
        time.sleep(0.05)
    raise SystemExit("the agent did not start")


def _median_row(label: str, values: list[float], peer: float,
                target: float = WINDOW_TARGET_S) -> list[tuple[str, str, str]]:
    med = statistics.median(values)
    return [
        (label, f"{med:.3f} s", f"≤ {target:.1f} s: " + ("met" if med <= target else "MISSED")),
        ("  min / max", f"{min(values):.3f} / {max(values):.3f} s", f"ours = {med / peer:.1f} × peer"),
    ]


def bench_window(runs: int) -> list[tuple[str, str, str]]:
    subprocess.run([sys.executable, "-m", "compileall", "-q", "core", "ui", "cli"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    data = Path(tempfile.mkdtemp(prefix="sc-bench-window-"))
    _spawn_timed(_CHILD_WINDOW, str(data))  # warm-up: builds the demo site, fills OS caches
    _stop_agent(data)
    on_demand = []
    for _ in range(runs):
        on_demand.append(_spawn_timed(_CHILD_WINDOW, str(data)))
        _stop_agent(data)
    agent = _start_agent(data)
    try:
        running = [_spawn_timed(_CHILD_WINDOW, str(data)) for _ in range(runs)]
    finally:
        agent.terminate()
        agent.wait(30)
    bare = [_spawn_timed(_CHILD_BARE) for _ in range(runs)]
    peer = statistics.median(bare)
    return [
        *_median_row("time to window, catalog listed, agent running (median)", running, peer),
        *_median_row("time to window, catalog listed, agent started on demand (median)", on_demand, peer,
                     WINDOW_ON_DEMAND_TARGET_S),
        ("  peer: bare PySide6 window shown (median)", f"{peer:.3f} s", ""),
    ]


# --- filter per keystroke -----------------------------------------------------------------------


def _listings(n: int) -> list[Any]:
    from bench.catalog import build_catalog
    from core.catalog import parse_catalog, referenced_packages
    from core.eligibility import Listing, check_eligibility

    catalog = parse_catalog(json.dumps(build_catalog(n)).encode(), "https://sc.example/site/catalog.json")
    out = []
    for dep in catalog.deployments:
        total = sum(catalog.packages[p].total_bytes
                    for p in referenced_packages(catalog.task_sequences[dep.task_sequence]))
        out.append(Listing(dep, check_eligibility(catalog, dep.id, "internet"), total, total))
    return out


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _spread(ms: list[float]) -> str:
    return f"{statistics.median(ms):.1f} / {_percentile(ms, 95):.1f} / {max(ms):.1f} ms"


def _ms(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def bench_filter(n: int) -> list[tuple[str, str, str]]:
    from PySide6.QtCore import QSortFilterProxyModel, QStringListModel, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QListView

    from ui.catalog_page import CatalogPage
    from ui.deployment_delegate import ViewMode

    app = QApplication.instance() or QApplication([])
    listings = _listings(n)
    page = CatalogPage()
    page.resize(1180, 700)
    page.set_listings(listings, None, "internet", True)
    page.show()
    app.processEvents()
    # A query that narrows (typing) then widens (erasing): both directions cost differently.
    query = "upgrade driver"
    rows = []
    for mode in (ViewMode.LIST, ViewMode.TILES):
        page.set_view(mode)
        app.processEvents()
        only, whole = [], []
        for _ in range(5):
            for i in range(1, len(query) + 1):
                only.append(_ms(lambda i=i: (page.proxy.set_search(query[:i]), page.proxy.rowCount())))
            for i in range(len(query) - 1, -1, -1):
                only.append(_ms(lambda i=i: (page.proxy.set_search(query[:i]), page.proxy.rowCount())))

            def key(k: Any, text: str = "") -> None:
                QTest.keyClick(page.search_box, k) if not text else QTest.keyClicks(page.search_box, text)
                app.processEvents()  # the list's update request: relayout and paint

            page.search_box.setFocus()
            for ch in query:
                whole.append(_ms(lambda ch=ch: key(None, ch)))
            for _ in query:
                whole.append(_ms(lambda: key(Qt.Key.Key_Backspace)))
        name = mode.value
        rows.append((f"filter, {name} view: re-filter only (median / p95 / max)", _spread(only), ""))
        p95 = _percentile(whole, 95)
        rows.append((f"filter, {name} view: keystroke to repainted list (median / p95 / max)", _spread(whole),
                     f"p95 ≤ {FILTER_TARGET_MS:.0f} ms: " + ("met" if p95 <= FILTER_TARGET_MS else "MISSED")
                     + f"; {len(whole)} keystrokes"))
    page.close()

    # Peer: Qt's C++ filter over the same names.
    names = QStringListModel([it.deployment.name for it in listings])
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(names)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    proxy.sort(0)
    view = QListView()
    view.setUniformItemSizes(True)
    view.setModel(proxy)
    view.resize(600, 700)
    view.show()
    app.processEvents()
    peer = []
    for _ in range(3):
        for i in list(range(1, len(query) + 1)) + list(range(len(query) - 1, -1, -1)):
            peer.append(_ms(lambda i=i: (proxy.setFilterFixedString(query[:i]), app.processEvents())))
    view.close()
    rows.append(("  peer: Qt's C++ proxy over a QStringListModel, repainted (median / p95 / max)",
                 _spread(peer), f"{n} rows"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--deployments", type=int, default=5000)
    ap.add_argument("--only", default="window,filter")
    args = ap.parse_args()
    parts = set(args.only.split(","))
    rows: list[tuple[str, str, str]] = []
    if "window" in parts:
        rows += bench_window(args.runs)
    if "filter" in parts:
        rows += bench_filter(args.deployments)
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    print(f"{'what':<{width}}  {'figure':>{vwidth}}  note")
    for what, figure, note in rows:
        print(f"{what:<{width}}  {figure:>{vwidth}}  {note}")


if __name__ == "__main__":
    main()
