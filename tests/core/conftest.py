"""Fixtures for engine tests: a fault-injecting loopback content server, packages built from
real files, an HTTP session with short timeouts, and a check that nothing escapes into the
event loop.

    async def test_x(content_server, make_package, session, cache_dir): ...

`make_package({"a.bin": data})` writes the files under the server root at
`content/<ID>.<version>/` and returns `(package_id, package)` whose single cloud location
is that folder, relative to the catalog URL `content_server.url + "catalog.json"`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from core.catalog import Location, Package, PackageFile
from core.events import Event
from core.http import HttpSession
from tests.core.helpers.content_server import ContentServer


@pytest.fixture
def content_root(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    return root


@pytest.fixture
def content_server(content_root: Path) -> Iterator[ContentServer]:
    """A real aiohttp server on 127.0.0.1 serving `content_root`, faults per path."""
    with ContentServer(content_root) as server:
        yield server


@pytest.fixture
def catalog_url(content_server: ContentServer) -> str:
    return content_server.url + "catalog.json"


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest_asyncio.fixture
async def session() -> AsyncIterator[HttpSession]:
    """Short timeouts so stalls are quick to test."""
    async with HttpSession(connect_timeout=2.0, read_timeout=1.0) as s:
        yield s


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pattern(size: int, seed: int = 0) -> bytes:
    """Deterministic, incompressible-enough bytes."""
    block = hashlib.sha256(f"seed{seed}".encode()).digest() * 2048  # 64 KiB
    reps = size // len(block) + 1
    data = bytearray(block * reps)[:size]
    # vary every 64 KiB block so shifted splices never hash equal
    for i in range(0, size, 65536):
        data[i : i + 8] = i.to_bytes(8, "big")[: min(8, size - i)]
    return bytes(data)


MakePackage = Callable[..., tuple[str, Package]]


@pytest.fixture
def make_package(content_root: Path) -> MakePackage:
    def make(
        files: dict[str, bytes],
        *,
        package_id: str = "PS100001",
        version: int = 1,
        locations: list[Location] | None = None,
        catalog_files: dict[str, tuple[int, str]] | None = None,
    ) -> tuple[str, Package]:
        folder = content_root / "content" / f"{package_id}.{version}"
        specs = []
        for path, data in files.items():
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            size, digest = (catalog_files or {}).get(path, (len(data), sha256(data)))
            specs.append(PackageFile(path=path, size=size, sha256=digest))
        locs = locations or [Location(kind="cloud", url=f"content/{package_id}.{version}/")]
        return package_id, Package(name=f"Package {package_id}", version=version, files=specs, locations=locs)

    return make


class Recorder:
    """An EventSink that keeps every event with the loop time it arrived at."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.times: list[float] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self.times.append(asyncio.get_running_loop().time())

    def of(self, cls: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, cls)]

    def names(self) -> list[str]:
        return [e.event for e in self.events]


@pytest.fixture
def events() -> Recorder:
    return Recorder()


@pytest_asyncio.fixture
async def fail_on_loop_errors() -> AsyncIterator[None]:
    """Fail the test when an exception escapes into the event loop (a task nobody awaited).

    Async test modules opt in with `pytestmark = pytest.mark.usefixtures("fail_on_loop_errors")`.
    """
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield
    loop.set_exception_handler(previous)
    if errors:
        pytest.fail(f"exceptions escaped into the event loop: {errors!r}")
