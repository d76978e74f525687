"""The whole publishing path against a real nginx over HTTPS, as docs/ADMIN.md tells an admin.

The demo site's spec (`resources/demo_site/site.json`) becomes a SOURCE.json (its
generated payloads written as small real files), `site keygen`, `site build --key` and
`site verify` make and check the site, and nginx (Debian `nginx-light`) serves it with
the server block of docs/ADMIN.md, taken from the page itself (only its placeholders are
replaced), on a loopback port, with a certificate from a test CA. Content requests are
redirected, by ADMIN.md's object-storage block, to a second server on another address
and port (another origin) that logs every request's Authorization header.

Then the real command line: the demo's happy path (`run` to the restart, `resume` to the
end) with `--ca-bundle`, `--site-key` and the token; the same with the wrong CA, without
the token and against a tampered catalog, each refused in words with exit code 2; and
the token never reaches the content host.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from core.demo import DEMO_SPEC_DIR
from tests.core.helpers.publish import run_cli
from tests.core.helpers.testca import TestCA

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ADMIN_MD = Path(__file__).resolve().parents[2] / "docs" / "ADMIN.md"
TOKEN = "test-" + secrets.token_urlsafe(24)
SCALE = 1 / 1024  # install.wim 256 KiB, the driver cab 32 KiB

pytestmark = pytest.mark.skipif(not os.path.exists(NGINX), reason="nginx is not installed (Debian: nginx-light; "
                                "`scripts/bootstrap test` installs it)")


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _admin_nginx_blocks() -> tuple[str, str]:
    """ADMIN.md's nginx code blocks: the server block, and the object-storage location."""
    blocks = re.findall(r"```nginx\n(.*?)```", ADMIN_MD.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 2, "docs/ADMIN.md should show the server block and the object-storage block"
    return blocks[0], blocks[1]


def _render(block: str, replacements: dict[str, str]) -> str:
    for placeholder, value in replacements.items():
        assert placeholder in block, f"docs/ADMIN.md's nginx block no longer contains {placeholder!r}"
        block = block.replace(placeholder, value)
    return block


def _demo_source(dst: Path) -> Path:
    """The demo spec as a SOURCE.json: sources copied, generated payloads written small."""
    spec = json.loads((DEMO_SPEC_DIR / "site.json").read_text(encoding="utf-8"))
    for pkg in spec["packages"].values():
        folder = dst / pkg["source"]
        shutil.copytree(DEMO_SPEC_DIR / pkg["source"], folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for gen in pkg.pop("generated", []):
            size = max(1, round(gen["size"] * SCALE))
            path = folder / gen["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(hashlib.shake_256(gen["seed"].encode()).digest(size))
    for dep in spec["deployments"]:  # the demo's own spec field: a deadline some minutes after the build
        minutes = dep.pop("deadline_after_build_minutes", None)
        if minutes is not None:
            dep["deadline"] = (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
    source = dst / "SOURCE.json"
    source.write_text(json.dumps(spec, indent=2), encoding="utf-8")
    return source


@dataclass
class Published:
    site_url: str  # the signed demo site, behind the token, content redirected to storage
    tampered_url: str  # the same site with catalog.json changed after signing; content served by nginx
    storage_url: str
    ca: Path
    wrong_ca: Path
    public_key: str
    storage_log: Path
    site_log: Path
    work: Path


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    work = tmp_path_factory.mktemp("publish")
    # --- the admin's side, as in docs/ADMIN.md ------------------------------------------
    source = _demo_source(work / "src")
    keys = work / "sc-keys"
    keys.mkdir()
    made = run_cli("site", "keygen", str(keys / "site.key"))
    assert made.rc == 0, made.stderr
    public_key = made.stdout.strip()
    (work / "site.pub").write_text(public_key + "\n")
    out = work / "out" / "site"
    built = run_cli("site", "build", str(source), str(out), "--key", str(keys / "site.key"))
    assert built.rc == 0, built.stderr
    verified = run_cli("site", "verify", str(out), "--public-key", str(work / "site.pub"))
    assert verified.rc == 0, verified.stderr

    tampered = work / "tampered"
    shutil.copytree(out, tampered)
    catalog = (tampered / "catalog.json").read_bytes()
    (tampered / "catalog.json").write_bytes(catalog.replace(b'"estimated_minutes": 75', b'"estimated_minutes": 5', 1))
    assert (tampered / "catalog.json").read_bytes() != catalog

    # --- TLS: a test CA for the servers, and another CA that signed nothing here ----------
    ca = TestCA("Publish Test Root CA")
    cert, key = ca.issue(work / "tls", ["127.0.0.1", "localhost"])
    cert2, key2 = ca.issue(work / "tls", ["127.0.0.2"], name="storage")
    ca_file = ca.write(work / "tls" / "ca.pem")
    wrong_ca = TestCA("Wrong Test Root CA").write(work / "tls" / "wrong-ca.pem")

    # --- nginx with ADMIN.md's blocks ------------------------------------------------------
    site_port, tampered_port = _free_port("127.0.0.1"), _free_port("127.0.0.1")
    storage_port = _free_port("127.0.0.2")
    storage_url = f"https://127.0.0.2:{storage_port}"
    server_block, storage_location = _admin_nginx_blocks()

    def site_server(port: int, root: Path, *, content_in_storage: bool) -> str:
        block = _render(server_block, {
            "listen 443 ssl;": f"listen 127.0.0.1:{port} ssl;",
            "/etc/ssl/sc.example.com.crt": str(cert),
            "/etc/ssl/sc.example.com.key": str(key),
            "/srv/software-center/site": str(root),
            "CHANGE-ME-a-long-random-token": TOKEN,
        })
        if not content_in_storage:
            return block  # exactly ADMIN.md's server block
        redirect = _render(storage_location, {"https://contoso-sc.s3.eu-west-1.amazonaws.com": storage_url})
        content = re.search(r"\n    location /content/ \{.*?\n    \}\n", block, re.S)
        assert content is not None, "the server block's `location /content/` was not found"
        return block.replace(content.group(0), "\n" + redirect)

    temp = work / "nginx-temp"
    temp.mkdir()
    storage_log, site_log = work / "storage-access.log", work / "site-access.log"
    conf = work / "nginx.conf"
    conf.write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    log_format site '$request_uri $status';
    log_format headers '$request_uri $status auth="$http_authorization"';
    access_log {site_log} site;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;

{site_server(site_port, out, content_in_storage=True)}
{site_server(tampered_port, tampered, content_in_storage=False)}
    # The object storage stand-in: another origin, no token check, logs the header.
    server {{
        listen 127.0.0.2:{storage_port} ssl;
        ssl_certificate {cert2};
        ssl_certificate_key {key2};
        root {out};
        access_log {storage_log} headers;
    }}
}}
""")
    check = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(work)], capture_output=True, text=True)
    assert check.returncode == 0, f"nginx rejects the configuration:\n{check.stderr}\n{conf.read_text()}"
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(work)], stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        for host, port in (("127.0.0.1", site_port), ("127.0.0.1", tampered_port), ("127.0.0.2", storage_port)):
            while True:
                try:
                    socket.create_connection((host, port), timeout=0.2).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        proc.kill()
                        err = proc.stderr.read().decode() if proc.stderr else ""
                        pytest.skip(f"nginx could not start here: {err.strip() or 'no answer on its port'}")
                    time.sleep(0.02)
        yield Published(
            site_url=f"https://127.0.0.1:{site_port}/", tampered_url=f"https://127.0.0.1:{tampered_port}/",
            storage_url=storage_url + "/", ca=ca_file, wrong_ca=wrong_ca, public_key=public_key,
            storage_log=storage_log, site_log=site_log, work=work,
        )
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)  # graceful stop of the nginx we started
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def _log_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_happy_path_over_https_with_pinned_key_ca_bundle_and_token(published: Published, tmp_path: Path) -> None:
    env = {"SOFTWARE_CENTER_TOKEN": TOKEN}
    data = str(tmp_path / "client")
    run = run_cli("run", "NWT20001", "--site", published.site_url, "--connection", "internet", "--json", "--yes",
                  "--variable", "DemoSetupSeconds=1", "--ca-bundle", str(published.ca),
                  "--site-key", published.public_key, "--data-dir", data, env=env, timeout=120)
    assert run.rc == 5, run.stderr  # stopped for the restart
    events = run.events()
    assert events[-1] == {**events[-1], "event": "ts_finished", "status": "restart_pending"}
    finished = [e for e in events if e["event"] == "download_finished"]
    assert {e["package"] for e in finished} == {"NWT00015", "NWT00012"} and all(e["verified"] for e in finished)
    started = [e for e in events if e["event"] == "download_started"]
    assert all(e["location"].startswith(published.site_url + "content/") for e in started)

    resumed = run_cli("resume", "--json", "--data-dir", data, "--ca-bundle", str(published.ca), env=env, timeout=120)
    assert resumed.rc == 0, resumed.stderr
    last = resumed.events()[-1]
    assert (last["event"], last["status"], last["error"]) == ("ts_finished", "succeeded", None)
    assert "NWT00018" in {e["package"] for e in resumed.events() if e["event"] == "download_finished"}

    # Every content file came from the storage origin, which never saw the token.
    storage = _log_lines(published.storage_log)
    assert len(storage) >= 5 and all(" 200 " in line for line in storage), storage
    assert all(line.endswith('auth="-"') for line in storage), storage
    assert TOKEN not in published.storage_log.read_text()
    assert any(line.startswith("/content/") and line.endswith(" 302") for line in _log_lines(published.site_log))


def test_nginx_serves_the_site_as_admin_md_says(published: Published) -> None:
    ctx = ssl.create_default_context(cafile=str(published.ca))
    with httpx.Client(verify=ctx) as client:
        assert client.get(published.site_url + "catalog.json").status_code == 401  # no token
        assert client.get(published.site_url + "catalog.json",
                          headers={"Authorization": "Bearer wrong"}).status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        catalog = client.get(published.site_url + "catalog.json", headers=auth)
        assert catalog.status_code == 200 and catalog.headers["cache-control"] == "no-cache"
        assert catalog.headers["content-type"].startswith("application/json")
        assert catalog.json()["site"]["code"] == "NWT"
        sig = client.get(published.site_url + "catalog.json.sig", headers=auth)
        assert sig.status_code == 200 and sig.text.strip() and sig.headers["cache-control"] == "no-cache"
        moved = client.get(published.site_url + "content/NWT00012.3/setup.py", headers=auth)
        assert moved.status_code == 302
        assert moved.headers["location"] == published.storage_url + "content/NWT00012.3/setup.py"
        # Range works with nginx's defaults (resumed downloads), from the storage ...
        part = client.get(moved.headers["location"], headers={"Range": "bytes=10-19"})
        assert part.status_code == 206 and len(part.content) == 10
        assert part.headers["content-range"].startswith("bytes 10-19/")
        # ... and from the plain server block, which serves content itself, cacheable.
        direct = client.get(published.tampered_url + "content/NWT00012.3/setup.py",
                            headers={**auth, "Range": "bytes=0-9"})
        setup = (published.work / "out" / "site" / "content" / "NWT00012.3" / "setup.py").read_bytes()
        assert direct.status_code == 206 and direct.content == setup[:10]
        assert direct.headers["cache-control"] == "public, max-age=86400" and "etag" in direct.headers
        assert client.get(published.tampered_url + "content/NWT00012.3/setup.py").status_code == 401
        assert client.get(published.tampered_url + "secret.txt", headers=auth).status_code == 404


def test_wrong_ca_is_refused_in_words(published: Published, tmp_path: Path) -> None:
    result = run_cli("list", "--site", published.site_url, "--connection", "internet", "--json",
                     "--ca-bundle", str(published.wrong_ca), "--data-dir", str(tmp_path),
                     env={"SOFTWARE_CENTER_TOKEN": TOKEN})
    assert result.rc == 2 and result.stdout == ""
    assert "the server's certificate is not trusted" in result.stderr


def test_without_the_token_sign_in_is_required(published: Published, tmp_path: Path) -> None:
    result = run_cli("list", "--site", published.site_url, "--connection", "internet", "--json",
                     "--ca-bundle", str(published.ca), "--data-dir", str(tmp_path))
    assert result.rc == 2 and result.stdout == ""
    assert "sign-in required (HTTP 401)" in result.stderr and "needs a token" in result.stderr


def test_a_tampered_catalog_is_refused_with_the_key_pinned(published: Published, tmp_path: Path) -> None:
    result = run_cli("list", "--site", published.tampered_url, "--connection", "internet", "--json",
                     "--ca-bundle", str(published.ca), "--site-key", "site.pub",  # a file, relative
                     "--data-dir", str(tmp_path), env={"SOFTWARE_CENTER_TOKEN": TOKEN}, cwd=published.work)
    assert result.rc == 2 and result.stdout == ""
    assert "untrusted site" in result.stderr and "does not match the pinned site key" in result.stderr
