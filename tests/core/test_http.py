"""core.http: the one HTTP session — small documents, size limits, redirects, redaction."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest

from core.errors import CatalogError, ErrorCode, SiteUnreachableError, TooLargeError
from core.http import USER_AGENT, HttpSession, redact_url
from tests.core.helpers.content_server import ContentServer, Fault

pytestmark = pytest.mark.usefixtures("fail_on_loop_errors")


# --- redaction ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_redact_url_removes_userinfo_query_and_fragment() -> None:
    assert redact_url("https://user:pw@cdn.example:8443/a/b%20c/x.bin?sig=SECRET&x=1#frag") == (
        "https://cdn.example:8443/a/b%20c/x.bin"
    )
    assert redact_url("http://host/plain/") == "http://host/plain/"
    assert redact_url(httpx.URL("https://h/p?token=T")) == "https://h/p"
    assert redact_url("relative/path?x=1") == "relative/path"
    assert redact_url("/local/catalog.json") == "/local/catalog.json"


# --- get_bytes over HTTP -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_bytes_reads_a_document_with_our_user_agent(
    content_server: ContentServer, content_root: Path, session: HttpSession
) -> None:
    (content_root / "catalog.json").write_bytes(b'{"format": 1}')
    data = await session.get_bytes(content_server.url + "catalog.json?v=1", max_bytes=1024)
    assert data == b'{"format": 1}'
    assert content_server.requests[0].headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("SoftwareCenter/")


@pytest.mark.asyncio
async def test_get_bytes_reuses_one_client(
    content_server: ContentServer, content_root: Path, session: HttpSession
) -> None:
    (content_root / "c.json").write_bytes(b"{}")
    await session.get_bytes(content_server.url + "c.json", max_bytes=10)
    first = session.client()
    await session.get_bytes(content_server.url + "c.json", max_bytes=10)
    assert session.client() is first


@pytest.mark.asyncio
async def test_get_bytes_http_error_names_status_and_host_not_query(
    content_server: ContentServer, session: HttpSession
) -> None:
    with pytest.raises(SiteUnreachableError) as err:
        await session.get_bytes(content_server.url + "missing.json?token=SECRET", max_bytes=1024)
    text = str(err.value)
    assert "404" in text and "127.0.0.1" in text
    assert "SECRET" not in text and "token" not in text


@pytest.mark.asyncio
async def test_get_bytes_stops_reading_past_the_limit(
    content_server: ContentServer, content_root: Path, session: HttpSession
) -> None:
    (content_root / "big.json").write_bytes(b"x" * 300_000)
    # Declared too large: refused from the header.
    with pytest.raises(TooLargeError) as err:
        await session.get_bytes(content_server.url + "big.json", max_bytes=100_000)
    assert str(err.value) == "catalog is larger than 100000 bytes"
    assert isinstance(err.value, CatalogError)
    # Not declared (chunked): refused while streaming, before the whole body is read.
    content_server.add_fault("big.json", Fault(chunked=True))
    with pytest.raises(TooLargeError):
        await session.get_bytes(content_server.url + "big.json", max_bytes=64 * 1024, what="signature")
    # Exactly at the limit is fine.
    assert len(await session.get_bytes(content_server.url + "big.json", max_bytes=300_000)) == 300_000


@pytest.mark.asyncio
async def test_get_bytes_limit_message_in_mib(tmp_path: Path, session: HttpSession) -> None:
    path = tmp_path / "catalog.json"
    path.write_bytes(b"x" * (1024 * 1024 + 1))
    with pytest.raises(TooLargeError, match=r"^catalog is larger than 1 MiB$"):
        await session.get_bytes(str(path), max_bytes=1024 * 1024)


@pytest.mark.asyncio
async def test_get_bytes_connection_refused_is_unreachable(session: HttpSession) -> None:
    with pytest.raises(SiteUnreachableError, match="cannot connect"):
        await session.get_bytes("http://127.0.0.1:9/catalog.json?k=SECRET", max_bytes=1024)


@pytest.mark.asyncio
async def test_get_bytes_server_closing_before_headers(
    content_server: ContentServer, content_root: Path, session: HttpSession
) -> None:
    (content_root / "c.json").write_bytes(b"{}")
    content_server.add_fault("c.json", Fault(close_before_headers=True))
    with pytest.raises(SiteUnreachableError, match="closed the connection"):
        await session.get_bytes(content_server.url + "c.json", max_bytes=1024)


# --- get_bytes from local files ------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_bytes_reads_local_paths_and_file_urls(tmp_path: Path, session: HttpSession) -> None:
    path = tmp_path / "dir with space" / "catalog.json"
    path.parent.mkdir()
    path.write_bytes(b"{}")
    assert await session.get_bytes(str(path), max_bytes=10) == b"{}"
    assert await session.get_bytes(path.as_uri(), max_bytes=10) == b"{}"
    with pytest.raises(SiteUnreachableError, match="cannot read"):
        await session.get_bytes(str(tmp_path / "nope.json"), max_bytes=10)
    with pytest.raises(SiteUnreachableError, match="unsupported URL scheme"):
        await session.get_bytes("ftp://host/catalog.json", max_bytes=10)


# --- redirects (narrow protocol cases: MockTransport) ----------------------------------------


def _redirecting(routes: dict[str, str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        key = str(request.url)
        if key in routes:
            return httpx.Response(302, headers={"Location": routes[key]})
        return httpx.Response(200, content=b"payload:" + key.encode())

    return httpx.MockTransport(handler)


@pytest.mark.asyncio
async def test_redirects_to_https_and_same_host_http_are_followed() -> None:
    routes = {
        "http://site.example/a": "/b",  # same host, http
        "http://site.example/b": "https://cdn.example/c?sig=1",  # to https elsewhere
    }
    async with HttpSession(transport=_redirecting(routes)) as s:
        assert await s.get_bytes("http://site.example/a", max_bytes=100) == b"payload:https://cdn.example/c?sig=1"


@pytest.mark.asyncio
async def test_redirect_to_http_on_another_host_is_refused() -> None:
    routes = {"https://site.example/a": "http://evil.example/a"}
    async with HttpSession(transport=_redirecting(routes)) as s:
        with pytest.raises(SiteUnreachableError, match="redirect to http://evil.example/a refused"):
            await s.get_bytes("https://site.example/a", max_bytes=100)


@pytest.mark.asyncio
async def test_redirect_loop_is_an_error() -> None:
    routes = {"https://a.example/1": "https://a.example/2", "https://a.example/2": "https://a.example/1"}
    async with HttpSession(transport=_redirecting(routes)) as s:
        with pytest.raises(SiteUnreachableError, match="redirect loop"):
            await s.get_bytes("https://a.example/1", max_bytes=100)


@pytest.mark.asyncio
async def test_at_most_five_redirect_hops() -> None:
    five = {f"https://h.example/{i}": f"https://h.example/{i + 1}" for i in range(5)}
    async with HttpSession(transport=_redirecting(five)) as s:
        assert await s.get_bytes("https://h.example/0", max_bytes=100) == b"payload:https://h.example/5"
    six = {f"https://h.example/{i}": f"https://h.example/{i + 1}" for i in range(6)}
    async with HttpSession(transport=_redirecting(six)) as s:
        with pytest.raises(SiteUnreachableError, match="more than 5 redirects"):
            await s.get_bytes("https://h.example/0", max_bytes=100)


@pytest.mark.asyncio
async def test_httpx_request_log_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    routes = {"https://site.example/a?token=SECRET": "https://cdn.example/b?sig=SECRET2"}
    caplog.set_level(logging.DEBUG)
    async with HttpSession(transport=_redirecting(routes)) as s:
        await s.get_bytes("https://site.example/a?token=SECRET", max_bytes=100)
    assert caplog.records, "expected log lines"
    assert "SECRET" not in caplog.text
    assert "https://cdn.example/b" in caplog.text


# --- cancellation -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_cancel_while_waiting_for_a_stalled_server_is_prompt(
    content_server: ContentServer, content_root: Path
) -> None:
    (content_root / "c.json").write_bytes(b"x" * 100_000)
    content_server.add_fault("c.json", Fault(stall_after=10, stall_s=5))
    async with HttpSession(read_timeout=30) as s:
        task = asyncio.create_task(s.get_bytes(content_server.url + "c.json", max_bytes=200_000))
        await asyncio.sleep(0.3)
        loop = asyncio.get_running_loop()
        began = loop.time()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert loop.time() - began < 1.0


@pytest.mark.asyncio
async def test_closed_session_refuses_work() -> None:
    s = HttpSession()
    await s.aclose()
    await s.aclose()  # idempotent
    with pytest.raises(RuntimeError):
        await s.get_bytes("http://127.0.0.1:9/x", max_bytes=1)


# --- hostile answers to small-document requests ---------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "target", ["javascript:alert(1)", "mailto:a@example.com", "http://[::1", "http://127.0.0.1:99999/c.json"]
)
async def test_get_bytes_redirect_to_an_unusable_target_is_unreachable_in_words(
    content_server: ContentServer, session: HttpSession, target: str
) -> None:
    content_server.add_fault("c.json", Fault(status=302, location=target))
    with pytest.raises(SiteUnreachableError, match="redirect") as err:
        await session.get_bytes(content_server.url + "c.json", max_bytes=1024)
    assert "127.0.0.1" in str(err.value)
    assert err.value.code is ErrorCode.REDIRECT_REFUSED  # the reason survives the wrapping


@pytest.mark.asyncio
async def test_probe_counts_a_redirect_to_an_unusable_target_as_an_answer(
    content_server: ContentServer, session: HttpSession
) -> None:
    content_server.add_fault("probe", Fault(status=302, location="javascript:alert(1)"))
    assert await session.probe(content_server.url + "probe", timeout=2.0)


@pytest.mark.asyncio
async def test_a_document_trickling_in_ends_at_the_deadline_in_words(
    content_server: ContentServer, content_root: Path, session: HttpSession
) -> None:
    (content_root / "catalog.json").write_bytes(b"{" + b" " * 1000 + b"}")
    # One byte every 0.2 s: far below the read timeout, so only an overall deadline ends it.
    content_server.add_fault("catalog.json", Fault(byte_every_s=0.2, times=None))
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(SiteUnreachableError) as err:
        await session.get_bytes(content_server.url + "catalog.json", max_bytes=1 << 20, deadline_s=1.5)
    assert loop.time() - began < 5
    assert str(err.value) == (
        f"{content_server.url}catalog.json: the site is too slow: the catalog did not arrive within 1.5 s"
    )
    with pytest.raises(SiteUnreachableError, match="the signature did not arrive within 1 s"):
        await session.get_optional_bytes(
            content_server.url + "catalog.json", max_bytes=1 << 20, what="signature", deadline_s=1
        )


@pytest.mark.asyncio
async def test_a_gzip_bomb_is_never_inflated_past_the_limit(
    content_server: ContentServer, content_root: Path, session: HttpSession
) -> None:
    import tracemalloc
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    zeros = b"\0" * (1 << 20)
    bomb = b"".join(packer.compress(zeros) for _ in range(512)) + packer.flush()  # 512 MiB inflated
    (content_root / "catalog.json").write_bytes(b"{}")
    content_server.add_fault(
        "catalog.json", Fault(body=bomb, headers={"Content-Encoding": "gzip"}, times=None)
    )
    tracemalloc.start()
    try:
        with pytest.raises(TooLargeError):
            await session.get_bytes(content_server.url + "catalog.json", max_bytes=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 24 << 20, f"peak {peak / 2**20:.0f} MiB"
    assert content_server.requests_for("catalog.json")[0].headers.get("Accept-Encoding") == "identity"

    # A small gzip-encoded document (a server that encodes anyway) still reads correctly.
    doc = b'{"a": "' + b"x" * 5000 + b'"}'
    content_server.clear_faults()
    content_server.add_fault("catalog.json", Fault(body=_gzip(doc), headers={"Content-Encoding": "gzip"}))
    assert await session.get_bytes(content_server.url + "catalog.json", max_bytes=1 << 20) == doc
    content_server.add_fault("catalog.json", Fault(body=b"xyz", headers={"Content-Encoding": "br"}))
    with pytest.raises(SiteUnreachableError, match="Content-Encoding"):
        await session.get_bytes(content_server.url + "catalog.json", max_bytes=1 << 20)


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)


@pytest.mark.asyncio
async def test_a_catalog_trickling_in_ends_opening_the_site_at_its_deadline(
    content_server: ContentServer, content_root: Path, tmp_path: Path
) -> None:
    from core.center import SoftwareCenter

    (content_root / "catalog.json").write_bytes(b"{" + b" " * 1000 + b"}")
    content_server.add_fault("catalog.json", Fault(byte_every_s=0.2, times=None))
    center = SoftwareCenter(tmp_path / "data", site=content_server.url, fetch_deadline_s=1.0)
    try:
        with pytest.raises(SiteUnreachableError, match=r"too slow: the catalog did not arrive within 1 s$"):
            await asyncio.wait_for(center.open(), 10)
    finally:
        await center.aclose()
