"""One public API, kept honest (as httpx's own test_exported_members.py does).

- `core` re-exports exactly the union of its submodules' `__all__`, each name the very
  object its module defines, and loads those modules lazily;
- the window and the command line import only names that `core` exports, from `core`;
- no module of the project imports another module's private (underscore) names.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import core

ROOT = Path(__file__).resolve().parents[2]
SKIP = {"stephost"}  # run as a script (`python -I core/stephost.py`), never imported


def _submodules() -> list[str]:
    """core's modules and subpackages; a subpackage's own modules are its business (its
    `__init__` says what it exports)."""
    names = set()
    for path in (ROOT / "core").iterdir():
        if path.suffix == ".py" and path.stem != "__init__" or (path / "__init__.py").is_file():
            names.add(path.stem)
    return sorted(names - SKIP)


def test_core_exports_exactly_its_modules_public_names() -> None:
    expected: dict[str, str] = {}
    for name in _submodules():
        module = importlib.import_module(f"core.{name}")
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"core/{name} has no __all__"
        for member in exported:
            assert member not in expected or getattr(core, member) is getattr(module, member), (
                f"{member} is exported by both core.{expected.get(member)} and core.{name}")
            expected.setdefault(member, name)
    assert sorted(core.__all__) == sorted(expected)
    for member, name in expected.items():
        assert getattr(core, member) is getattr(importlib.import_module(f"core.{name}"), member), member


def test_importing_core_loads_no_module_until_a_name_is_used() -> None:
    code = (
        "import sys, core\n"
        "assert not [m for m in sys.modules if m.startswith('core.')], sorted(sys.modules)\n"
        "import core.center\n"
        "assert 'core.sitebuild' not in sys.modules and 'core.demo' not in sys.modules\n"
        "from core import TaskSequenceRunner\n"
        "assert 'core.sitebuild' not in sys.modules\n"
        # a client of the agent never loads the agent's server (aiohttp)
        "from core import AgentClient, AgentError, ensure_agent, locate_agent, event_from_json\n"
        "assert 'aiohttp' not in sys.modules and 'core.agent.server' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def _imports(folder: str) -> list[tuple[Path, ast.ImportFrom | ast.Import]]:
    out: list[tuple[Path, ast.ImportFrom | ast.Import]] = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                out.append((path, node))
    return out


def test_window_and_cli_use_only_what_core_exports() -> None:
    offenders = []
    for folder in ("ui", "cli"):
        for path, node in _imports(folder):
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if isinstance(node, ast.Import):
                offenders += [f"{where} imports {a.name}" for a in node.names if a.name.startswith("core.")]
            elif node.level == 0 and node.module is not None and node.module.split(".")[0] == "core":
                if node.module != "core":
                    offenders.append(f"{where} imports from {node.module} (import from core)")
                offenders += [f"{where} imports core.{a.name}, which core does not export"
                              for a in node.names if a.name not in core.__all__]
    assert offenders == []


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = []
    for folder in ("core", "ui", "cli"):
        for path, node in _imports(folder):
            if not isinstance(node, ast.ImportFrom):
                continue
            ours = node.level > 0 or (node.module or "").split(".")[0] in ("core", "ui", "cli", "resources")
            if ours:
                offenders += [f"{path.relative_to(ROOT)}:{node.lineno} imports {a.name}"
                              for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    assert offenders == []


def test_every_failure_code_is_documented() -> None:
    """docs/ENGINE.md lists every ErrorCode: clients of the JSON and the agent rely on them."""
    text = (ROOT / "docs" / "ENGINE.md").read_text(encoding="utf-8")
    missing = [code.value for code in core.ErrorCode if f"| `{code.value}` |" not in text]
    assert missing == []
