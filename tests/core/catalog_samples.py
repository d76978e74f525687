"""Valid catalogs built in code, for the catalog tests to copy and break one field at a time.

`example_catalog()` is the docs/SITE-FORMAT.md example with real hashes and the two packages it
names but does not list (PS100031 drivers, PS100040 Company Portal). Every call returns a
fresh deep structure, so a test may mutate it freely.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["CATALOG_URL", "encode", "example_catalog", "package", "sha256_of", "step"]

CATALOG_URL = "https://sc.example/site/catalog.json"


def sha256_of(text: str) -> str:
    """A real SHA-256 (lowercase hex) of `text`, so sample files can be served for real."""
    return hashlib.sha256(text.encode()).hexdigest()


def package(name: str, pid: str, files: dict[str, str], version: int = 1) -> dict[str, Any]:
    """A package entry whose files have the given contents (path -> text)."""
    return {
        "name": name,
        "version": version,
        "files": [
            {"path": path, "size": len(text.encode()), "sha256": sha256_of(text)}
            for path, text in files.items()
        ],
        "locations": [
            {"kind": "dp", "url": f"http://dp01.corp.example/content/{pid}.{version}/"},
            {"kind": "cloud", "url": f"content/{pid}.{version}/"},
        ],
    }


def step(type_: str, name: str = "A step", **fields: Any) -> dict[str, Any]:
    """A step of `type_` with its required fields filled in (override any with `fields`)."""
    required: dict[str, dict[str, Any]] = {
        "group": {"steps": [{"type": "restart", "name": "Inner restart"}]},
        "check_readiness": {},
        "run_command": {"command": ["%PYTHON%", "-c", "pass"]},
        "download_package_content": {"packages": ["PS100031"]},
        "install_package": {"package": "PS100040", "command": ["%PYTHON%", "install.py"]},
        "upgrade_os": {"package": "PS100012", "command": ["%PYTHON%", "setup.py"]},
        "set_variable": {"variable": "OSDVAR", "value": "1"},
        "restart": {},
    }
    return {"type": type_, "name": name, **required[type_], **fields}


def example_catalog() -> dict[str, Any]:
    """The docs/SITE-FORMAT.md example, complete: it parses as is."""
    return {
        "format": 1,
        "site": {
            "code": "PS1",
            "name": "Contoso",
            "organization": "Contoso IT",
            "intranet_probe": "http://mp01.corp.example/ping",
        },
        "packages": {
            "PS100012": package(
                "Windows 10 Enterprise 22H2 upgrade",
                "PS100012",
                {"setup.py": "print('upgrade')\n", "sources/install.wim": "wim image\n"},
                version=3,
            ),
            "PS100031": package("Drivers", "PS100031", {"drivers/net.inf": "[Version]\n"}),
            "PS100040": package("Company Portal", "PS100040", {"install.py": "print('installed')\n"}),
        },
        "task_sequences": {
            "PS100020": {
                "name": "Upgrade to Windows 10 22H2",
                "steps": [
                    {
                        "type": "group",
                        "name": "Prepare for Upgrade",
                        "steps": [
                            {
                                "type": "check_readiness",
                                "name": "Check Readiness",
                                "min_free_disk_mb": 2048,
                                "min_memory_mb": 1024,
                            }
                        ],
                    },
                    {
                        "type": "download_package_content",
                        "name": "Download Drivers",
                        "packages": ["PS100031"],
                        "path_variable": "DRIVERS",
                    },
                    {
                        "type": "upgrade_os",
                        "name": "Upgrade Operating System",
                        "package": "PS100012",
                        "command": ["%PYTHON%", "setup.py", "/auto", "upgrade", "/drivers", "%DRIVERS01%"],
                        "timeout_s": 3600,
                    },
                    {"type": "restart", "name": "Restart Computer", "timeout_s": 30},
                    {
                        "type": "install_package",
                        "name": "Install Company Portal",
                        "package": "PS100040",
                        "command": ["%PYTHON%", "install.py"],
                        "continue_on_error": True,
                    },
                    {
                        "type": "run_command",
                        "name": "Collect logs",
                        "command": ["%PYTHON%", "-c", "print('done')"],
                        "condition": {
                            "variable": "_SMSTSLastActionSucceeded",
                            "op": "equals",
                            "value": "false",
                        },
                    },
                ],
            }
        },
        "deployments": [
            {
                "id": "PS120001",
                "task_sequence": "PS100020",
                "name": "Upgrade to Windows 10 Enterprise 22H2",
                "publisher": "Contoso IT",
                "version": "22H2",
                "description": "Plain text, several paragraphs allowed.",
                "purpose": "available",
                "available_to": "clients",
                "allow_internet": True,
                "download": "on_demand",
                "high_impact": True,
                "restart_required": True,
                "estimated_minutes": 90,
                "available_from": "2026-01-01T00:00:00Z",
                "expires": None,
                "deadline": None,
            }
        ],
    }


def encode(doc: Any) -> bytes:
    """`doc` as catalog.json bytes (non-ASCII kept as UTF-8, like a real editor would)."""
    return json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
