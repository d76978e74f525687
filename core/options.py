"""The client's options and where its data lives.

The data folder (`--data-dir`, default the platform's per-user data folder) holds:

    options.json      the saved options below
    cache/            package content (`<ID>.<version>/`) and its verification records
    demo-site/        the embedded demo site, generated on first use
    state/            the current run's persisted state, its lock, the run history
    logs/             smsts.log (CMTrace format)

Options are saved atomically; a missing or unreadable options file means defaults (a
damaged file is set aside as `options.json.bad`, never a crash).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import platformdirs

from .fsutil import atomic_write_bytes

__all__ = [
    "ConnectionSetting",
    "Options",
    "default_data_dir",
    "load_options",
    "save_options",
]

log = logging.getLogger("software_center.options")

ConnectionSetting = Literal["auto", "internet", "intranet"]

DEFAULT_CACHE_LIMIT = 20 * 1024**3


@dataclass(frozen=True, slots=True)
class Options:
    """What the user (or an admin) chose; every field has a sensible default."""

    connection: ConnectionSetting = "auto"
    site: str | None = None  # None: the embedded demo site
    language: str | None = None  # None: follow the system locale
    cache_limit_bytes: int = DEFAULT_CACHE_LIMIT
    allow_cloud_content: bool = True  # client setting "allow access to cloud distribution points"
    view: Literal["list", "tiles"] = "list"
    restart_command: list[str] | None = None  # None: resume after a countdown instead of rebooting
    # Publishing and trust (docs/ADMIN.md). site_key: the site's Ed25519 public key (44
    # base64 characters, or a file holding it): when set, unsigned catalogs are refused.
    site_key: str | None = None
    ca_bundle: str | None = None  # PEM file of a private CA, trusted on top of the system's
    token: str | None = field(default=None, repr=False)  # bearer token for the site's origin only
    extra: dict[str, Any] = field(default_factory=dict)  # options of later features, kept verbatim


def default_data_dir() -> Path:
    """The platform's per-user data folder for the app."""
    return Path(platformdirs.user_data_dir("SoftwareCenter", appauthor=False))


def load_options(data_dir: Path) -> Options:
    """The saved options, or defaults. Unknown keys are kept in `extra`; bad values are ignored."""
    path = data_dir / "options.json"
    try:
        raw = json.loads(path.read_bytes())
        if not isinstance(raw, dict):
            raise ValueError("not an object")
    except FileNotFoundError:
        return Options()
    except (OSError, ValueError) as exc:
        log.warning("Options file %s is unreadable (%s); using defaults", path, exc)
        try:
            os.replace(path, path.with_suffix(".json.bad"))
        except OSError:
            pass
        return Options()
    known = {f.name: f for f in fields(Options)}
    opts = Options()
    extra: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known or key == "extra":
            extra[key] = value
            continue
        candidate = replace(opts, **{key: value})
        if _valid(candidate):
            opts = candidate
        else:
            shown = "<hidden>" if key == "token" else repr(value)  # never log a secret
            log.warning("Ignoring option %s=%s in %s", key, shown, path)
    return replace(opts, extra=extra)


def _valid(o: Options) -> bool:
    return (
        o.connection in ("auto", "internet", "intranet")
        and (o.site is None or isinstance(o.site, str))
        and (o.language is None or isinstance(o.language, str))
        and isinstance(o.cache_limit_bytes, int)
        and not isinstance(o.cache_limit_bytes, bool)
        and o.cache_limit_bytes >= 0
        and isinstance(o.allow_cloud_content, bool)
        and o.view in ("list", "tiles")
        and (
            o.restart_command is None
            or (isinstance(o.restart_command, list) and all(isinstance(a, str) for a in o.restart_command))
        )
        and all(v is None or isinstance(v, str) for v in (o.site_key, o.ca_bundle, o.token))
    )


def save_options(data_dir: Path, options: Options) -> None:
    """Save atomically. Raises OSError when the data folder cannot be written."""
    data = asdict(options)
    data.update(data.pop("extra"))
    atomic_write_bytes(data_dir / "options.json", json.dumps(data, indent=2).encode())
