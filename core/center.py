"""The engine's front door: one `SoftwareCenter` per process, used by the CLI and the window.

It owns the process's HTTP session, the content cache, the site (starting the embedded
demo site or serving a local folder on loopback when needed), the catalog, and the
detected connection type. Everything here is async and Qt-free.

Trust settings, each from the constructor, else the environment, else the options file:

    site_key    SOFTWARE_CENTER_SITE_KEY    pinned Ed25519 public key (core/signing.py):
                                            an unsigned or badly signed catalog is refused
    ca_bundle   SOFTWARE_CENTER_CA_BUNDLE   PEM file of a private CA, trusted on top of
                                            the system's trust store
    token       SOFTWARE_CENTER_TOKEN       bearer token, sent to the site's origin only

The embedded demo site is built here from the bundled spec and is never checked
against a pinned key (`catalog_signed` is False for it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .catalog import MAX_CATALOG_BYTES, Catalog, Deployment, parse_catalog, referenced_packages, url_problem
from .content import ContentStore
from .eligibility import ConnectionType, LaunchMode, Listing, Verdict, check_eligibility, is_listed
from .errors import (
    CatalogError,
    KeyFileError,
    SignInRequiredError,
    SiteUnreachableError,
    TooLargeError,
    UntrustedSiteError,
)
from .http import DOCUMENT_DEADLINE_S, HttpSession, Validators
from .options import ConnectionSetting, Options, load_options
from .signing import MAX_SIGNATURE_BYTES, SIGNATURE_NAME, parse_public_key, verify_catalog

if TYPE_CHECKING:
    from .demo import DemoServer

__all__ = ["SoftwareCenter", "site_base_url"]

log = logging.getLogger("software_center.center")

PROBE_TIMEOUT_S = 2.0
# RFC 6750 allows less; real tokens (JWTs, opaque keys) are all visible ASCII without spaces.
_TOKEN_RE = re.compile(r"^[\x21-\x7e]+\Z")


def _setting(explicit: str | None, env: str, saved: str | None) -> str | None:
    """Constructor argument, else the environment variable, else the options file; '' is unset."""
    for value in (explicit, os.environ.get(env), saved):
        if value is not None and value.strip():
            return value.strip()
    return None


def site_base_url(site: str) -> str:
    """An http(s) site address as the folder URL that holds catalog.json (ends with '/')."""
    site = site.strip()
    if site.endswith("catalog.json"):
        site = site[: -len("catalog.json")]
    return site if site.endswith("/") else site + "/"


# "scheme://": two characters or more, so that a Windows drive ("C:/", "C:\\") is a folder.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")
_HTTP_SCHEME = re.compile(r"^(https?):", re.IGNORECASE)  # also "http:folder", which is refused


def _is_remote(site: str) -> bool:
    """True for an http(s) site address, False for a local folder (or a file:// URL).

    Raises SiteUnreachableError for any other `scheme://` (ftp://...) and for an http(s)
    address that the HTTP client could not use (checked as catalog URLs are).
    """
    site = site.strip()
    m = _SCHEME.match(site)
    scheme = m.group(1).lower() if m else ""
    if scheme in ("http", "https") or _HTTP_SCHEME.match(site):
        if problem := url_problem(site_base_url(site), absolute=True, folder=True):
            raise SiteUnreachableError(f"the site address {site!r} cannot be used: {problem}")
        return True
    if m is not None and scheme != "file":
        raise SiteUnreachableError(
            f"the site address {site!r} has the unsupported scheme {m.group(1)!r}: "
            "give an http:// or https:// URL, or a local folder"
        )
    return False


class SoftwareCenter:
    """The client: open a site, read its catalog, judge deployments, fetch content.

    `site` None means the saved option, else the embedded demo site. `connection` None
    means the saved option (default `auto`). `site_key`, `ca_bundle` and `token` None mean
    the environment, else the saved option (see the module docstring).
    `fetch_deadline_s`: the catalog and its signature each arrive within this many seconds,
    or the site is reported as too slow. Call `await open()` first, `await aclose()` last.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        site: str | None = None,
        connection: ConnectionSetting | None = None,
        demo_rate_bps: float | None = None,
        options: Options | None = None,
        site_key: str | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        token: str | None = None,
        fetch_deadline_s: float = DOCUMENT_DEADLINE_S,
    ) -> None:
        self.data_dir = Path(os.path.abspath(data_dir))  # steps run in other folders
        self.fetch_deadline_s = fetch_deadline_s
        self.options = options or load_options(data_dir)
        self.site_setting = site if site is not None else self.options.site
        self.connection_setting: ConnectionSetting = connection or self.options.connection
        self.demo_rate_bps = demo_rate_bps
        self.site_key = _setting(site_key, "SOFTWARE_CENTER_SITE_KEY", self.options.site_key)
        bundle = _setting(None if ca_bundle is None else os.fspath(ca_bundle),
                          "SOFTWARE_CENTER_CA_BUNDLE", self.options.ca_bundle)
        self.ca_bundle = Path(bundle).expanduser() if bundle else None
        self._token = _setting(token, "SOFTWARE_CENTER_TOKEN", self.options.token)
        # True: signed and verified against the pinned site key. False: no key is pinned (or
        # the embedded demo site), so the catalog was taken unsigned. None: not read yet, or
        # a saved copy given to open()/reload() (checked when it was first read).
        self.catalog_signed: bool | None = None
        self.session = HttpSession(ca_bundle=self.ca_bundle)
        self.store = ContentStore(data_dir / "cache", self.session, limit_bytes=self.options.cache_limit_bytes)
        self._server: DemoServer | None = None
        self.site_url: str | None = None  # the folder URL holding catalog.json, once open
        self.catalog: Catalog | None = None
        self.catalog_bytes: bytes = b""  # as read, so a run can keep the exact copy it started with
        self.catalog_validators = Validators()  # the server's ETag / Last-Modified for those bytes
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
        if catalog_bytes is None:
            data, signed, validators = await self._read_catalog(self.site_url + "catalog.json")
            assert data is not None  # asked without validators: always the whole document
            await self._take(data, signed, validators)
        else:
            await self._take(catalog_bytes, None, Validators())
        assert self.catalog is not None
        return self.catalog

    async def refresh(self) -> bool:
        """Read the catalog again only if the site says it changed (a conditional GET: an
        unchanged catalog costs a 304), and re-detect the connection type.

        True when a different catalog is now in force. A catalog that fails to load, to
        verify or to parse raises, and the last good one stays in force.
        """
        assert self.site_url is not None, "open() first"
        data, signed, validators = await self._read_catalog(self.site_url + "catalog.json",
                                                            since=self.catalog_validators)
        if data is None or data == self.catalog_bytes:
            self.catalog_validators = validators
            self.connection = await self.detect_connection()
            log.info("The catalog of site %s is unchanged", self.catalog.site.code if self.catalog else "?")
            return False
        await self._take(data, signed, validators)
        return True

    async def _take(self, data: bytes, signed: bool | None, validators: Validators) -> None:
        url = (self.site_url or "") + "catalog.json"
        # A big catalog is decoded off the loop so the window keeps painting. Nothing is
        # replaced until the new one has parsed: a bad catalog leaves the last good one.
        if len(data) > 1 << 20:
            catalog = await asyncio.to_thread(parse_catalog, data, url)
        else:
            catalog = parse_catalog(data, url)
        self.catalog_bytes, self.catalog_signed, self.catalog = data, signed, catalog
        self.catalog_validators = validators
        self.connection = await self.detect_connection()
        log.info("Catalog of site %s read: %d deployments; connection %s",
                 self.catalog.site.code, len(self.catalog.deployments), self.connection)

    async def _read_catalog(self, url: str, since: Validators | None = None,
                            ) -> tuple[bytes | None, bool, Validators]:
        """The catalog's bytes (None: unchanged since the validators `since`, HTTP 304), True
        if they were verified against the pinned site key (False: no key is pinned, or the
        demo site), and the server's validators. Raises UntrustedSiteError, besides the
        errors of `get_bytes`.

        The catalog is read before its signature, and a mismatch is read once more, both
        documents, in case the site was re-published between the two requests.
        """
        deadline = self.fetch_deadline_s
        doc = await self.session.get_document(url, max_bytes=MAX_CATALOG_BYTES, since=since, deadline_s=deadline)
        if doc.body is None:
            return None, bool(self.catalog_signed), doc.validators
        data = doc.body
        if self.site_key is None or self.is_demo:
            return data, False, doc.validators
        try:
            key = parse_public_key(self.site_key)
        except KeyFileError as exc:
            raise UntrustedSiteError("bad_key", f"untrusted site: the pinned site key cannot be used: {exc}") from None
        for attempt in (1, 2):
            if attempt == 2:
                log.info("The catalog's signature did not match; reading both once more")
                doc = await self.session.get_document(url, max_bytes=MAX_CATALOG_BYTES, deadline_s=deadline)
                assert doc.body is not None
                data = doc.body
            try:
                sig = await self.session.get_optional_bytes(
                    url + ".sig", max_bytes=MAX_SIGNATURE_BYTES, what=SIGNATURE_NAME, deadline_s=deadline
                )
            except TooLargeError:
                raise UntrustedSiteError(
                    "bad_signature",
                    f"untrusted site: {SIGNATURE_NAME} is larger than {MAX_SIGNATURE_BYTES} bytes, "
                    "so it is not a signature",
                ) from None
            try:
                verify_catalog(key, data, sig)
            except UntrustedSiteError as exc:
                if attempt == 2 or exc.reason != "bad_signature":
                    raise
                continue
            log.info("The catalog is signed by the pinned site key")
            return data, True, doc.validators
        raise AssertionError("unreachable")  # pragma: no cover

    async def _start_site(self) -> str:
        site = self.site_setting
        if site is not None and _is_remote(site):
            base = site_base_url(site)
            if self._token is not None:
                if not _TOKEN_RE.match(self._token):
                    raise SignInRequiredError(
                        "the token (SOFTWARE_CENTER_TOKEN or the token option) contains spaces or "
                        "characters a bearer token cannot have"
                    )
                self.session.authorize(base, self._token)
            if self.ca_bundle is not None:
                await asyncio.to_thread(self.session.check_trust_settings)
            return base
        # Only local and embedded sites need the local server (and the demo builder).
        from .demo import DemoServer, build_demo_site

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

    def listings(
        self, launch_mode: LaunchMode = LaunchMode.SOFTWARE_CENTER, now: datetime | None = None,
        where: Callable[[Deployment], bool] | None = None,
    ) -> list[Listing]:
        """Every listed deployment (media/PXE-only ones are not) with its verdict and sizes;
        `where`: only those it accepts (the agent's schedule looks at a few of many)."""
        assert self.catalog is not None and self.connection is not None, "open() first"
        catalog = self.catalog
        complete: dict[str, bool] = {}
        remaining: dict[str, int] = {}
        out = []
        for dep in catalog.deployments:
            if not is_listed(dep) or (where is not None and not where(dep)):
                continue
            total = download = present = 0
            for pid in referenced_packages(catalog.task_sequences[dep.task_sequence]):
                pkg = catalog.packages[pid]
                if pid not in remaining:
                    remaining[pid], complete[pid] = self.store.presence(pid, pkg)
                total += pkg.total_bytes
                download += 0 if complete[pid] else pkg.total_bytes
                present += pkg.total_bytes - remaining[pid]
            verdict = check_eligibility(catalog, dep.id, self.connection, launch_mode, now)
            out.append(Listing(dep, verdict, total, download, present))
        return out

    def verdict(self, deployment_id: str, launch_mode: LaunchMode = LaunchMode.SOFTWARE_CENTER) -> Verdict:
        assert self.catalog is not None and self.connection is not None, "open() first"
        return check_eligibility(self.catalog, deployment_id, self.connection, launch_mode)

    async def aclose(self) -> None:
        await self.session.aclose()
        if self._server is not None:
            await asyncio.to_thread(self._server.stop)
            self._server = None

