"""The embedded demo site: built from the spec in `resources/demo_site/`, served on loopback.

    build_demo_site(out_dir)   spec -> a real static site (catalog.json + content/), cached
    DemoServer(root)           serves any site folder over HTTP on its own thread and loop
    serve_forever(...)         `software-center demo-site`: build, serve, wait for Ctrl-C

The spec (`resources/demo_site/site.json`) is a version-1 catalog (docs/SITE-FORMAT.md) except
that each package names its content instead of listing `files`:

    "source": "packages/<folder>"     every file under that folder, copied as is
    "generated": [{"path": "sources/install.wim", "size": 268435456, "seed": "<text>"}]
                                      big payloads made at build time, never committed

A generated payload is a run of 1 MiB blocks, block i = SHAKE-128(prefix, seed, i): the
same bytes on every machine and Python version, fast to make, and no two blocks alike (a
resume at a wrong offset cannot go unnoticed). The build copies and generates into
`content/<ID>.<version>/`, computes sizes and SHA-256, and writes `catalog.json`, which
must pass `parse_catalog`. It builds in a temporary folder next to `out_dir` and renames
it into place, so a half-built site is never served; a stamp (a hash of the spec and the
sources) makes a second call with nothing changed cost a few file reads.

The server runs aiohttp's `FileResponse` (Range, ETag/Last-Modified, sendfile) on a
private thread with its own event loop, so sync code, plain asyncio and a Qt/qasync
window can all use it without sharing their loop with it. An optional rate limit paces
the bytes with a token bucket shared by every response of the server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Self

from resources import RESOURCES

from .catalog import parse_catalog
from .errors import CatalogError, SiteBuildError
from .sitebuild import SourceFile, copy_file, remove_leftovers, scan_source

if TYPE_CHECKING:
    from aiohttp import web
    from aiohttp.abc import AbstractStreamWriter

# aiohttp is imported by the server thread when it starts, not with this module: it is
# ~0.3 s of imports, and the window would otherwise pay it before it can show anything.

__all__ = [
    "DEFAULT_DEMO_RATE_MBPS",
    "DEMO_RATE_ENV",
    "DEMO_SPEC_DIR",
    "DemoServer",
    "build_demo_site",
    "demo_rate_bps",
    "serve_forever",
]

log = logging.getLogger("software_center.demo")
# The embedded server's access lines are the demo *site's* log, not the client's: they
# must not reach smsts.log through the `software_center` logger. `serve_forever` shows
# them on standard error instead.
access_log = logging.getLogger("software_center.demo.access")
access_log.propagate = False

DEMO_SPEC_DIR = RESOURCES / "demo_site"

# The agent serves the embedded demo site at a limited rate so a download can be watched
# (about 15 s for the upgrade's 288 MiB); the variable overrides it in megabytes (10^6
# bytes) per second, 0 meaning unlimited (tests use that).
DEFAULT_DEMO_RATE_MBPS = 20.0
DEMO_RATE_ENV = "SOFTWARE_CENTER_DEMO_RATE"


def demo_rate_bps(environ: Mapping[str, str] | None = None) -> float | None:
    """The embedded demo site's serving rate in bytes per second; None: unlimited."""
    raw = (os.environ if environ is None else environ).get(DEMO_RATE_ENV, "").strip()
    mbps = DEFAULT_DEMO_RATE_MBPS
    if raw:
        try:
            mbps = float(raw)
            if not mbps >= 0 or mbps == float("inf"):
                raise ValueError(raw)
        except ValueError:
            log.warning("%s=%r is not a number of megabytes per second; using %s", DEMO_RATE_ENV, raw,
                        DEFAULT_DEMO_RATE_MBPS)
            mbps = DEFAULT_DEMO_RATE_MBPS
    return None if mbps == 0 else mbps * 1_000_000

# Bump when the same spec would build different bytes (stamps of older builds then miss).
_BUILDER_VERSION = "3"  # 3: deadline_after_build_minutes
_STAMP = ".demo-site-stamp.json"
_BLOCK = 1 << 20
_PAYLOAD_PREFIX = b"software-center demo payload v1\0"
_PACKAGE_SPEC_FIELDS = {"name", "version", "source", "generated", "locations"}


# --- building --------------------------------------------------------------------------


def build_demo_site(out_dir: Path, *, scale: float = 1.0, spec_dir: Path | None = None,
                    deadlines_from: datetime | None = None) -> Path:
    """Build the demo site into `out_dir` (unless it is already built from the same spec).

    `scale` multiplies the size of every generated payload (tests use small sites; the
    default builds the real sizes). `spec_dir` defaults to the bundled spec.
    `deadlines_from`: the moment a deployment's `deadline_after_build_minutes` counts from
    (default: the build; tests that keep one site across runs give a fixed one). A site
    already built from the same spec is kept as it is, deadlines included. Returns
    `out_dir`. Raises CatalogError for a broken spec (the path names the spec's field)
    and OSError when the folder cannot be written.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, not {scale!r}")
    spec_dir = spec_dir or DEMO_SPEC_DIR
    spec_bytes = (spec_dir / "site.json").read_bytes()
    try:
        spec = json.loads(spec_bytes)
    except ValueError as exc:
        raise CatalogError("", f"the demo spec {spec_dir / 'site.json'} is not valid JSON ({exc})") from None
    sources = _source_files(spec_dir, spec)
    # The deadlines are not part of the key: a site built once keeps the deadlines of its
    # build (an agent finding the site built, with any anchor, uses it as it is).
    key = _build_key(spec_bytes, sources, scale)
    if _is_current(out_dir, key):
        log.debug("Demo site in %s is up to date", out_dir)
        return out_dir

    started = time.monotonic()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out_dir)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.build-"))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; the site is meant to be served
    try:
        total = _build_into(tmp, spec, sources, scale, key, deadlines_from or datetime.now(UTC))
        _swap_in(tmp, out_dir, key)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("Built the demo site in %s: %.1f MiB in %.2f s",
             out_dir, total / (1 << 20), time.monotonic() - started)
    return out_dir


def _source_files(spec_dir: Path, spec: Any) -> dict[str, list[SourceFile]]:
    """Each package's source files, sorted by path (listed as `site build` lists them)."""
    packages = spec.get("packages") if isinstance(spec, dict) else None
    if not isinstance(packages, dict):
        raise CatalogError("packages", "the demo spec needs a packages object")
    out: dict[str, list[SourceFile]] = {}
    for pid, pkg in packages.items():
        where = f"packages.{pid}"
        if not isinstance(pkg, dict):
            raise CatalogError(where, "expected an object")
        for field in pkg:
            if field not in _PACKAGE_SPEC_FIELDS:
                raise CatalogError(f"{where}.{field}", "not a field of a demo spec package "
                                   f"(expected {', '.join(sorted(_PACKAGE_SPEC_FIELDS))})")
        source = pkg.get("source")
        if not isinstance(source, str) or not _is_safe_relative(source):
            raise CatalogError(f"{where}.source", "expected a relative folder of the spec")
        folder = spec_dir / source
        if not folder.is_dir():
            raise CatalogError(f"{where}.source", f"no folder {folder}")
        try:
            out[pid] = scan_source(folder, f"{where}.source")
        except SiteBuildError as exc:
            raise CatalogError(exc.path, exc.problem) from None
    return out


def _is_safe_relative(path: str) -> bool:
    if not path or "\\" in path or ":" in path or path.startswith("/"):
        return False
    return all(seg not in ("", ".", "..") for seg in path.split("/"))


def _build_key(spec_bytes: bytes, sources: dict[str, list[SourceFile]], scale: float) -> str:
    h = hashlib.sha256()
    h.update(f"builder {_BUILDER_VERSION}\0scale {scale.hex()}\0".encode())
    h.update(len(spec_bytes).to_bytes(8, "big") + spec_bytes)
    for pid in sorted(sources):
        for src in sources[pid]:
            data = src.path.read_bytes()
            h.update(f"{pid}/{src.rel}\0".encode() + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def _is_current(out_dir: Path, key: str) -> bool:
    """Built from this key, and every file still there with its size (stat only)."""
    try:
        stamp = json.loads((out_dir / _STAMP).read_bytes())
        if stamp.get("key") != key:
            return False
        return all((out_dir / rel).stat().st_size == size for rel, size in stamp["files"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _build_into(tmp: Path, spec: dict[str, Any], sources: dict[str, list[SourceFile]],
                scale: float, key: str, built: datetime) -> int:
    """Write content/, catalog.json and the stamp into `tmp`; return the content bytes."""
    packages: dict[str, Any] = {}
    written: list[tuple[str, int]] = []
    for pid, pkg in spec["packages"].items():
        where = f"packages.{pid}"
        folder_name = f"{pid}.{pkg.get('version')}"
        folder = tmp / "content" / folder_name
        entries: dict[str, tuple[int, str]] = {}
        for src in sources[pid]:
            try:
                digest, _ = copy_file(src, folder / src.rel, where=f"{where}.source")
            except SiteBuildError as exc:
                raise CatalogError(exc.path, exc.problem) from None
            entries[src.rel] = (src.size, digest)
        generated = pkg.get("generated", [])
        if not isinstance(generated, list):
            raise CatalogError(f"{where}.generated", "expected an array")
        for i, gen in enumerate(generated):
            at = f"{where}.generated[{i}]"
            if not isinstance(gen, dict) or set(gen) != {"path", "size", "seed"}:
                raise CatalogError(at, "expected an object with path, size and seed")
            rel, size, seed = gen["path"], gen["size"], gen["seed"]
            if not isinstance(rel, str) or not _is_safe_relative(rel):
                raise CatalogError(f"{at}.path", "expected a relative POSIX path")
            if rel.casefold() in {p.casefold() for p in entries}:
                raise CatalogError(f"{at}.path", f"{rel!r} is also a source file")
            if type(size) is not int or size < 0:
                raise CatalogError(f"{at}.size", "expected an integer >= 0")
            if not isinstance(seed, str) or not seed:
                raise CatalogError(f"{at}.seed", "expected a non-empty string")
            scaled = max(1, round(size * scale)) if size else 0
            entries[rel] = _generate(folder / rel, seed, scaled)
        packages[pid] = {
            "name": pkg.get("name"),
            "version": pkg.get("version"),
            "files": [{"path": p, "size": s, "sha256": h} for p, (s, h) in sorted(entries.items())],
            "locations": pkg.get("locations"),
        }
        written += [(f"content/{folder_name}/{p}", s) for p, (s, _) in sorted(entries.items())]
        _check_locations(tmp, pkg.get("locations"), where)

    catalog = {k: (packages if k == "packages" else v) for k, v in spec.items()}
    catalog["deployments"] = [_deadline_from_build(dep, i, built)
                              for i, dep in enumerate(spec.get("deployments") or [])]
    data = json.dumps(catalog, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    parse_catalog(data, (tmp / "catalog.json").as_uri())  # the demo must be a valid site
    (tmp / "catalog.json").write_bytes(data)
    written.append(("catalog.json", len(data)))
    stamp = {"key": key, "files": written}
    (tmp / _STAMP).write_text(json.dumps(stamp, indent=1), encoding="utf-8")
    return sum(size for _, size in written)


def _deadline_from_build(dep: Any, index: int, built: datetime) -> Any:
    """The spec's `deadline_after_build_minutes: N` becomes a deadline N minutes after this
    build: the demo's required upgrade comes due a while after a person first opens it, so
    they see its content pre-cached, its countdown and its start at the deadline."""
    if not isinstance(dep, dict) or "deadline_after_build_minutes" not in dep:
        return dep
    out = dict(dep)
    minutes = out.pop("deadline_after_build_minutes")
    if type(minutes) not in (int, float) or not minutes > 0:
        raise CatalogError(f"deployments[{index}].deadline_after_build_minutes", "expected a number of minutes above 0")
    out["deadline"] = (built + timedelta(minutes=minutes)).astimezone(UTC).isoformat(timespec="seconds") \
        .replace("+00:00", "Z")
    return out


def _check_locations(tmp: Path, locations: Any, where: str) -> None:
    """A relative location must name a folder this build made (catches typos in the spec)."""
    for i, loc in enumerate(locations if isinstance(locations, list) else []):
        url = loc.get("url") if isinstance(loc, dict) else None
        if isinstance(url, str) and "://" not in url and not (tmp / url).is_dir():
            raise CatalogError(f"{where}.locations[{i}].url", f"the demo site has no folder {url!r}")


def _generate(dst: Path, seed: str, size: int) -> tuple[int, str]:
    """Write `size` deterministic bytes; block i is SHAKE-128(prefix, seed, i), 1 MiB each."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    base = _PAYLOAD_PREFIX + seed.encode("utf-8") + b"\0"
    digest = hashlib.sha256()
    with open(dst, "wb") as f:
        for i in range((size + _BLOCK - 1) // _BLOCK):
            # A shorter SHAKE output is a prefix of a longer one: the last block is the
            # start of what it would be in a bigger payload.
            block = hashlib.shake_128(base + i.to_bytes(8, "big")).digest(min(_BLOCK, size - i * _BLOCK))
            digest.update(block)
            f.write(block)
    return size, digest.hexdigest()


def _swap_in(tmp: Path, out_dir: Path, key: str) -> None:
    """Rename the finished build to `out_dir`, replacing an older build; tolerate a racing builder."""
    old: Path | None = None
    if out_dir.exists():
        if _is_current(out_dir, key):  # another process finished the same build first
            return
        old = out_dir.with_name(f".{out_dir.name}.old-{secrets.token_hex(4)}")
        os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except OSError:
        if _is_current(out_dir, key):  # a racing builder renamed its build in between
            return
        if old is not None and not out_dir.exists():
            os.rename(old, out_dir)
            old = None
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


# --- serving ---------------------------------------------------------------------------


class _TokenBucket:
    """Paces bytes to `rate` per second (GCRA form of a token bucket), shared by all responses.

    A burst of one chunk goes out at once; after that each chunk waits its turn. The turn
    is reserved before sleeping, so concurrent downloads share the rate in FIFO order.
    Used only on the server's own loop.
    """

    def __init__(self, rate_bps: float) -> None:
        self.rate = float(rate_bps)
        # ~20 writes a second keeps progress smooth; 1 KiB..256 KiB keeps them sane.
        self.chunk_size = int(min(256 * 1024, max(1024, self.rate / 20)))
        self._burst_s = self.chunk_size / self.rate
        self._tat = 0.0  # theoretical arrival time of the next byte (loop clock)

    async def take(self, n: int) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._tat = max(self._tat, now) + n / self.rate
        delay = self._tat - self._burst_s - now
        if delay > 0:
            await asyncio.sleep(delay)


def _paced_file_response(path: Path, bucket: _TokenBucket) -> web.FileResponse:
    """A `_PacedFileResponse` (the class is made on first use, with aiohttp imported then)."""
    global _PacedFileResponse
    if _PacedFileResponse is None:
        _PacedFileResponse = _make_paced_file_response()
    response: web.FileResponse = _PacedFileResponse(path, bucket)
    return response


_PacedFileResponse: Any = None


def _make_paced_file_response() -> Any:
    from aiohttp import web

    class PacedFileResponse(web.FileResponse):
        """`web.FileResponse` whose body goes out in chunks paced by a token bucket.

        Everything before the body (Range, If-Range, ETag, Last-Modified, 304/412/416,
        HEAD) stays aiohttp's; only `_sendfile` (a private hook of aiohttp 3.14, pinned, and
        covered by tests/core/test_demo.py) is replaced, since sendfile cannot be paced.
        """

        def __init__(self, path: Path, bucket: _TokenBucket) -> None:
            super().__init__(path, chunk_size=bucket.chunk_size)
            self._bucket = bucket

        async def _sendfile(
            self, request: web.BaseRequest, fobj: IO[Any], offset: int, count: int
        ) -> AbstractStreamWriter:
            writer = await web.StreamResponse.prepare(self, request)
            assert writer is not None
            loop = asyncio.get_running_loop()
            position, remaining = offset, count
            while remaining > 0:
                n = min(self._bucket.chunk_size, remaining)
                await self._bucket.take(n)
                chunk = await loop.run_in_executor(None, self._seek_and_read, fobj, position, n)
                if not chunk:
                    break
                await writer.write(chunk)
                position += len(chunk)
                remaining -= len(chunk)
            await writer.drain()
            return writer

    return PacedFileResponse


_WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


class DemoServer:
    """Serves a static site folder over HTTP on its own thread and asyncio loop.

    `port` 0 picks a free port. `rate_bps` (bytes per second, None: unlimited) paces
    every response together, so a demo download is watchable. Range requests get 206,
    and ETag/Last-Modified come from aiohttp. Usable from sync code and from any loop:
    `start()` and `stop()` block only for the moment it takes to bind and to shut down.
    Also a context manager (`with DemoServer(root) as server: server.url`).
    """

    def __init__(self, root: Path, *, host: str = "127.0.0.1", port: int = 0,
                 rate_bps: float | None = None) -> None:
        if rate_bps is not None and not rate_bps > 0:
            raise ValueError(f"rate_bps must be positive, not {rate_bps!r}")
        self.root = Path(root)
        self.host = host
        self.port = port
        self.rate_bps = rate_bps
        self.url: str | None = None  # base URL ending in '/', once started
        self._root_resolved = self.root.resolve()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bucket: _TokenBucket | None = None

    def start(self) -> str:
        """Bind and start serving; return the base URL (ends with '/'). Raises OSError if the port is taken."""
        if self._thread is not None:
            raise RuntimeError("the demo server is already started")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self.port), family=family)
        port = sock.getsockname()[1]
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._serve, args=(sock, started),
                                        name=f"demo-site:{port}", daemon=True)
        self._thread.start()
        try:
            started.result(timeout=30)
        except BaseException:
            self._thread.join(timeout=5)
            self._thread = None
            raise
        host = _WILDCARD_HOSTS.get(self.host, self.host)
        self.port = port
        self.url = f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
        log.info("Serving %s at %s%s", self.root, self.url,
                 f" at {self.rate_bps / 1e6:g} MB/s" if self.rate_bps else "")
        return self.url

    def stop(self) -> None:
        """Stop serving (in-flight responses get a moment, then are cut). Idempotent."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None:
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:  # the loop already closed
                pass
        thread.join(timeout=10)
        if thread.is_alive():
            log.warning("The demo server thread did not stop within 10 s")
        self._thread = self._loop = None
        log.info("Stopped serving %s", self.root)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # The server thread ------------------------------------------------------------------

    def _serve(self, sock: socket.socket, started: concurrent.futures.Future[None]) -> None:
        # A plain selector loop, whatever the process's loop policy: under qasync.run()'s
        # policy new_event_loop() would build a Qt loop on this non-GUI thread.
        loop = asyncio.SelectorEventLoop()
        asyncio.set_event_loop(loop)
        try:
            runner = loop.run_until_complete(self._setup(sock))
        except BaseException as exc:  # noqa: BLE001 - reported to start(), which raises it
            sock.close()
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
            started.set_exception(exc)
            return
        self._loop = loop
        started.set_result(None)
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(runner.cleanup())
            finally:
                # aiohttp leaves a handler that outlived the grace period (a paced response
                # asleep in the bucket) pending; cancel it as asyncio.run() would.
                remaining = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in remaining:
                    task.cancel()
                if remaining:
                    loop.run_until_complete(asyncio.gather(*remaining, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
                asyncio.set_event_loop(None)
                loop.close()

    async def _setup(self, sock: socket.socket) -> web.AppRunner:
        from aiohttp import web

        if self.rate_bps is not None:
            self._bucket = _TokenBucket(self.rate_bps)
        app = web.Application()
        app.router.add_get("/{path:.*}", self._handle)
        runner = web.AppRunner(app, access_log=access_log,
                               shutdown_timeout=0.25)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        return runner

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        rel = request.match_info["path"]
        if rel == "":
            return web.Response(text=_INDEX, content_type="text/html")
        path = self._resolve(rel)
        if path is None:
            raise web.HTTPNotFound()
        if self._bucket is not None:
            return _paced_file_response(path, self._bucket)
        return web.FileResponse(path)

    def _resolve(self, rel: str) -> Path | None:
        """The file under the root that `rel` (already percent-decoded) names, or None."""
        parts = rel.split("/")
        if any(p in ("", ".", "..") or "\\" in p or "\0" in p or (os.name == "nt" and ":" in p) for p in parts):
            return None
        path = self.root.joinpath(*parts)
        try:
            # Symlinks may not lead out of the site.
            if not path.resolve().is_relative_to(self._root_resolved):
                return None
        except (OSError, RuntimeError):
            return None
        return path


_INDEX = """<!doctype html><meta charset="utf-8"><title>Software Center site</title>
<p>This is a Software Center site. Its catalog is <a href="catalog.json">catalog.json</a>.</p>
"""


def serve_forever(host: str = "127.0.0.1", port: int = 8080, rate_mbps: float | None = None,
                  data_dir: Path | None = None, *, stop: threading.Event | None = None) -> None:
    """`software-center demo-site`: build the demo site in `<data_dir>/demo-site` and serve it.

    Prints the URL on standard output and serves until Ctrl-C (or until `stop` is set,
    for tests). `rate_mbps` is in megabytes (10^6 bytes) per second. Raises OSError when
    the address cannot be bound, CatalogError if the bundled spec is broken.
    """
    if data_dir is None:
        from .options import default_data_dir

        data_dir = default_data_dir()
    out_dir = data_dir / "demo-site"
    print(f"Preparing the demo site in {out_dir} ...", file=sys.stderr, flush=True)
    console = logging.StreamHandler(sys.stderr)
    access_log.addHandler(console)
    access_log.setLevel(logging.INFO)
    root = build_demo_site(out_dir)
    server = DemoServer(root, host=host, port=port, rate_bps=rate_mbps * 1e6 if rate_mbps else None)
    url = server.start()
    try:
        org = json.loads((root / "catalog.json").read_bytes())["site"]["organization"]
        print(f"Demo site of {org}: {url}", flush=True)
        print(f"Catalog: {url}catalog.json", flush=True)
        if rate_mbps:
            print(f"Serving at most {rate_mbps:g} MB/s.", flush=True)
        print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
        # A short timed wait, not a bare wait(): Ctrl-C must interrupt it on Windows too.
        while not (stop is not None and stop.is_set()):
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr, flush=True)
    finally:
        server.stop()
        access_log.removeHandler(console)
