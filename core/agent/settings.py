"""The agent's settings: what an admin may change through the agent (`/v1/settings`).

    system mode   a JSON file, root-only (mode 0600): /etc/software-center/agent.json,
                  or `--config FILE`
    user mode     the per-user options file of the data folder (`options.json`)

The keys are `SETTING_KEYS`. The token is kept, and used, but never shown: `public()`
gives every setting with the token only as set / not set.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import SettingError
from ..fsutil import atomic_write_bytes
from ..options import load_options, save_options

__all__ = ["DEFAULT_NOTICE_MINUTES", "DEFAULT_POLL_MINUTES", "DEFAULT_PRECACHE_RATE_MBPS", "DEFAULT_SNOOZE_MINUTES",
           "MAX_SNOOZE_MINUTES", "SETTING_KEYS", "SYSTEM_CONFIG", "SettingsStore", "parse_setting", "public_settings"]

SYSTEM_CONFIG = Path("/etc/software-center/agent.json")
SETTING_KEYS = ("site", "connection", "site_key", "ca_bundle", "token", "reboot_command", "restart_countdown_s",
                "restart_snooze_minutes", "admin_group", "poll_minutes", "precache_rate_mbps", "precache_on_metered",
                "notice_minutes")
# kept in the options file's other keys
_EXTRA_KEYS = ("restart_countdown_s", "restart_snooze_minutes", "admin_group", "poll_minutes", "precache_rate_mbps",
               "precache_on_metered", "notice_minutes")
# The delays a person may postpone a restart by when the setting is unset (as ConfigMgr's
# default choices: a quarter of an hour, an hour, four hours).
DEFAULT_SNOOZE_MINUTES = (15, 60, 240)
MAX_SNOOZE_MINUTES = 7 * 24 * 60  # a week: a restart is postponed, never forgotten
DEFAULT_POLL_MINUTES = 60.0
DEFAULT_PRECACHE_RATE_MBPS = 10.0  # megabits per second
DEFAULT_NOTICE_MINUTES = 15.0
MAX_PRECACHE_RATE_MBPS = 100_000.0
MAX_POLL_MINUTES = 7 * 24 * 60.0  # a week
SITE_KEYS = frozenset({"site", "connection", "site_key", "ca_bundle", "token"})  # the site is opened again


def _number(value: Any) -> float | None:
    """A finite number from a number or its text; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def parse_setting(key: str, value: Any) -> Any:
    """The value to keep for `key` (None: unset); SettingError naming the key otherwise.
    Text is accepted for every key (the command line sends text); '' unsets."""
    if key not in SETTING_KEYS:
        raise SettingError(f"{key}: not a setting (the settings are {', '.join(SETTING_KEYS)})")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if key == "connection":
        if value not in ("auto", "internet", "intranet"):
            raise SettingError("connection: expected auto, internet or intranet")
        return value
    if key == "reboot_command":
        if isinstance(value, list) and value and all(isinstance(a, str) for a in value):
            return list(value)
        if isinstance(value, str):
            try:
                words = shlex.split(value)
            except ValueError as exc:
                raise SettingError(f"reboot_command: {exc}") from None
            return words
        raise SettingError("reboot_command: expected a command (text)")
    if key == "restart_countdown_s":
        number = _number(value)
        if number is None or not number >= 0:
            raise SettingError("restart_countdown_s: expected a number of seconds (0 or more)")
        return number
    if key == "precache_rate_mbps":
        number = _number(value)
        if number is None or not 0 < number <= MAX_PRECACHE_RATE_MBPS:
            raise SettingError(f"precache_rate_mbps: expected megabits per second above 0 and at most "
                               f"{MAX_PRECACHE_RATE_MBPS:g} (10 is about 1.2 MB/s)")
        return number
    if key == "precache_on_metered":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower() if isinstance(value, str | int) else None
        if word in ("true", "yes", "on", "1"):
            return True
        if word in ("false", "no", "off", "0"):
            return False
        raise SettingError("precache_on_metered: expected true or false")
    if key == "notice_minutes":
        number = _number(value)
        if number is None or not 0 <= number <= MAX_POLL_MINUTES:
            raise SettingError(f"notice_minutes: expected a number of minutes from 0 to {MAX_POLL_MINUTES:g}")
        return number
    if key == "poll_minutes":
        number = _number(value)
        if number is None or not 0 < number <= MAX_POLL_MINUTES:
            raise SettingError(f"poll_minutes: expected a number of minutes above 0 and at most {MAX_POLL_MINUTES:g} "
                               "(fractions allowed: 0.5 is 30 s)")
        return number
    if key == "restart_snooze_minutes":
        return _snooze_minutes(value)
    if not isinstance(value, str):
        raise SettingError(f"{key}: expected text")
    value = value.strip()
    if key == "site_key":
        from ..errors import KeyFileError
        from ..signing import parse_public_key

        try:
            parse_public_key(value)
        except KeyFileError as exc:
            raise SettingError(f"site_key: {exc}") from None
        path = Path(value)
        return str(path.resolve()) if path.is_absolute() and path.is_file() else value
    if key == "admin_group":
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}", value):
            raise SettingError("admin_group: expected the name (or number) of a local group")
        return value
    if key == "ca_bundle":
        path = Path(value).expanduser()
        if not path.is_absolute() or not path.is_file():
            raise SettingError(f"ca_bundle: no file {value} (give an absolute path)")
        return str(path)
    return value


def _snooze_minutes(value: Any) -> list[int]:
    """A list of whole minutes, 1 to a week each, no repeats, in rising order; text such as
    "15,60,240" (the command line's) is accepted too."""
    problem = SettingError("restart_snooze_minutes: expected a list of whole minutes, each from 1 to "
                           f"{MAX_SNOOZE_MINUTES} (such as 15,60,240)")
    items: list[Any]
    if isinstance(value, str):
        items = [w for w in re.split(r"[\s,]+", value.strip()) if w]
    elif isinstance(value, list):
        items = value
    else:
        raise problem
    minutes: list[int] = []
    for item in items:
        if isinstance(item, str) and item.isdecimal():
            item = int(item)
        if isinstance(item, float) and item.is_integer():
            item = int(item)
        if not isinstance(item, int) or isinstance(item, bool) or not 1 <= item <= MAX_SNOOZE_MINUTES:
            raise problem
        minutes.append(item)
    if not minutes:
        raise problem
    return sorted(set(minutes))


def public_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Every setting as it may be shown: the token only as set / not set."""
    out = {k: settings.get(k) for k in SETTING_KEYS if k != "token"}
    out["token"] = "set" if settings.get("token") else "not set"
    return out


class SettingsStore:
    """Where the settings are kept: a root-only JSON file (`path`), or the per-user
    options file of `data_dir` (path None)."""

    def __init__(self, data_dir: Path, path: Path | None = None) -> None:
        self.data_dir = data_dir
        self.path = path

    def load(self) -> dict[str, Any]:
        """The saved settings (missing keys: unset). OSError/SettingError when unreadable."""
        if self.path is None:
            o = load_options(self.data_dir)
            return {"site": o.site, "connection": o.connection, "site_key": o.site_key,
                    "ca_bundle": o.ca_bundle, "token": o.token, "reboot_command": o.restart_command,
                    **{k: o.extra.get(k) for k in _EXTRA_KEYS}}
        try:
            raw = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {k: None for k in SETTING_KEYS}
        except ValueError:
            raise SettingError(f"the settings file {self.path} is not JSON") from None
        if not isinstance(raw, dict):
            raise SettingError(f"the settings file {self.path} must hold a JSON object")
        out: dict[str, Any] = {}
        for key in SETTING_KEYS:
            try:
                out[key] = parse_setting(key, raw.get(key)) if key not in ("site_key", "ca_bundle") \
                    else (raw.get(key) if isinstance(raw.get(key), str) else None)
            except SettingError as exc:
                raise SettingError(f"the settings file {self.path}: {exc}") from None
        return out

    def save(self, settings: dict[str, Any]) -> None:
        """Keep the settings (atomically; the file root-only). OSError when it cannot."""
        if self.path is None:
            o = load_options(self.data_dir)
            extra = dict(o.extra)
            for key in _EXTRA_KEYS:
                if settings.get(key) is None:
                    extra.pop(key, None)
                else:
                    extra[key] = settings[key]
            save_options(self.data_dir, replace(
                o, site=settings.get("site"), connection=settings.get("connection") or "auto",
                site_key=settings.get("site_key"), ca_bundle=settings.get("ca_bundle"), token=settings.get("token"),
                restart_command=settings.get("reboot_command"), extra=extra))
            return
        self.path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        data = {k: settings.get(k) for k in SETTING_KEYS if settings.get(k) is not None}
        atomic_write_bytes(self.path, json.dumps(data, indent=1).encode())
        os.chmod(self.path, 0o600)
