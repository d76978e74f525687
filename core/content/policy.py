"""Download policy: where to fetch a package from, how often and how patiently to retry,
and what the package's cache folder is called.

Owns `RetryPolicy` (attempts per location, backoff, the task-sequence variables that
tune it), `parse_retry_after`, `ordered_locations` (internet: `cloud` only; intranet:
`dp` first, `cloud` last if allowed; catalog order within a kind), `cache_key`
(`<ID>.<version>`) and `location_url`. Pure functions of their inputs: no I/O.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from ..catalog import Location, Package, file_url
from ..http import is_digits

__all__ = [
    "Connection",
    "RetryPolicy",
    "cache_key",
    "location_url",
    "ordered_locations",
    "parse_retry_after",
]

Connection = Literal["internet", "intranet"]

_ID_RE = re.compile(r"^[A-Z0-9]{3,16}$")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently one file is retried at one location.

    `attempts`: tries per location without progress (an attempt that got the file further
    than it ever was resets the count). Delays double from `first_delay_s` up to
    `max_delay_s`; a server's `Retry-After` replaces the delay, capped at
    `retry_after_cap_s`.
    """

    attempts: int = 5
    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    retry_after_cap_s: float = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.first_delay_s < 0 or self.max_delay_s < 0 or self.retry_after_cap_s < 0:
            raise ValueError("delays must not be negative")

    def delay(self, failures: int) -> float:
        """Backoff before the next try after `failures` consecutive failures (>= 1)."""
        ceiling = max(self.max_delay_s, self.first_delay_s)
        return float(min(self.first_delay_s * 2 ** min(max(failures - 1, 0), 32), ceiling))

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> RetryPolicy:
        """From task-sequence variables: SMSTSDownloadRetryCount (retries after the first
        try) and SMSTSDownloadRetryDelay (seconds before the first retry). Values that are
        not whole numbers in range are ignored (the default stays)."""
        default = cls()
        attempts = default.attempts
        first = default.first_delay_s
        count = _whole(variables.get("SMSTSDownloadRetryCount"), 0, 100)
        if count is not None:
            attempts = count + 1
        delay = _whole(variables.get("SMSTSDownloadRetryDelay"), 0, 3600)
        if delay is not None:
            first = float(delay)
        return cls(attempts=attempts, first_delay_s=first, max_delay_s=max(default.max_delay_s, first))


def _whole(value: str | None, low: int, high: int) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if not is_digits(text):
        return None
    n = int(text)
    return n if low <= n <= high else None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), None if invalid."""
    if value is None:
        return None
    text = value.strip()
    if is_digits(text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    try:
        return max(0.0, when.timestamp() - current)
    except (OverflowError, OSError, ValueError):
        return None


def cache_key(package_id: str, package: Package) -> str:
    """`<ID>.<version>`: the package folder's name and the key `evict(keep=...)` takes."""
    if not _ID_RE.match(package_id):
        raise ValueError(f"not a package ID: {package_id!r}")
    return f"{package_id}.{package.version}"


def ordered_locations(
    package: Package, connection: Connection, allow_cloud: bool = True
) -> list[Location]:
    """Where to fetch from, in order. Internet: `cloud` only, catalog order. Intranet:
    `dp` in catalog order, then `cloud` if `allow_cloud`."""
    dps = [loc for loc in package.locations if loc.kind == "dp"]
    clouds = [loc for loc in package.locations if loc.kind == "cloud"]
    if connection == "internet":
        return clouds
    return dps + (clouds if allow_cloud else [])


def location_url(location: Location, catalog_url: str) -> str:
    """A location's folder URL, resolved against the catalog's URL (for events and logs)."""
    return file_url(location.url, catalog_url, "")
