"""The engine's front door: one `SoftwareCenter` per process, used by the CLI and the window.

It owns the process's HTTP session, the content cache, the site (starting the embedded
demo site or serving a local folder on loopback when needed), the catalog, and the
detected connection type. Everything here is async and Qt-free.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from .catalog import MAX_CATALOG_BYTES, Catalog, Deployment, parse_catalog, referenced_packages
from .content import ContentStore
from .demo import DemoServer, build_demo_site
from .eligibility import ConnectionType, LaunchMode, Verdict, check_eligibility, is_listed
from .errors import CatalogError
from .http import HttpSession
from .options import ConnectionSetting, Options, load_options

__all__ = ["Listing", "SoftwareCenter", "site_base_url"]

log = logging.getLogger("software_center.center")

PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Listing:
    """One listed deployment with its verdict on this client and its content sizes."""

    deployment: Deployment
    verdict: Verdict
    total_bytes: int  # every package the task sequence references
    download_bytes: int  # of those, what is not already complete in the cache


def site_base_url(site: str) -> str:
    """An http(s) site address as the folder URL that holds catalog.json (ends with '/')."""
    site = site.strip()
    if site.endswith("catalog.json"):
        site = site[: -len("catalog.json")]
    return site if site.endswith("/") else site + "/"


def _is_remote(site: str) -> bool:
    return urlsplit(site).scheme in ("http", "https")


class SoftwareCenter:
    """The client: open a site, read its catalog, judge deployments, fetch content.

    `site` None means the saved option, else the embedded demo site. `connection` None
    means the saved option (default `auto`). Call `await open()` first, `await aclose()` last.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        site: str | None = None,
        connection: ConnectionSetting | None = None,
        demo_rate_bps: float | None = None,
        options: Options | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.options = options or load_options(data_dir)
        self.site_setting = site if site is not None else self.options.site
        self.connection_setting: ConnectionSetting = connection or self.options.connection
        self.demo_rate_bps = demo_rate_bps
        self.session = HttpSession()
        self.store = ContentStore(data_dir / "cache", self.session, limit_bytes=self.options.cache_limit_bytes)
        self._server: DemoServer | None = None
        self.site_url: str | None = None  # the folder URL holding catalog.json, once open
        self.catalog: Catalog | None = None
        self.catalog_bytes: bytes = b""  # as read, so a run can keep the exact copy it started with
        self.connection: ConnectionType | None = None  # detected or forced, once open

    @property
    def is_demo(self) -> bool:
        return self.site_setting is None

    async def open(self, catalog_bytes: bytes | None = None) -> Catalog:
        """Start the site if it is local, read and validate the catalog, detect the connection.

        `catalog_bytes`: use this copy (a run's saved catalog) instead of fetching it.
        Raises CatalogError (invalid catalog) or SiteUnreachableError.
        """
        if self.site_url is None:
            self.site_url = await self._start_site()
        await self.reload(catalog_bytes)
        assert self.catalog is not None
        return self.catalog

    async def reload(self, catalog_bytes: bytes | None = None) -> Catalog:
        """Read the catalog again and re-detect the connection type."""
        assert self.site_url is not None, "open() first"
        url = self.site_url + "catalog.json"
        if catalog_bytes is None:
            data = await self.session.get_bytes(url, max_bytes=MAX_CATALOG_BYTES)
        else:
            data = catalog_bytes
        self.catalog_bytes = data
        # A big catalog is decoded off the loop so the window keeps painting.
        if len(data) > 1 << 20:
            self.catalog = await asyncio.to_thread(parse_catalog, data, url)
        else:
            self.catalog = parse_catalog(data, url)
        self.connection = await self.detect_connection()
        log.info("Catalog of site %s read: %d deployments; connection %s",
                 self.catalog.site.code, len(self.catalog.deployments), self.connection)
        return self.catalog

    async def _start_site(self) -> str:
        site = self.site_setting
        if site is not None and _is_remote(site):
            return site_base_url(site)
        if site is None:
            root = await asyncio.to_thread(build_demo_site, self.data_dir / "demo-site")
            rate = self.demo_rate_bps
        else:
            root = Path(site.removeprefix("file://")).expanduser()
            if root.name == "catalog.json":
                root = root.parent
            if not (root / "catalog.json").is_file():
                raise CatalogError("", f"no catalog.json in the folder {root}")
            rate = None
        self._server = DemoServer(root, rate_bps=rate)
        return await asyncio.to_thread(self._server.start)

    async def detect_connection(self) -> ConnectionType:
        """Forced setting, or for `auto`: intranet if the site's intranet probe answers at all."""
        if self.connection_setting != "auto":
            return self.connection_setting
        probe = self.catalog.site.intranet_probe if self.catalog else None
        if not probe:
            return "internet"
        reachable = await self.session.probe(probe, timeout=PROBE_TIMEOUT_S)
        return "intranet" if reachable else "internet"

    def listings(self, launch_mode: LaunchMode = LaunchMode.SOFTWARE_CENTER, now: datetime | None = None) -> list[Listing]:
        """Every listed deployment (media/PXE-only ones are not) with its verdict and sizes."""
        assert self.catalog is not None and self.connection is not None, "open() first"
        catalog = self.catalog
        complete: dict[str, bool] = {}
        out = []
        for dep in catalog.deployments:
            if not is_listed(dep):
                continue
            total = download = 0
            for pid in referenced_packages(catalog.task_sequences[dep.task_sequence]):
                pkg = catalog.packages[pid]
                if pid not in complete:
                    complete[pid] = self.store.is_complete(pid, pkg)
                total += pkg.total_bytes
                download += 0 if complete[pid] else pkg.total_bytes
            verdict = check_eligibility(catalog, dep.id, self.connection, launch_mode, now)
            out.append(Listing(dep, verdict, total, download))
        return out

    def verdict(self, deployment_id: str, launch_mode: LaunchMode = LaunchMode.SOFTWARE_CENTER) -> Verdict:
        assert self.catalog is not None and self.connection is not None, "open() first"
        return check_eligibility(self.catalog, deployment_id, self.connection, launch_mode)

    async def aclose(self) -> None:
        await self.session.aclose()
        if self._server is not None:
            await asyncio.to_thread(self._server.stop)
            self._server = None

