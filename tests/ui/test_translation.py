"""The Spanish translation is complete, up to date with the sources, and the shipped .qm matches it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TS = ROOT / "resources" / "translations" / "software_center_es.ts"
QM = TS.with_suffix(".qm")
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


def _messages(path: Path) -> dict[tuple[str, str, str], ET.Element]:
    """(context, source, comment) → <message>, skipping obsolete and vanished entries."""
    out = {}
    for ctx in ET.parse(path).getroot().iter("context"):
        name = ctx.findtext("name") or ""
        for m in ctx.iter("message"):
            tr = m.find("translation")
            assert tr is not None
            if tr.get("type") in ("obsolete", "vanished"):
                continue
            out[(name, m.findtext("source") or "", m.findtext("comment") or "")] = m
    return out


def test_every_string_is_translated() -> None:
    problems = []
    for key, m in _messages(TS).items():
        tr = m.find("translation")
        assert tr is not None
        if tr.get("type") == "unfinished":
            problems.append(f"unfinished: {key}")
        forms = [f.text for f in tr.iter("numerusform")] if m.get("numerus") == "yes" else [tr.text]
        if not forms or not all(f and f.strip() for f in forms):
            problems.append(f"empty: {key}")
        # Every placeholder and every '&' mnemonic of the source is kept.
        for form in forms:
            for ph in set(re.findall(r"%\d|%n", key[1])):
                if form and ph not in form:
                    problems.append(f"{ph} missing: {key}")
            if form and ("&" in key[1].replace("&&", "")) != ("&" in form.replace("&&", "")):
                problems.append(f"mnemonic: {key}")
    assert problems == []


def test_the_translation_is_up_to_date_with_the_sources(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.ts"
    sources = sorted(str(p) for p in (ROOT / "ui").glob("*.py"))
    subprocess.run([_tool("pyside6-lupdate"), "-locations", "none", *sources, "-ts", str(fresh)],
                   check=True, capture_output=True)
    assert set(_messages(fresh)) == set(_messages(TS)), "run `scripts/translations update` and translate"


def test_the_shipped_qm_is_compiled_from_the_ts(tmp_path: Path) -> None:
    built = tmp_path / "built.qm"
    subprocess.run([_tool("pyside6-lrelease"), "-nounfinished", "-removeidentical", str(TS), "-qm", str(built)],
                   check=True, capture_output=True)
    assert QM.read_bytes() == built.read_bytes(), "run `scripts/translations build`"
