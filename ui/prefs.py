"""The window's own preferences (language, catalog view), in a file only windows write.

They are not in the data folder's `options.json`: that file is the user agent's settings
now, which the agent rewrites whole when a setting changes, so a window writing the same
file would race it (one of the two writes would lose the other's change); and a machine's
agent keeps its data folder root-only, where a user's window may not write at all. They
are a person's choices, so they live with the person's configuration:
`$SOFTWARE_CENTER_WINDOW_PREFS`, else `window.json` in the platform's per-user
configuration folder. Until that file exists, `language` and `view` are read (never
written) from the data folder's `options.json`, as windows before the agent saved them.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import platformdirs

from core import atomic_write_bytes

__all__ = ["PREFS_ENV", "WindowPrefs", "load_prefs", "prefs_path", "save_prefs"]

log = logging.getLogger("software_center.ui")

PREFS_ENV = "SOFTWARE_CENTER_WINDOW_PREFS"


@dataclass(frozen=True)
class WindowPrefs:
    language: str | None = None  # None: follow the system locale
    view: Literal["list", "tiles"] = "list"


def prefs_path() -> Path:
    given = os.environ.get(PREFS_ENV, "").strip()
    if given:
        return Path(given).expanduser()
    return Path(platformdirs.user_config_dir("SoftwareCenter", appauthor=False)) / "window.json"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("The window's preferences in %s cannot be read: %s", path, exc)
        return {}
    return raw if isinstance(raw, dict) else {}


def load_prefs(data_dir: Path | None = None) -> WindowPrefs:
    raw = _read(prefs_path())
    if raw is None and data_dir is not None:
        raw = _read(data_dir / "options.json")
    raw = raw or {}
    language = raw.get("language")
    view = raw.get("view")
    return WindowPrefs(language if isinstance(language, str) and language else None,
                       "tiles" if view == "tiles" else "list")


def save_prefs(prefs: WindowPrefs) -> None:
    """Raises OSError when the file cannot be written."""
    path = prefs_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps(asdict(prefs), indent=1).encode())
