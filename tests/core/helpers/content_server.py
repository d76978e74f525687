"""A real HTTP server on loopback that serves a folder and injects faults per path.

It runs aiohttp on its own event loop in a background thread, so plain-asyncio tests,
Qt tests and subprocesses can all talk to it. Range and If-Range are implemented here
(not by `web.FileResponse`) so that every body byte written can be counted and any byte
of any response can be cut, stalled, corrupted or throttled.

    with ContentServer(root) as server:
        server.add_fault("pkg/a.bin", Fault(cut_after=1000))      # next request only
        server.add_fault("pkg/b.bin", Fault(status=403, times=None))  # every request
        ... server.url + "pkg/a.bin" ...
        server.bytes_sent("pkg/a.bin")

Validators: `ETag` is `"<size hex>-<mtime_ns hex>"` and `Last-Modified` the file's mtime,
so rewriting a file between two requests makes `If-Range` fail, as with nginx. A GET
with `If-None-Match` / `If-Modified-Since` of an unchanged file is answered 304.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any

from aiohttp import web

__all__ = ["ContentServer", "Fault", "RequestRecord"]


@dataclass
class Fault:
    """What to do wrong for the next `times` requests of one path (None: every request)."""

    status: int | None = None  # answer this status with an empty body
    retry_after: str | None = None  # with `status`: a Retry-After header
    location: str | None = None  # with `status` 3xx: the Location header
    close_before_headers: bool = False  # drop the connection without answering
    cut_after: int | None = None  # close the connection after this many body bytes
    stall_after: int | None = None  # stop sending after this many body bytes ...
    stall_s: float = 0.0  # ... for this long, then close the connection
    corrupt_at: int | None = None  # flip the byte at this file offset
    ignore_range: bool = False  # answer 200 with the whole file even to a Range request
    body: bytes | None = None  # serve these bytes instead of the file (Range still honoured)
    chunked: bool = False  # no Content-Length, chunked transfer encoding
    headers: dict[str, str] | None = None  # extra response headers (replace the usual ones)
    byte_every_s: float | None = None  # trickle: one body byte, then this long, and again
    times: int | None = 1


@dataclass
class RequestRecord:
    """One request as the server saw it."""

    path: str
    range: str | None
    if_range: str | None
    status: int
    sent: int = 0  # body bytes written to the socket for this request
    headers: dict[str, str] = field(default_factory=dict)


class ContentServer:
    """Serves `root` at `self.url` (http://127.0.0.1:PORT/) from a background thread."""

    def __init__(
        self,
        root: Path,
        *,
        rate_bps: float | None = None,
        validators: bool = True,
        chunk_size: int = 64 * 1024,
    ) -> None:
        self.root = Path(root)
        self.rate_bps = rate_bps  # throttle every body to about this many bytes/s
        self.validators = validators  # send ETag and Last-Modified
        self.chunk_size = chunk_size
        self.requests: list[RequestRecord] = []
        self._faults: dict[str, list[Fault]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- control (any thread) ------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def add_fault(self, path: str, fault: Fault) -> None:
        with self._lock:
            self._faults.setdefault(path.lstrip("/"), []).append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def bytes_sent(self, path: str | None = None) -> int:
        """Body bytes written for `path` (every path if None), over every request so far."""
        with self._lock:
            return sum(r.sent for r in self.requests if path is None or r.path == path.lstrip("/"))

    def requests_for(self, path: str) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.requests if r.path == path.lstrip("/")]

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(path, [])
            while queue:
                fault = queue[0]
                if fault.times is None:
                    return fault
                if fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        queue.pop(0)
                    return fault
                queue.pop(0)
            return None

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> ContentServer:
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._start())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="content-server", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> ContentServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._handle)
        # No handler cancellation, no lingering: a cut is a cut.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        sockets: Any = server.sockets  # type: ignore[attr-defined]
        self.port = sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- serving -------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        record = RequestRecord(
            path=path,
            range=request.headers.get("Range"),
            if_range=request.headers.get("If-Range"),
            status=0,
            headers=dict(request.headers),
        )
        with self._lock:
            self.requests.append(record)
        fault = self._take_fault(path) or Fault(times=None)

        if fault.close_before_headers:
            record.status = -1
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError  # aiohttp drops the request quietly
        if fault.status is not None:
            record.status = fault.status
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            if fault.location is not None:
                headers["Location"] = fault.location
            headers.update(fault.headers or {})
            return web.Response(status=fault.status, headers=headers)

        target = (self.root / path).resolve()
        if self.root.resolve() not in target.parents or not target.is_file():
            record.status = 404
            return web.Response(status=404)
        st = target.stat()
        if fault.body is not None:
            size = len(fault.body)
        else:
            size = st.st_size
        etag = f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
        last_modified = formatdate(st.st_mtime, usegmt=True)

        if self.validators and fault.body is None and not request.headers.get("Range"):
            # A conditional GET of an unchanged file: 304 and no body (nginx's rules: the
            # ETag against If-None-Match, else the exact date against If-Modified-Since).
            none_match = request.headers.get("If-None-Match")
            if (etag in [t.strip() for t in none_match.split(",")] if none_match is not None
                    else request.headers.get("If-Modified-Since") == last_modified):
                record.status = 304
                return web.Response(status=304, headers={"ETag": etag, "Last-Modified": last_modified})

        start, end = 0, size - 1
        status = 200
        rng = request.headers.get("Range")
        if rng and not fault.ignore_range and rng.startswith("bytes="):
            if_range = request.headers.get("If-Range")
            if if_range is None or if_range in (etag, last_modified):
                first, _, last = rng[len("bytes=") :].partition("-")
                start = int(first)
                end = int(last) if last else size - 1
                end = min(end, size - 1)
                if start >= size:
                    record.status = 416
                    return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
                status = 206

        resp = web.StreamResponse(status=status)
        resp.headers["Accept-Ranges"] = "bytes"
        if self.validators:
            resp.headers["ETag"] = etag
            resp.headers["Last-Modified"] = last_modified
        if status == 206:
            resp.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        for name, value in (fault.headers or {}).items():
            resp.headers[name] = value
        if fault.chunked:
            resp.enable_chunked_encoding()
        else:
            resp.content_length = end - start + 1
        record.status = status
        await resp.prepare(request)

        loop = asyncio.get_running_loop()
        began = loop.time()
        sent = 0
        pos = start
        with _reader(target, fault.body) as read:
            while pos <= end:
                n = min(self.chunk_size, end - pos + 1)
                if fault.byte_every_s is not None:
                    n = 1
                    if pos > start:
                        await asyncio.sleep(fault.byte_every_s)
                limit = None
                if fault.cut_after is not None:
                    limit = fault.cut_after
                if fault.stall_after is not None:
                    limit = fault.stall_after if limit is None else min(limit, fault.stall_after)
                if limit is not None:
                    n = min(n, limit - sent)
                if n > 0:
                    chunk = bytearray(read(pos, n))
                    if fault.corrupt_at is not None and pos <= fault.corrupt_at < pos + n:
                        chunk[fault.corrupt_at - pos] ^= 0xFF
                    try:
                        await resp.write(bytes(chunk))
                    except (ConnectionError, RuntimeError):
                        return resp  # the client went away
                    sent += n
                    record.sent += n
                    pos += n
                if fault.stall_after is not None and sent >= fault.stall_after:
                    await asyncio.sleep(fault.stall_s)
                    assert request.transport is not None
                    request.transport.abort()
                    raise asyncio.CancelledError
                if fault.cut_after is not None and sent >= fault.cut_after:
                    assert request.transport is not None
                    request.transport.close()  # orderly close: what was sent arrives
                    raise asyncio.CancelledError
                if self.rate_bps:
                    ahead = sent / self.rate_bps - (loop.time() - began)
                    if ahead > 0:
                        await asyncio.sleep(ahead)
        await resp.write_eof()
        return resp


@contextmanager
def _reader(path: Path, body: bytes | None) -> Iterator[Any]:
    """`read(pos, n)` over the file (or over `body` when a fault replaces the content)."""
    if body is not None:
        yield lambda pos, n: body[pos : pos + n]
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        yield lambda pos, n: os.pread(fd, n, pos)
    finally:
        os.close(fd)
