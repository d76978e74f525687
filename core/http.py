"""The process's one HTTP client: redirect policy, size limits, worker threads, redaction.

`HttpSession` owns the only `httpx.Client` of the process and the worker threads that
use it. Every request runs on a worker thread; the async methods only hand work over and
await it, so the caller's loop (plain asyncio, or a qasync Qt loop) never runs per-chunk
code, never creates the client (building the SSL context takes long enough to drop
frames) and never blocks on a socket.

Why a sync client on worker threads and not an `httpx.AsyncClient` on the caller's loop
(what was tried; `bench/download.py` measures the design against curl, and figures are
kept with its runs, not here, since they date with the machine):

  * an `httpx.AsyncClient` on the caller's loop (prototype, reading raw bytes, neither
    hashing nor writing) already spent far more CPU per byte than curl: the per-chunk
    path runs through anyio and the event loop, and on the window's loop it competes
    with painting;
  * an `httpx.Client` reading 64 KiB at a time and hashing and writing inline was slower
    still: one thread alternates between the socket and the disk, so neither is ever
    busy all the time.

What buys the speed: the sync client's per-chunk path is short (no anyio, no event loop);
httpcore's read size is raised from 64 KiB to 1 MiB (`_BULK_READ_BYTES`, a class
constant of httpcore's sync HTTP/1.1 connection) so there are far fewer chunks; the
reading thread hands ~1 MiB batches to a writer thread that hashes and writes while the
next bytes arrive, and asks the kernel to start writeback early where data is fsynced
(core/content/transfer.py); glibc is told to keep 1 MiB buffers in the heap
(`_tune_allocator`: otherwise each is mmap()ed and unmapped, and the page faults cost
more than the copy). Progress reaches the caller's loop coalesced, at most 10 times a
second, through `call_soon_threadsafe`; the caller's loop runs no per-chunk code at all.
Loopback transfer and SHA-256 themselves set the floor on CPU per byte; what is left
above it is the price of Python's per-chunk path.

Cancellation: the awaiting task is cancelled as usual; the worker is told through an
`Abort` token, which also shuts the streaming socket down so a blocked read returns at
once. While a worker may touch files (`Abort.file_phase()`) the cancelled coroutine waits
for it to stop, so a `.part` file is never written after `fetch` has returned.

Redirects are followed here, not by httpx: at most 5 hops, only to `https`, or to `http`
on the same host as the original request; a loop or a refused redirect is an error.
httpx never sees a redirect's Location: even with `follow_redirects=False` it builds the
next request from it, and a target such as `javascript:` or `http://[::1` makes it raise
`InvalidURL`, which is not an `httpx.HTTPError`. A response hook takes the header away
before httpx looks, and `stream()` resolves it itself: a target that is not a URL, has no
host or a port no server can have is a `RedirectError` like any refused redirect.

Small documents (`get_bytes`) have an overall deadline besides the per-read timeout, so a
server that trickles a byte every few seconds cannot hold the caller forever, and they
are asked for without content coding (`Accept-Encoding: identity`); a server that encodes
anyway is decoded here in bounded steps, never a whole received chunk at once.

Only `redact_url(url)` (no userinfo, query or fragment) may reach events and logs.

TLS: certificates are always verified, against the operating system's trust store
(`truststore`: the platform verifier on Windows and macOS, OpenSSL with the system CA
files on Linux), plus the CAs of `ca_bundle` when given (a private CA on top, never
instead). A certificate that does not verify is an `UntrustedCertificateError` that says
so in words.

Token: `authorize(origin, token)` makes every request to that one origin (scheme, host
and port) carry `Authorization: Bearer <token>`. It is decided per request and per
redirect hop (`_headers_for`), so a redirect to object storage or a CDN on another host,
another port or plain http never sees the token. The token is never logged: request
headers are not logged by httpx, and the log filter below also blanks the token's text
wherever a library log line might carry it. A 401 answer is a `SignInRequiredError`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import platform
import re
import socket
import ssl
import sys
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname

import httpx

from .cleanup import shielded
from .errors import (
    Aborted,
    RedirectError,
    SignInRequiredError,
    SiteUnreachableError,
    TooLargeError,
    UntrustedCertificateError,
    UnusableUrlError,
)
from .fsutil import read_regular_file

__all__ = [
    "DOCUMENT_DEADLINE_S",
    "Document",
    "Validators",
    "MAX_REDIRECTS",
    "Abort",
    "HttpSession",
    "describe_http_error",
    "origin_of",
    "redact_url",
    "redirect_refusal",
]

log = logging.getLogger("software_center.http")

MAX_REDIRECTS = 5
DOCUMENT_DEADLINE_S = 120.0  # a small document (catalog, signature) arrives within this, or not at all


@dataclass(frozen=True)
class Validators:
    """What a server said identifies a document's version (`ETag`, `Last-Modified`), sent
    back as `If-None-Match` / `If-Modified-Since` so an unchanged document costs a 304."""

    etag: str | None = None
    last_modified: str | None = None

    def conditional_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    @classmethod
    def of(cls, response: httpx.Response) -> Validators:
        etag = response.headers.get("etag", "").strip() or None
        modified = response.headers.get("last-modified", "").strip() or None
        return cls(etag, modified)


@dataclass(frozen=True)
class Document:
    """A small document as read: `body` None means the server answered 304 Not Modified
    to the validators it was asked with (the copy the caller holds is current)."""

    body: bytes | None
    validators: Validators = Validators()
WORKER_STOP_S = 30.0  # how long a cancel waits for a transfer thread to leave its file
MAX_CA_BUNDLE_BYTES = 16 * 1024 * 1024  # system bundles are a few hundred KiB
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----")
_DECODE_STEP = 256 * 1024  # inflate an encoded document at most this much at a time
_LOCATION = "software_center.location"  # where the response hook puts a redirect's Location
_BULK_READ_BYTES = 1024 * 1024
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})

T = TypeVar("T")


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("software-center")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0"


def __getattr__(name: str) -> str:
    # `USER_AGENT` is worked out on first use: reading the installed version loads
    # importlib.metadata and scans the installed packages, which a process that imports
    # this module but sends no request of its own (the window, a client of the agent)
    # should not pay for at start.
    if name == "USER_AGENT":
        value = f"SoftwareCenter/{_version()}"
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def redact_url(url: str | httpx.URL) -> str:
    """`url` without userinfo, query string and fragment: the only form logs and events see."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return "<invalid URL>"
    if not parts.scheme:
        return text.split("?", 1)[0].split("#", 1)[0]
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


_SECRET_PARTS = re.compile(r"\?[^\s'\"<>)\]]*|#[^\s'\"<>)\]]*|(?<=//)[^/\s'\"@]*@")
_TOKENS: set[str] = set()  # bearer tokens in use: blanked out of library log lines
_TOKENS_LOCK = threading.Lock()


class _RedactUrls(logging.Filter):
    """httpx logs each request's full URL and httpcore's debug traces log response headers
    (a redirect's Location may carry a token): strip query strings, fragments and userinfo."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem, not ours
            return True
        message = _SECRET_PARTS.sub("", message)
        with _TOKENS_LOCK:
            tokens = list(_TOKENS)
        for token in tokens:
            message = message.replace(token, "<token>")
        record.msg = message
        record.args = None
        return True


_REDACT_FILTER = _RedactUrls()
_LIBRARY_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


def _install_log_redaction() -> None:
    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACT_FILTER not in logger.filters:
            logger.addFilter(_REDACT_FILTER)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str | httpx.URL) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, default ports filled in; None for anything else."""
    try:
        u = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return None
    if u.scheme not in _DEFAULT_PORTS or not u.host:
        return None
    return (u.scheme, u.host.lower(), u.port or _DEFAULT_PORTS[u.scheme])


def _is_loopback(host: str) -> bool:
    return host == "localhost" or host.startswith("127.") or host in ("::1", "[::1]")


def redirect_refusal(original: httpx.URL, target: httpx.URL) -> str | None:
    """Why a redirect from a chain that began at `original` to `target` is refused, or None."""
    if target.scheme == "https":
        return None
    if target.scheme == "http" and target.host == original.host:
        return None
    return (
        f"redirect to {redact_url(target)} refused: only https, or http on the same host "
        f"as {original.host}, is followed"
    )


def _check_usable(url: httpx.URL) -> str | None:
    """Why httpx cannot or must not send a request to `url` (already parsed), or None."""
    if url.scheme not in _DEFAULT_PORTS:
        return f"unsupported URL scheme {url.scheme!r}"
    if not url.host:
        return "no host"
    if url.port is not None and not 0 < url.port <= 65535:
        return f"port {url.port} is out of range"
    return None


def _take_location(response: httpx.Response) -> None:
    """Response hook: hide a redirect's Location from httpx (see the module docstring)."""
    if response.status_code in _REDIRECT_CODES and "location" in response.headers:
        response.extensions[_LOCATION] = response.headers["location"]
        del response.headers["location"]


def is_digits(text: str) -> bool:
    """ASCII digits only (`str.isdigit()` also takes '²' and other scripts' digits)."""
    return text.isascii() and text.isdigit()


class Abort:
    """Tells a worker thread to stop; thread-safe. Set by the cancelled awaiting side.

    A worker checks `is_set()` between chunks, `register_closer()`s the socket it reads so
    a blocked read is woken, and wraps any work on files in `file_phase()`: `set()` reports
    whether such work was running, i.e. whether the awaiting side must wait for the worker.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._closers: list[Callable[[], None]] = []
        self._in_file_phase = 0

    def set(self) -> bool:
        """Stop the worker; True if it is in a file phase (wait for it to finish)."""
        with self._lock:
            self._event.set()
            closers, self._closers = self._closers, []
            busy = self._in_file_phase > 0
        for close in closers:
            try:
                close()
            except OSError:
                pass
        return busy

    def is_set(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Aborted()

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; True if aborted meanwhile."""
        return self._event.wait(timeout)

    @contextmanager
    def file_phase(self) -> Iterator[None]:
        """Mark work on files; raises Aborted instead of entering once set."""
        with self._lock:
            if self._event.is_set():
                raise Aborted()
            self._in_file_phase += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_file_phase -= 1

    @contextmanager
    def closing(self, close: Callable[[], None]) -> Iterator[None]:
        """Call `close` (from the aborting thread) if the abort comes while inside."""
        with self._lock:
            run_now = self._event.is_set()
            if not run_now:
                self._closers.append(close)
        if run_now:
            close()
        try:
            yield
        finally:
            with self._lock:
                if close in self._closers:
                    self._closers.remove(close)


def _response_socket(response: httpx.Response) -> socket.socket | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    sock = stream.get_extra_info("socket")
    return sock if isinstance(sock, socket.socket) else None


def _shutdown(sock: socket.socket) -> Callable[[], None]:
    def close() -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    return close


def lower_thread_priority() -> None:
    """Give the calling (transfer) thread a lower CPU priority than the window's thread.

    On 2 cores the reader and the hashing writer otherwise starve the UI thread during a
    bulk download: the window's timers fire late (bench/ui_responsiveness.py measures it);
    at nice 10 they keep time and the throughput does not change. Best effort; Linux only
    (other systems keep one priority per process).
    """
    if hasattr(os, "setpriority") and hasattr(threading, "get_native_id") and sys.platform == "linux":
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError:
            pass


def _patch_read_size() -> None:
    # httpcore reads 64 KiB per recv(); bulk downloads spend most of their CPU on the
    # per-chunk path, so read up to 1 MiB. A class constant: if it ever disappears we
    # only lose speed.
    try:
        from httpcore._sync.http11 import HTTP11Connection
    except ImportError:  # pragma: no cover - a future httpcore
        return
    if getattr(HTTP11Connection, "READ_NUM_BYTES", 0) < _BULK_READ_BYTES:
        HTTP11Connection.READ_NUM_BYTES = _BULK_READ_BYTES


def _tune_allocator() -> None:
    # Each 1 MiB read allocates (and the writer thread frees) a few 1 MiB buffers. With
    # glibc's defaults these are mmap()ed and unmapped one by one, and the worker threads'
    # arenas are trimmed after each: the page faults cost a large share of the CPU of a
    # download. Keep buffers up to 8 MiB in the heap and trim only past 32 MiB free.
    # glibc only; a no-op elsewhere.
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return
    import ctypes  # here, not at the top: only a process that downloads needs it

    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # pragma: no cover
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 8 * 1024 * 1024)
    mallopt(m_trim_threshold, 32 * 1024 * 1024)


class HttpSession:
    """The process's one HTTP client and its worker threads. Use as `async with` or aclose().

    `connect_timeout` / `read_timeout` are seconds (a read that stalls longer fails).
    `ca_bundle`: a PEM file of CAs to trust on top of the system's trust store.
    `transport`: tests only (httpx.MockTransport for protocol cases).
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        user_agent: str | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        transport: httpx.BaseTransport | None = None,
        max_workers: int = 8,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.user_agent: str = user_agent if user_agent is not None else __getattr__("USER_AGENT")
        self.ca_bundle = ca_bundle
        self._transport = transport
        self._max_workers = max_workers
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._closed = False
        self._token: str | None = None
        self._token_origin: tuple[str, str, int] | None = None

    # --- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> HttpSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client and stop the worker threads (running transfers are aborted)."""
        if self._closed:
            return
        self._closed = True
        executor, self._executor = self._executor, None
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        self.authorize(None, None)

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._closed:
            raise RuntimeError("HttpSession is closed")
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=self._max_workers, thread_name_prefix="sc-http", initializer=lower_thread_priority
            )
        return self._executor

    def client(self) -> httpx.Client:
        """The one client, created on first use (call from a worker thread)."""
        with self._client_lock:
            if self._closed:
                raise RuntimeError("HttpSession is closed")
            if self._client is None:
                _patch_read_size()
                _tune_allocator()
                _install_log_redaction()
                verify = self._ssl_context()
                timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
                self._client = httpx.Client(
                    timeout=timeout,
                    follow_redirects=False,
                    headers={"User-Agent": self.user_agent},
                    verify=verify,
                    transport=self._transport,
                    event_hooks={"response": [_take_location]},
                )
            return self._client

    def _ssl_context(self) -> ssl.SSLContext:
        """The system trust store, plus `ca_bundle`'s CAs. Raises SiteUnreachableError in words."""
        import truststore  # here, not at the top: only a process that reaches a site over TLS needs it

        ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.ca_bundle is not None:
            path = os.fspath(self.ca_bundle)
            try:
                # Read by us, not by OpenSSL: a FIFO or device named here must not block.
                data = read_regular_file(path, MAX_CA_BUNDLE_BYTES + 1)
                if len(data) > MAX_CA_BUNDLE_BYTES:
                    raise SiteUnreachableError(f"the CA bundle {path} is larger than 16 MiB")
                # Only the certificates: comments around them may be in any encoding.
                pem = "\n".join(m.decode("ascii") for m in _PEM_CERT.findall(data))
                if not pem:
                    raise ssl.SSLError("no certificate")
                ctx.load_verify_locations(cadata=pem)
            except FileNotFoundError:
                raise SiteUnreachableError(f"the CA bundle {path} does not exist") from None
            except ssl.SSLError:  # before OSError, its base class
                raise SiteUnreachableError(
                    f"the CA bundle {path} holds no usable certificate (expected PEM certificates)"
                ) from None
            except OSError as exc:
                raise SiteUnreachableError(f"cannot read the CA bundle {path}: {exc.strerror or exc}") from None
        return ctx

    def check_trust_settings(self) -> None:
        """Create the client now so a bad `ca_bundle` is reported before any transfer.

        Any thread; blocks for the SSL context set-up. Raises SiteUnreachableError.
        """
        self.client()

    def authorize(self, origin: str | None, token: str | None) -> None:
        """Send `Authorization: Bearer <token>` to `origin` (scheme, host, port) and nowhere else.

        None for either turns it off. Call before the requests that need it.
        """
        key = origin_of(origin) if origin and token else None
        with _TOKENS_LOCK:
            if self._token:
                _TOKENS.discard(self._token)
            self._token, self._token_origin = (token, key) if key else (None, None)
            if self._token:
                _TOKENS.add(self._token)
        if key and key[0] == "http" and not _is_loopback(key[1]):
            log.warning("The site is plain http: its token travels unencrypted; publish it over https")

    # --- running work on the worker threads -----------------------------------------

    async def run_blocking(self, fn: Callable[[Abort], T]) -> T:
        """Run `fn(abort)` on a worker thread and await its result.

        If the awaiting task is cancelled, `abort` is set; when the worker was in a file
        phase this waits (swallowing further cancels) until it has stopped, then re-raises
        CancelledError.
        """
        abort = Abort()
        cfut = self._pool().submit(fn, abort)
        afut = asyncio.wrap_future(cfut)
        try:
            return await asyncio.shield(afut)
        except asyncio.CancelledError:
            cfut.cancel()
            afut.add_done_callback(_retrieve)  # a late failure of a cancelled worker is not news
            # A worker still connecting or waiting for headers touches no file: it sees
            # the abort when the answer comes and drops it. One in a file phase is
            # waited for, so no .part is written after we return.
            if abort.set():
                try:
                    await shielded(asyncio.wait_for(asyncio.shield(afut), WORKER_STOP_S))
                except TimeoutError:
                    log.warning("A cancelled transfer did not stop within %.0f s", WORKER_STOP_S)
                except (asyncio.CancelledError, Exception):  # the cancel is re-raised below; a late failure is not news
                    pass
            raise

    # --- requests (worker threads) ---------------------------------------------------

    def _headers_for(self, url: httpx.URL) -> dict[str, str]:
        """Per-request headers for `url` (each redirect hop): the token, for its one origin only."""
        token, origin = self._token, self._token_origin
        if token is not None and origin is not None and origin_of(url) == origin:
            return {"Authorization": f"Bearer {token}"}
        return {}

    @contextmanager
    def stream(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        abort: Abort | None = None,
        timeout: float | None = None,
    ) -> Iterator[httpx.Response]:
        """GET `url` following redirects by policy; yields the final response, unread.

        Worker threads only. Raises UnusableUrlError (RedirectError for a redirect),
        httpx.HTTPError, Aborted. While the body is read, `abort` shuts the socket down.
        """
        client = self.client()
        try:
            original = httpx.URL(url)
            why = _check_usable(original)
        except (httpx.InvalidURL, ValueError) as exc:  # ValueError: also an IDNA host that does not decode
            raise UnusableUrlError(f"{redact_url(url)}: not a usable URL ({exc})") from None
        if why is not None:
            raise UnusableUrlError(f"{redact_url(original)}: not a usable URL ({why})")
        current = original
        seen = {str(current)}
        request_timeout: Any = httpx.USE_CLIENT_DEFAULT if timeout is None else timeout
        for hop in range(MAX_REDIRECTS + 1):
            if abort is not None:
                abort.check()
            hop_headers = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
            request = client.build_request(
                "GET",
                current,
                headers={**hop_headers, **self._headers_for(current)},
                timeout=request_timeout,
            )
            response = client.send(request, stream=True, follow_redirects=False)
            location = response.extensions.get(_LOCATION)
            if isinstance(location, str):
                response.close()
                try:
                    target = current.join(location)
                    refusal = redirect_refusal(original, target)
                    why = _check_usable(target)
                except (httpx.InvalidURL, ValueError):  # ValueError: also an IDNA host that does not decode
                    raise RedirectError(f"{redact_url(current)}: redirect to an invalid address refused") from None
                if refusal is not None:
                    raise RedirectError(refusal)
                if why is not None:
                    raise RedirectError(f"{redact_url(current)}: redirect to an unusable address refused ({why})")
                if str(target) in seen:
                    raise RedirectError(f"redirect loop at {redact_url(target)}")
                if hop == MAX_REDIRECTS:
                    raise RedirectError(
                        f"more than {MAX_REDIRECTS} redirects from {redact_url(original)}"
                    )
                log.info("Redirected from %s to %s", redact_url(current), redact_url(target))
                seen.add(str(target))
                current = target
                continue
            try:
                sock = _response_socket(response)
                if abort is not None and sock is not None:
                    with abort.closing(_shutdown(sock)):
                        yield response
                else:
                    yield response
            finally:
                response.close()
            return
        raise AssertionError("unreachable")  # pragma: no cover

    # --- small documents -------------------------------------------------------------

    async def get_bytes(
        self, url: str, *, max_bytes: int, what: str = "catalog", timeout: float | None = None,
        deadline_s: float | None = DOCUMENT_DEADLINE_S,
    ) -> bytes:
        """The whole body of `url` (http/https, file:// or a local path), at most `max_bytes`.

        `timeout` bounds each read; `deadline_s` (None: none) the whole request, redirects
        included. Raises TooLargeError ("<what> is larger than N MiB") as soon as more
        arrives, and SiteUnreachableError (status code and host, never the query string)
        for network, HTTP and local read failures and a missed deadline:
        UntrustedCertificateError when the server's certificate does not verify,
        SignInRequiredError for a 401.
        """
        doc = await self._get(url, max_bytes, what, timeout, deadline_s, missing_ok=False, since=None)
        assert doc is not None and doc.body is not None
        return doc.body

    async def get_document(
        self, url: str, *, max_bytes: int, what: str = "catalog", since: Validators | None = None,
        deadline_s: float | None = DOCUMENT_DEADLINE_S,
    ) -> Document:
        """As `get_bytes`, with the server's validators; asked with `since` (the validators
        of the copy the caller holds), an unchanged document comes back as `body` None
        (HTTP 304). A local file has no validators and is always read."""
        doc = await self._get(url, max_bytes, what, None, deadline_s, missing_ok=False, since=since)
        assert doc is not None
        return doc

    async def get_optional_bytes(
        self, url: str, *, max_bytes: int, what: str, timeout: float | None = None,
        deadline_s: float | None = DOCUMENT_DEADLINE_S,
    ) -> bytes | None:
        """As `get_bytes`, but None when the document does not exist (HTTP 404/410, no file)."""
        doc = await self._get(url, max_bytes, what, timeout, deadline_s, missing_ok=True, since=None)
        return None if doc is None else doc.body

    async def _get(
        self, url: str, max_bytes: int, what: str, timeout: float | None, deadline_s: float | None,
        *, missing_ok: bool, since: Validators | None,
    ) -> Document | None:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https"):
            # Cancelling the worker at the deadline shuts its socket down (see Abort).
            deadline = asyncio.timeout(deadline_s)
            try:
                async with deadline:
                    return await self.run_blocking(
                        lambda abort: self._get_bytes_http(url, max_bytes, what, timeout, abort, missing_ok, since)
                    )
            except TimeoutError:
                if not deadline.expired():
                    raise
                raise SiteUnreachableError(
                    f"{redact_url(url)}: the site is too slow: the {what} did not arrive within {deadline_s:g} s"
                ) from None
        if parts.scheme == "file":
            path = Path(url2pathname(parts.path))
        elif parts.scheme and len(parts.scheme) > 1:
            raise SiteUnreachableError(f"{redact_url(url)}: unsupported URL scheme {parts.scheme!r}")
        else:
            path = Path(url)
        body = await self.run_blocking(lambda abort: _read_local(path, max_bytes, what, missing_ok))
        return None if body is None else Document(body)

    def _get_bytes_http(
        self, url: str, max_bytes: int, what: str, timeout: float | None, abort: Abort,
        missing_ok: bool = False, since: Validators | None = None,
    ) -> Document | None:
        where = redact_url(url)
        headers = {"Accept-Encoding": "identity", **(since.conditional_headers() if since else {})}
        try:
            with self.stream(url, headers=headers, abort=abort, timeout=timeout) as response:
                if missing_ok and response.status_code in (404, 410):
                    return None
                if response.status_code == 304 and since is not None and since.conditional_headers():
                    return Document(None, since)
                if response.status_code == 401:
                    raise SignInRequiredError(
                        f"{where}: sign-in required (HTTP 401): "
                        + ("the site refused the token" if self._token_for(response.url)
                           else "the site needs a token (SOFTWARE_CENTER_TOKEN or the token option)")
                    )
                if response.status_code != 200:
                    raise SiteUnreachableError(
                        f"{where}: HTTP {response.status_code} {response.reason_phrase}".rstrip()
                    )
                coding = response.headers.get("content-encoding", "identity").strip().lower()
                if coding not in ("", "identity", "gzip", "x-gzip", "deflate"):
                    raise SiteUnreachableError(
                        f"{where}: the server sent the {what} in a coding this client does not read "
                        f"(Content-Encoding: {coding}); serve it as is"
                    )
                declared = response.headers.get("content-length")
                if coding in ("", "identity") and declared is not None and is_digits(declared) \
                        and int(declared) > max_bytes:
                    raise TooLargeError(what, max_bytes)
                # Undecoded chunks: a server that encodes although asked not to is inflated
                # here, a bounded step at a time.
                validators = Validators.of(response)
                if response.is_stream_consumed:  # a transport that answered from memory (tests)
                    body = _BoundedBody(max_bytes, what, encoded=False)
                    body.feed(response.content)
                    return Document(body.finish(), validators)
                body = _BoundedBody(max_bytes, what, encoded=coding not in ("", "identity"))
                for chunk in response.iter_raw():
                    abort.check()
                    body.feed(chunk)
                return Document(body.finish(), validators)
        except zlib.error as exc:
            raise SiteUnreachableError(f"{where}: the server's encoded {what} is damaged ({exc})") from None
        except UnusableUrlError as exc:
            unreachable = SiteUnreachableError(f"{where}: {exc}")
            unreachable.code = exc.code  # unusable_url or redirect_refused, as it was
            raise unreachable from exc
        except httpx.HTTPError as exc:
            if abort.is_set():
                raise Aborted() from exc
            if _certificate_problem(exc) is not None:
                raise UntrustedCertificateError(f"{where}: {describe_http_error(exc)}") from exc
            raise SiteUnreachableError(f"{where}: {describe_http_error(exc)}") from exc

    def _token_for(self, url: httpx.URL) -> bool:
        return bool(self._headers_for(url))

    async def probe(self, url: str, *, timeout: float) -> bool:
        """Whether `url` answers at all (any HTTP status) within `timeout` seconds; never raises."""

        def run(abort: Abort) -> bool:
            client = self.client()
            target = httpx.URL(url)
            request = client.build_request("GET", target, headers=self._headers_for(target), timeout=timeout)
            response = client.send(request, stream=True, follow_redirects=False)
            response.close()
            return True

        try:
            return await self.run_blocking(run)
        except (httpx.HTTPError, httpx.InvalidURL, SiteUnreachableError, ValueError, OverflowError) as exc:
            log.info("Probe %s: no answer (%s)", redact_url(url), describe_http_error(exc))
            return False


class _BoundedBody:
    """A document's body, inflated (gzip or zlib framing) in steps that never make more
    than `max_bytes` plus one step of output, whatever a chunk inflates to."""

    def __init__(self, max_bytes: int, what: str, encoded: bool) -> None:
        self.max_bytes = max_bytes
        self.what = what
        self.data = bytearray()
        self._inflater = zlib.decompressobj(32 + zlib.MAX_WBITS) if encoded else None

    def _add(self, piece: bytes) -> None:
        self.data += piece
        if len(self.data) > self.max_bytes:
            raise TooLargeError(self.what, self.max_bytes)

    def feed(self, chunk: bytes) -> None:
        inflater = self._inflater
        if inflater is None:
            self._add(chunk)
            return
        pending = chunk
        while pending and not inflater.eof:
            self._add(inflater.decompress(pending, _DECODE_STEP))
            pending = inflater.unconsumed_tail

    def finish(self) -> bytes:
        inflater = self._inflater
        if inflater is not None:
            while not inflater.eof:
                piece = inflater.decompress(inflater.unconsumed_tail, _DECODE_STEP)
                if not piece:
                    raise zlib.error("the data ended early")
                self._add(piece)
        return bytes(self.data)


def _certificate_problem(exc: BaseException) -> str | None:
    """The verifier's reason when `exc` was caused by a certificate that did not verify."""
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 10:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause.verify_message or cause.reason or "certificate verify failed"
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return None


def _tls_problem(exc: BaseException) -> str | None:
    """The reason of a TLS failure (not a certificate one) under `exc`, or None."""
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 10:
        if isinstance(cause, ssl.SSLError):
            return cause.reason or type(cause).__name__
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return None


def describe_http_error(exc: BaseException) -> str:
    """A short, URL-free description of a transport failure for logs and messages."""
    if (why := _certificate_problem(exc)) is not None:
        return (
            f"the server's certificate is not trusted ({why}); if the site uses a private CA, "
            "give its certificate with --ca-bundle or the ca_bundle option"
        )
    if (why := _tls_problem(exc)) is not None:
        return f"the TLS handshake failed ({why})"
    kind = {
        httpx.ConnectTimeout: "connection timed out",
        httpx.ReadTimeout: "no data received within the read timeout",
        httpx.WriteTimeout: "sending timed out",
        httpx.PoolTimeout: "no free connection",
        httpx.ConnectError: "cannot connect",
        httpx.RemoteProtocolError: "the server closed the connection or broke the protocol",
        httpx.ReadError: "connection lost while receiving",
        httpx.WriteError: "connection lost while sending",
        httpx.UnsupportedProtocol: "unsupported URL",
        httpx.InvalidURL: "invalid URL",
    }
    for cls, words in kind.items():
        if isinstance(exc, cls):
            detail = str(exc)
            if detail and "://" not in detail and len(detail) < 200:
                return f"{words} ({detail})"
            return words
    return type(exc).__name__


def _read_local(path: Path, max_bytes: int, what: str, missing_ok: bool = False) -> bytes | None:
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError as exc:
        if missing_ok:
            return None
        raise SiteUnreachableError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except OSError as exc:
        raise SiteUnreachableError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise TooLargeError(what, max_bytes)
    return data


def _retrieve(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()
