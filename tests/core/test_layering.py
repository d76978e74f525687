"""The line between engine and window is enforced: core/ never imports Qt, qasync, ui or cli."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"
FORBIDDEN = ("PySide6", "qasync", "ui", "cli", "shiboken6")


def test_no_core_module_imports_the_window_or_qt() -> None:
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in FORBIDDEN:
                    offenders.append(f"{path.name}:{node.lineno} imports {name}")
    assert offenders == []


def test_importing_every_core_module_loads_no_qt() -> None:
    modules = sorted(
        ".".join(p.relative_to(CORE).with_suffix("").parts).removesuffix(".__init__")
        for p in CORE.rglob("*.py") if p.name != "__init__.py" or p.parent != CORE
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module('core.' + m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qasync', 'shiboken6', 'ui')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=CORE.parent)


def test_content_modules_have_all_and_share_only_public_names() -> None:
    """core/content/ is split along its seams; a name one of its modules takes from another
    (or from the rest of core/) is public: no `from .x import _name`."""
    offenders = []
    for path in sorted((CORE / "content").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        if not any(
            isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets)
            for node in tree.body
        ):
            offenders.append(f"{path.name} has no __all__")
        if ast.get_docstring(tree) is None:
            offenders.append(f"{path.name} does not say what it owns")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                offenders += [
                    f"{path.name}:{node.lineno} imports {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and alias.name != "__future__"
                ]
    assert offenders == []
